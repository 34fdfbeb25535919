"""The PostgreSQL backend's own edges (its contract is tests/test_store_contract.py):
picking it from TMUXORCH_STORE or store.url, and a store that cannot be used
saying why in one line, through the store and through the CLI."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import pgserver
from tests.conftest import Env, base_config
from tests.helpers import HOST, agent_row, retry_until
from tests.pgserver import PASSWORD, PASSWORD_ROLE, PgServer
from tmuxorch.core.errors import StoreError
from tmuxorch.daemon.wakeups import StoreWaker
from tmuxorch.store.opening import open_store
from tmuxorch.store.postgres.schema import MIGRATIONS

# (id, TMUXORCH_REQUIRE_POSTGRES, what a test without a server does)
WITHOUT_SERVER = [
    ("skips", None, pytest.skip.Exception),
    ("fails when required", "1", pytest.fail.Exception),
]  # fmt: skip


@pytest.mark.parametrize(
    ("required", "outcome"), [w[1:] for w in WITHOUT_SERVER], ids=[w[0] for w in WITHOUT_SERVER]
)
def test_without_postgresql_a_test_skips_unless_required(
    monkeypatch: pytest.MonkeyPatch, required: str | None, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(pgserver, "_binaries", lambda: None)
    # Read once, at import (the env fixture clears TMUXORCH_* before a test).
    monkeypatch.setattr(pgserver, "REQUIRED", required == "1")
    with pgserver.started() as server:
        assert server == (
            "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)"
        )
        with pytest.raises(outcome, match="initdb and pg_ctl are not installed"):
            pgserver.unavailable(server)


def test_the_store_url_picks_postgresql_and_the_environment_wins(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(tmp_path / "home", url=pg_url) as store:
        store.add_event(None, "poke")
        assert store.path == pg_url and not (tmp_path / "home" / "state.db").exists()
    monkeypatch.setenv("TMUXORCH_STORE", pg_url)
    with open_store(tmp_path / "home", url="postgresql://nobody@/elsewhere") as store:
        assert [e.event for e in store.events()] == ["poke"]


# (id, the URL given the server's own URL maker, what the one line says)
BAD_URLS: list[tuple[str, Callable[[PgServer], str], str]] = [
    ("another scheme", lambda s: "mysql://u@h/db", "is not a postgresql://USER@HOST/DB URL"),
    ("an invalid option", lambda s: s.url("postgres") + "&sslmode=bogus", "invalid sslmode"),
    (
        "wrong credentials",
        lambda s: s.url("postgres", PASSWORD_ROLE, "wrong-" + PASSWORD),
        "password authentication failed",
    ),
    (
        "wrong password in the query",
        lambda s: s.url("postgres", PASSWORD_ROLE) + f"&password=wrong-{PASSWORD}",
        "password authentication failed",
    ),
    ("no such database", lambda s: s.url("nosuchdb"), 'database "nosuchdb" does not exist'),
    (
        "no server on that socket",
        lambda s: f"postgresql://u@/db?host={s.socket_dir}/nothing-here",
        "No such file or directory: is the server running",
    ),
    (
        "no server on that port",
        lambda s: "postgresql://u@127.0.0.1:1/db",
        "Connection refused: is the server running",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("make", "says"), [b[1:] for b in BAD_URLS], ids=[b[0] for b in BAD_URLS])
def test_a_store_that_cannot_be_reached_says_why_in_one_line(
    tmp_path: Path, pg_server: PgServer, make: Callable[[PgServer], str], says: str
) -> None:
    url = make(pg_server)
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path / "home", url=url)
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert PASSWORD not in message  # a password is never shown
    # The CLI says the same, as its one line, and makes no fleet anywhere.
    home = tmp_path / "cli-home"
    env = {**os.environ, "TMUXORCH_STORE": url, "TMUXORCH_HOME": str(home)}
    env["TMUXORCH_SOCKET"] = f"pgtest{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "list"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr
    assert not (home / "state.db").exists()


def test_processes_opening_a_new_database_at_once_make_one_fleet(
    tmp_path: Path, pg_url: str
) -> None:
    """Several hosts' daemons started together on an empty database: one
    makes the schema, the others find it (none fails on a table another made)."""
    opener = (
        "import sys\nfrom tmuxorch.store.opening import open_store\nimport psycopg\n"
        "print('ready', flush=True)\nsys.stdin.readline()\n"
        f"with open_store({str(tmp_path / 'home')!r}, url={pg_url!r}) as store:\n"
        "    print(store.fleet_id)\n"
    )
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    racers = [
        subprocess.Popen([sys.executable, "-c", opener], text=True, **pipes) for _ in range(6)
    ]
    for racer in racers:  # all ready (imports done) before any opens
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("\n")
        racer.stdin.flush()
    outputs = [racer.communicate(timeout=60) for racer in racers]
    assert [err for _, err in outputs] == [""] * len(racers)
    assert len({out for out, _ in outputs}) == 1


def test_a_database_of_a_newer_schema_is_refused_untouched(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    home = tmp_path / "home"
    with open_store(home, url=pg_url) as store:
        store.add_event(None, "kept")
    pg_server.admin("UPDATE fleet SET version = 99", pg_url)
    for create in (True, False):
        with pytest.raises(StoreError) as caught:
            open_store(home, url=pg_url, create=create)
        message = str(caught.value)
        assert "schema version 99, newer than this tmuxorch's" in message
        assert "\n" not in message
    pg_server.admin(f"UPDATE fleet SET version = {len(MIGRATIONS)}", pg_url)
    with open_store(home, url=pg_url) as store:
        assert [e.event for e in store.events()] == ["kept"]


HOOKS = Path(__file__).parent / "fixtures" / "claude" / "2.1.329" / "hooks"


def test_claude_hooks_of_an_agent_reach_the_store_its_environment_names(
    tmp_path: Path, pg_url: str
) -> None:
    """spawn gives its agents TMUXORCH_STORE: their hooks find no state.db in
    the home, yet record the state and take the locks in the database."""
    home = tmp_path / "home"
    with open_store(home, url=pg_url) as store:
        store.insert_agent(agent_row("a", profile="claude", cwd=str(tmp_path)))
    env = {
        **os.environ, "TMUXORCH_HOME": str(home), "TMUXORCH_AGENT": "a",
        "TMUXORCH_STORE": pg_url, "TMUXORCH_CONFIG": str(tmp_path / "no-config.yaml"),
    }  # fmt: skip
    env.pop("TMUX_PANE", None)
    (tmp_path / "no-config.yaml").write_text("{}\n")
    target = tmp_path / "new.txt"
    write = json.loads((HOOKS / "PreToolUse.json").read_text())
    write["cwd"], write["tool_input"]["file_path"] = str(tmp_path), str(target)
    for argv, payload in (
        (["hook", "UserPromptSubmit"], (HOOKS / "UserPromptSubmit.json").read_text()),
        (["auto-lock"], json.dumps(write)),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tmuxorch", *argv],
            input=payload, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), argv
    assert not (home / "state.db").exists()
    with open_store(home, url=pg_url, create=False) as store:
        agent = store.get_agent("a")
        assert agent is not None and agent.state == "busy"
        # On a store hosts share, the path is this host's (tmuxorch.locks.keys).
        assert [(lk.path, lk.holder) for lk in store.locks()] == [(f"{HOST}:{target}", "a")]


def test_a_fleet_with_a_store_url_keeps_its_agents_there(
    env: Env, tmp_path: Path, pg_url: str
) -> None:
    """config's store.url: spawn, list, send and its monitor use the database,
    not the home's file, and the agent's processes (its hooks) are told where
    it is."""
    env.write_config({**base_config(tmp_path), "store": {"url": pg_url}})
    env.spawn_ready("f", "--agent", "fake")
    (listed,) = json.loads(env.ok("list", "--json"))
    assert listed["name"] == "f" and not (env.home / "state.db").exists()
    sent = json.loads(env.ok("send", "f", "sleep 1", "--wait", "--json"))
    assert sent["status"] == "delivered" and env.records() == ["sleep 1"]
    with open_store(env.home, url=pg_url, create=False) as store:
        agent = store.get_agent("f")
    assert agent is not None and agent.pid is not None and agent.state == "idle"
    environ = Path(f"/proc/{agent.pid}/environ").read_bytes().split(b"\0")
    assert f"TMUXORCH_STORE={pg_url}".encode() in environ


def test_a_store_and_its_waiter_outlive_a_server_restart(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """The call that meets the dropped connection fails in one line, having
    written nothing; the next ones run on a new connection, and a waiter
    listens again (waking once, as it may have missed changes meanwhile)."""
    with open_store(tmp_path / "home", url=pg_url) as store:
        store.add_event(None, "before")
        with store.changes() as changes:
            pg_server.restart()
            with pytest.raises(StoreError) as caught:
                store.add_event(None, "lost")
            assert "\n" not in str(caught.value)
            store.add_event(None, "after")

            def woke() -> bool:
                try:
                    return changes.wait(30.0)
                except StoreError:
                    return False  # the wait that met the dropped connection

            retry_until(woke, message="the waiter listens again")
            store.add_event(None, "heard")
            assert changes.wait(30.0)
        assert [e.event for e in store.events()] == ["before", "after", "heard"]


def test_the_monitors_store_wakeups_come_back_after_a_server_restart(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """The monitor's wake-ups on PostgreSQL (daemon.wakeups.StoreWaker) come
    back after a restart: a write after it still wakes the monitor."""
    home = tmp_path / "home"
    events: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    with open_store(home, url=pg_url) as watched, open_store(home, url=pg_url) as writer:
        waker = StoreWaker(watched, events)
        waker.start()
        try:
            pg_server.restart()
            # Listening again says "changed": writes may have come in between.
            assert events.get(timeout=60) == ("store", "")
            with pytest.raises(StoreError):  # this connection's call that meets the break
                writer.add_event(None, "lost")
            while not events.empty():
                events.get()
            writer.add_event(None, "after")
            assert events.get(timeout=60) == ("store", "")
        finally:
            waker.stop()


def test_the_status_line_reads_the_store_the_environment_names(env: Env, pg_url: str) -> None:
    """As Claude's status line runs it in an agent's pane, which spawn gave
    TMUXORCH_STORE (the status line reads no config file)."""
    with open_store(env.home, url=pg_url) as store:
        store.insert_agent(agent_row("a", state="busy"))
    line = env.ok("status-line", "--plain", env={"TMUXORCH_STORE": pg_url})
    assert line.strip() == "1 busy · 0 waiting · 0 error"
