"""Trust in the file system: the fleet's database is the file it opened, and
nothing planted in the home is believed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from libtmux.server import Server

from tests.conftest import Env
from tests.helpers import retry_until
from tmuxorch import monitor
from tmuxorch.store import DB_NAME


def _one_line_error(env: Env, *args: str) -> str:
    proc = env.cli(*args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.splitlines()
    return line


def _windows(server: Server, name: str) -> int:
    return sum(w.name == name for w in server.windows)


def _remove_db(home: Path) -> None:
    for path in home.glob(f"{DB_NAME}*"):
        path.unlink()


def test_a_deleted_database_is_noticed(env: Env, server: Server) -> None:
    env.spawn_ready("d1")  # the monitor set it idle: it runs
    _remove_db(env.home)
    retry_until(lambda: not monitor.is_running(env.home), message="the monitor notices")
    assert "was deleted or replaced" in (env.home / monitor.LOG_FILE).read_text()
    for args in (("list",), ("spawn", "d1"), ("up",)):
        assert "state.db is missing, yet tmux session" in _one_line_error(env, *args)
    assert _windows(server, "d1") == 1
    assert not (env.home / DB_NAME).exists()  # no new, empty fleet was made


def test_a_replaced_database_gets_a_monitor_of_its_own(env: Env, server: Server) -> None:
    env.spawn_ready("a1")
    backup = env.tmp / "backup.db"
    with sqlite3.connect(env.home / DB_NAME) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    _remove_db(env.home)
    backup.replace(env.home / DB_NAME)
    retry_until(lambda: not monitor.is_running(env.home), message="the monitor notices")
    env.spawn_ready("a2")  # a monitor on the new file brings it up
    assert {a["name"]: a["state"] for a in env.json("list")} == {"a1": "idle", "a2": "idle"}


def test_an_older_database_never_doubles_a_live_window(env: Env, server: Server) -> None:
    backup = env.tmp / "backup.db"
    env.spawn_ready("a1")
    with sqlite3.connect(env.home / DB_NAME) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    env.ok("spawn", "b1")
    _remove_db(env.home)
    backup.replace(env.home / DB_NAME)  # a backup from before b1
    assert "a live tmux window named 'b1' already runs" in _one_line_error(env, "spawn", "b1")
    assert _windows(server, "b1") == 1


def test_a_zero_length_database_is_refused(env: Env) -> None:
    env.home.mkdir(mode=0o700)
    (env.home / DB_NAME).touch()
    for args in (("list",), ("spawn", "z1")):
        assert "state.db is empty (0 bytes)" in _one_line_error(env, *args)
    assert (env.home / DB_NAME).stat().st_size == 0
