from __future__ import annotations

import contextlib
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import agent_row
from tmuxorch.core.errors import AgentError, StoreError
from tmuxorch.core.records import Agent, Lock, Turn
from tmuxorch.store.sqlite.schema import DB_NAME
from tmuxorch.store.sqlite.store import SqliteStore


def _agent(name: str) -> Agent:
    return agent_row(name, state="starting")


def test_home_and_db_are_private(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with SqliteStore.open(home) as store:
        store.insert_agent(_agent("a"))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_wal_and_schema_version(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
    with SqliteStore.open(tmp_path) as store:  # reopening migrates nothing twice
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == version


def test_duplicate_agent_refused(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path) as store:
        store.insert_agent(_agent("a"))
        with pytest.raises(AgentError, match="already exists"):
            store.insert_agent(_agent("a"))


def test_set_state_records_only_changes(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path) as store:
        store.insert_agent(_agent("a"))
        assert store.set_state("a", "idle")
        assert not store.set_state("a", "idle")
        assert store.set_state("a", "busy", "working")
        events = [(e.state, e.detail) for e in store.events(agent="a")]
        assert events == [("idle", ""), ("busy", "working")]


def test_set_state_expecting_a_state_that_moved_on_changes_nothing(tmp_path: Path) -> None:
    """The monitor's screen verdict on an older reading never undoes a newer one."""
    with SqliteStore.open(tmp_path) as store:
        store.insert_agent(_agent("a"))
        store.set_state("a", "idle")
        store.set_state("a", "busy", data={"source": "delivery"})
        assert not store.set_state("a", "idle", expect="idle")  # read as idle, now busy
        agent = store.get_agent("a")
        assert agent is not None and agent.state == "busy"
        assert store.set_state("a", "idle", expect="busy")


def test_a_lost_window_of_a_removed_agent_leaves_its_namesake(tmp_path: Path) -> None:
    """The monitor saw w1 without a window (it was removed); by the time it
    says so, w1 was spawned again (or brought back by ``up``): not lost."""
    with SqliteStore.open(tmp_path) as store:
        removed = _agent("w1")
        store.insert_agent(removed)
        store.delete_agent("w1")
        store.insert_agent(agent_row("w1", state="starting", since=removed.since + 1))
        assert not store.mark_lost("w1", removed.since)
        again = store.get_agent("w1")
        assert again is not None and (again.state, again.ended_by) == ("starting", None)
        assert store.mark_lost("w1", again.since)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Fresh database, 20 threads each with its own connection, racing from creation."""
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with SqliteStore.open(tmp_path) as store:
                store.insert_agent(_agent(f"a{i}"))
                for j in range(10):
                    store.add_message(None, f"a{i}", "sequential", f"m{j}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with SqliteStore.open(tmp_path) as store:
        assert len(store.list_agents()) == 20
        assert sum(store.queued_counts().values()) == 200


def _delete(db: Path) -> None:
    db.unlink()


def _move_onto(db: Path) -> None:
    db.with_name("backup.db").replace(db)


# (id, what happens to the database file)
GONE = [("deleted", _delete), ("a file moved onto it", _move_onto)]


@pytest.mark.parametrize("gone", [g[1] for g in GONE], ids=[g[0] for g in GONE])
def test_a_database_deleted_or_replaced_wakes_its_waiters(
    tmp_path: Path, gone: Callable[[Path], None]
) -> None:
    """The monitor sleeps on changes alone: this is how it learns it must hand over."""
    with SqliteStore.open(tmp_path) as store:
        store.insert_agent(_agent("a"))
        # A backup, made before the watch: reading the file wakes it too.
        (tmp_path / "backup.db").write_bytes((tmp_path / DB_NAME).read_bytes())
    with SqliteStore.open(tmp_path) as store, store.changes() as changes:
        gone(tmp_path / DB_NAME)
        assert changes.wait(30.0)
        assert store.replaced()


# (id, a call of the code both backends share: tmuxorch.store.common)
SHARED_CALLS: list[tuple[str, Callable[[SqliteStore], object]]] = [
    ("insert_agent", lambda s: s.insert_agent(_agent("b"))),
    ("get_agent", lambda s: s.get_agent("a")),
    ("set_state", lambda s: s.set_state("a", "idle")),
    ("hook_event", lambda s: s.hook_event("a", "hook", "busy", "", {}, {})),
    ("rename_agent", lambda s: s.rename_agent("a", "b")),
    ("add_message", lambda s: s.add_message(None, "a", "sequential", "hi")),
    ("claim_next", lambda s: s.claim_next("a", 1)),
    ("events", lambda s: s.events()),
    ("locks_overlapping", lambda s: s.locks_overlapping("/f")),
    ("put_lock", lambda s: s.put_lock(Lock(path="/f", holder="a", since=0.0, expires=1.0))),
    ("turns", lambda s: s.turns("a")),
    ("put_turn", lambda s: s.put_turn(Turn(agent="a", seq=1, prompt="p"))),
]  # fmt: skip


@pytest.mark.parametrize("call", [c[1] for c in SHARED_CALLS], ids=[c[0] for c in SHARED_CALLS])
def test_a_shared_call_on_a_spoilt_database_says_so_in_one_line(
    tmp_path: Path, call: Callable[[SqliteStore], object]
) -> None:
    """The tables both backends share fail as SQLite's StoreError (naming
    the file), never as a raw sqlite3 error."""
    with SqliteStore.open(tmp_path) as store:
        store.insert_agent(_agent("a"))
        with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as other:
            tables = other.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            for (table,) in tables:
                other.execute(f"DROP TABLE {table}")
            other.commit()
        with pytest.raises(StoreError) as caught:
            call(store)
        message = str(caught.value)
        assert f"fleet database {tmp_path / DB_NAME}: no such table" in message
        assert "\n" not in message
