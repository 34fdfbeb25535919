"""Trust in the file system: the fleet's database is the file it opened, and
nothing planted in the home is believed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import HOST, retry_until
from tests.test_locks import hook, write
from tmuxorch.claude.autolock import SETTINGS_CACHE
from tmuxorch.fleet import monitorproc
from tmuxorch.store.opening import open_store
from tmuxorch.store.sqlite.schema import DB_NAME

NOBODY = 65534


def _one_line_error(env: Env, *args: str) -> str:
    proc = env.cli(*args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.splitlines()
    return line


def _windows(server: Server, name: str) -> int:
    return sum(w.name == name for w in server.windows)


def _backup(env: Env) -> Path:
    """A copy of the fleet's database, as a user's backup would be."""
    backup = env.tmp / "backup.db"
    with (
        contextlib.closing(sqlite3.connect(env.home / DB_NAME)) as live,
        contextlib.closing(sqlite3.connect(backup)) as copy,
    ):
        live.backup(copy)
    return backup


def _remove_db(home: Path) -> None:
    for path in home.glob(f"{DB_NAME}*"):
        path.unlink()


def test_a_deleted_database_is_noticed(env: Env, server: Server) -> None:
    env.spawn_ready("d1")  # the monitor set it idle: it runs
    _remove_db(env.home)
    log = env.home / monitorproc.LOG_FILE
    retry_until(lambda: "was deleted or replaced" in log.read_text(), message="monitor notices")
    retry_until(
        lambda: not monitorproc.is_running(env.home, HOST), message="and no successor stays"
    )
    for args in (("list",), ("spawn", "d1"), ("up",)):
        assert "state.db is missing, yet tmux session" in _one_line_error(env, *args)
    assert _windows(server, "d1") == 1
    assert not (env.home / DB_NAME).exists()  # no new, empty fleet was made


def _watching(pid: int) -> bool:
    """Has ``pid`` an inotify watch (on the store: it waits) open?"""
    try:
        return any(
            os.readlink(fd) == "anon_inode:inotify" for fd in Path(f"/proc/{pid}/fd").iterdir()
        )
    except OSError:  # an fd closed while we looked
        return False


def test_wait_ends_when_its_database_is_deleted(env: Env) -> None:
    env.spawn_ready("w1")
    argv = [sys.executable, "-m", "tmuxorch", "wait", "w1", "--until", "exited", "--timeout", "60"]
    with subprocess.Popen(argv, env=env.environ, stderr=subprocess.PIPE, text=True) as proc:
        retry_until(lambda: _watching(proc.pid), message="wait watches the store")
        _remove_db(env.home)
        _, err = proc.communicate()
    assert proc.returncode == 1
    db = env.home / DB_NAME
    assert err.splitlines() == [f"tmuxorch: {db} was deleted or replaced while waiting"]


def test_a_replaced_database_gets_a_monitor_of_its_own(env: Env, server: Server) -> None:
    env.spawn_ready("a1")
    backup = _backup(env)
    _remove_db(env.home)
    backup.replace(env.home / DB_NAME)
    # At once: the old monitor may still hold the lock, so spawn starts none.
    env.spawn_ready("a2")  # the old one's successor, on the new file, brings it up
    assert {a["name"]: a["state"] for a in env.json("list")} == {"a1": "idle", "a2": "idle"}
    assert "was deleted or replaced" in (env.home / monitorproc.LOG_FILE).read_text()
    assert monitorproc.is_running(env.home, HOST)


def test_an_older_database_never_doubles_a_live_window(env: Env, server: Server) -> None:
    env.spawn_ready("a1")
    backup = _backup(env)
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


# -- a home that is not ours, or not private --------------------------------------


@pytest.mark.parametrize(
    ("owner", "mode", "says"),
    [
        pytest.param(NOBODY, 0o700, "belongs to nobody, not to you: use a home", id="nobody-0700"),
        pytest.param(NOBODY, 0o777, "belongs to nobody, not to you: use a home", id="nobody-0777"),
        pytest.param(
            None, 0o777, "open to others (mode 777): make it private with chmod 700", id="0777"
        ),
        pytest.param(
            None, 0o750, "open to others (mode 750): make it private with chmod 700", id="0750"
        ),
    ],
)
def test_a_home_not_ours_or_not_private_is_refused(
    env: Env, server: Server, owner: int | None, mode: int, says: str
) -> None:
    env.home.mkdir()
    os.chmod(env.home, mode)
    if owner is not None:
        os.chown(env.home, owner, owner)
    for args in (("spawn", "a1"), ("list",)):
        assert says in _one_line_error(env, *args)
    st = env.home.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (mode, os.getuid() if owner is None else owner)
    assert list(env.home.iterdir()) == [] and server.sessions == []


def _hooked_shell(env: Env) -> None:
    """A profile with hooks, so its Claude settings file is written (Claude's
    flags become arguments of a script that ignores them)."""
    config = base_config(env.tmp)
    hooked = {"command": "/bin/sh", "args": ["-c", "exec cat", "sh"], "hooks": True}
    config["agents"]["hooked"] = hooked
    env.write_config(config)


def test_home_files_and_directories_are_private(env: Env) -> None:
    env.home.mkdir(mode=0o700)
    for loose in ("logs", "screens", "claude"):
        (env.home / loose).mkdir(mode=0o777)
        os.chmod(env.home / loose, 0o777)
    _hooked_shell(env)
    env.ok("spawn", "a1")
    env.ok("kill", "a1")  # keeps its last screen
    env.ok("spawn", "h1", "--agent", "hooked")
    hook(env, write(str(env.tmp / "x.txt"), env.tmp))  # caches the lock settings
    for directory in ("logs", "screens", "claude"):
        assert stat.S_IMODE((env.home / directory).stat().st_mode) == 0o700, directory
    for name in ("tmux.conf", SETTINGS_CACHE, "screens/a1.txt", "claude/h1.json", "logs/a1.log"):
        assert stat.S_IMODE((env.home / name).stat().st_mode) == 0o600, name


# -- links planted in the home ------------------------------------------------------


def _plant(env: Env, where: str) -> Path:
    """A link at ``where`` in the home to a file outside it, which must stay as is."""
    target = env.tmp / "target"
    target.write_text("untouched")
    link = env.home / where
    link.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    link.symlink_to(target)
    return target


def _spawned(env: Env) -> None:
    env.ok("spawn", "a1")


def _made_db(env: Env) -> None:
    open_store(env.home).close()


def _spawn_refused(env: Env, where: str) -> None:
    assert f"{where} is a symbolic link" in _one_line_error(env, "spawn", "a1")


def _screen_replaced(env: Env, where: str) -> None:
    env.ok("kill", "a1")
    assert not (env.home / where).is_symlink()


def _cache_replaced(env: Env, where: str) -> None:
    hook(env, write(str(env.tmp / "x.txt"), env.tmp))
    assert not (env.home / where).is_symlink()


def _settings_replaced(env: Env, where: str) -> None:
    _hooked_shell(env)
    env.ok("spawn", "h1", "--agent", "hooked")
    settings = env.home / "claude" / "h1.json"
    assert settings.is_file() and not settings.is_symlink()


@pytest.mark.parametrize(
    ("where", "before", "then"),
    [
        pytest.param("logs/a1.log", None, _spawn_refused, id="log"),
        pytest.param("tmux.conf", None, _spawn_refused, id="tmux.conf"),
        pytest.param(DB_NAME, None, _spawn_refused, id="state.db"),
        pytest.param(f"{DB_NAME}-wal", _made_db, _spawn_refused, id="state.db-wal"),
        pytest.param(f"{DB_NAME}-shm", _made_db, _spawn_refused, id="state.db-shm"),
        pytest.param("screens/a1.txt", _spawned, _screen_replaced, id="screen"),
        pytest.param(SETTINGS_CACHE, None, _cache_replaced, id="lock-settings"),
        pytest.param("claude/.h1.json.tmp", None, _settings_replaced, id="settings-tmp"),
        pytest.param("claude/h1.json", None, _settings_replaced, id="settings"),
    ],
)
def test_links_in_the_home_are_not_followed(
    env: Env,
    where: str,
    before: Callable[[Env], None] | None,
    then: Callable[[Env, str], None],
) -> None:
    env.home.mkdir(mode=0o700)
    if before:
        before(env)
    target = _plant(env, where)
    then(env, where)
    assert target.read_text() == "untouched"


def test_a_link_as_logs_directory_is_refused(env: Env) -> None:
    env.home.mkdir(mode=0o700)
    (env.tmp / "elsewhere").mkdir()
    (env.home / "logs").symlink_to(env.tmp / "elsewhere")
    assert "logs is a symbolic link" in _one_line_error(env, "spawn", "a1")
    assert list((env.tmp / "elsewhere").iterdir()) == []


def test_a_fifo_as_log_is_refused_without_hanging(env: Env) -> None:
    (env.home / "logs").mkdir(mode=0o700, parents=True)
    os.chmod(env.home, 0o700)
    os.mkfifo(env.home / "logs" / "a1.log")
    assert "a1.log is not a regular file" in _one_line_error(env, "spawn", "a1")
