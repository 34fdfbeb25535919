"""The Store protocol's contract (tmuxorch/store/interface.py), run against
every backend through the protocol alone.

A backend is a ``Backend`` below: how to open connections to one fresh fleet
store, in this process and in another, and how to lose or spoil its state.
Adding a backend (issue 16: PostgreSQL) is adding it to ``BACKENDS`` and
making this file pass. SQLite specifics (WAL, migrations, file modes) stay
in tests/test_store.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import agent_row, retry_until
from tests.pgserver import PgServer
from tmuxorch.core.errors import AgentError, StoreError
from tmuxorch.core.records import Lock, MessageUsage, Notice, Turn, now
from tmuxorch.locks.acquisition import acquire, release
from tmuxorch.locks.keys import Holder
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store
from tmuxorch.store.sqlite.schema import DB_NAME


class Backend:
    """One fresh fleet store of one backend, and the connections opened to it."""

    def __init__(self, name: str, connect: Callable[[], Store], opener: str) -> None:
        self.name = name
        self._connect = connect
        # Python source, run in another process, whose last line makes ``store``.
        self.opener = opener
        self.opened: list[Store] = []
        self.lose: Callable[[], None] = lambda: None
        self.spoil: Callable[[], None] = lambda: None
        self.drop: Callable[[], None] = lambda: None  # once its connections are closed

    def connect(self) -> Store:
        store = self._connect()
        self.opened.append(store)
        return store

    def spawn(self, body: str) -> subprocess.Popen[str]:
        """Another process that opens the store, says "ready", and runs
        ``body`` (Python, with ``store`` open) once it reads a line."""
        script = (
            f"{self.opener}\nimport sys\nwith store:\n"
            "    print('ready', flush=True)\n    sys.stdin.readline()\n"
        ) + "".join(f"    {line}\n" for line in body.splitlines())
        return subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def race(self, bodies: list[str]) -> list[str]:
        """Run each of ``bodies`` in a process of its own (``spawn``), all let go at
        once when all have the store open; the lines they printed, all together."""
        racers = [self.spawn(body) for body in bodies]
        outputs: list[str] = []
        try:
            for racer in racers:  # all open before any runs
                assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
            go = [
                threading.Thread(
                    target=lambda r=r: outputs.append(r.communicate("\n", timeout=60)[0])
                )
                for r in racers
            ]
            for thread in go:
                thread.start()
            for thread in go:
                thread.join()
        finally:
            for racer in racers:
                racer.kill()
                racer.wait()
        assert [r.returncode for r in racers] == [0] * len(racers)
        return [line for out in outputs for line in out.split()]

    def run(self, body: str) -> str:
        """Run ``body`` in another process (``spawn``); its stdout after "ready"."""
        out, err = self.spawn(body).communicate("\n", timeout=60)
        assert out.startswith("ready\n"), err
        return out.removeprefix("ready\n")


def _sqlite(tmp_path: Path) -> Backend:
    home = tmp_path / "home"
    open_store(home).close()
    backend = Backend(
        "sqlite",
        lambda: open_store(home, create=False),
        f"from tmuxorch.store.opening import open_store\nstore = open_store({str(home)!r})",
    )
    db = home / DB_NAME

    def lose() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    def spoil() -> None:
        lose()
        db.write_bytes(b"not a fleet's state\n" * 512)

    backend.lose, backend.spoil = lose, spoil
    return backend


def _postgres(tmp_path: Path, server: PgServer) -> Backend:
    home, url = tmp_path / "home", server.new_database()
    open_store(home, url=url).close()
    backend = Backend(
        "postgres",
        lambda: open_store(home, create=False, url=url),
        "from tmuxorch.store.opening import open_store\n"
        f"store = open_store({str(home)!r}, url={url!r})",
    )

    def lose() -> None:
        server.admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public", url)

    def spoil() -> None:
        lose()
        server.admin("CREATE TABLE notes (line TEXT)", url)

    backend.lose, backend.spoil = lose, spoil
    backend.drop = lambda: server.drop(url)
    return backend


# The backends, and the fixtures (a server) each needs.
BACKENDS: dict[str, Callable[[Path, Any], Backend]] = {
    "sqlite": lambda tmp_path, _: _sqlite(tmp_path),
    "postgres": _postgres,
}
NEEDS = {"postgres": "pg_server"}


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.postgres] if name in NEEDS else [])
        for name in BACKENDS
    ],
    ids=list(BACKENDS),
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    needs = NEEDS.get(request.param)
    made = BACKENDS[request.param](tmp_path, needs and request.getfixturevalue(needs))
    yield made
    for store in made.opened:
        store.close()
    made.drop()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.connect()


# -- agents ---------------------------------------------------------------------


def test_agents_are_inserted_listed_updated_and_deleted(store: Store) -> None:
    store.insert_agent(agent_row("b", created=2.0, spec={"argv": ["sh"]}))
    store.insert_agent(agent_row("a", created=2.0))
    store.insert_agent(agent_row("c", created=1.0, state="busy"))
    assert [a.name for a in store.list_agents()] == ["c", "a", "b"]
    store.update_agent("b", pane_id="%3", pid=42, spec={"argv": ["bash"]})
    b = store.get_agent("b")
    assert b is not None and (b.pane_id, b.pid, b.spec) == ("%3", 42, {"argv": ["bash"]})
    assert store.state_counts() == {"idle": 2, "busy": 1}
    assert store.agent_liveness("b") == ("idle", 42, None)
    store.delete_agent("b")
    assert store.get_agent("b") is None and store.agent_liveness("b") is None
    assert [e.event for e in store.events(agent="b")] == ["removed"]


BAD_AGENT_WRITES = [
    ("duplicate name", lambda s: s.insert_agent(agent_row("a")), AgentError),
    ("unknown field", lambda s: s.update_agent("a", colour="red"), ValueError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("write", "error"), [w[1:] for w in BAD_AGENT_WRITES], ids=[w[0] for w in BAD_AGENT_WRITES]
)
def test_a_bad_agent_write_is_refused_and_changes_nothing(
    store: Store, write: Callable[[Store], None], error: type[Exception]
) -> None:
    store.insert_agent(agent_row("a", detail="kept"))
    with pytest.raises(error):
        write(store)
    assert [(a.name, a.detail) for a in store.list_agents()] == [("a", "kept")]


def test_a_refused_write_leaves_the_transaction_around_it_usable(store: Store) -> None:
    store.insert_agent(agent_row("a"))
    with store.transaction():
        with pytest.raises(AgentError):
            store.insert_agent(agent_row("a"))
        store.insert_agent(agent_row("b"))
    assert [a.name for a in store.list_agents()] == ["a", "b"]


def test_deleting_an_agent_fails_its_queue_and_frees_its_rows(store: Store) -> None:
    store.insert_agent(agent_row("a"))
    queued = store.add_message(None, "a", "sequential", "hi")
    store.put_lock(Lock(path="/w/f", holder="a", agent="a", since=now(), expires=now() + 60))
    store.put_turn(Turn(agent="a", seq=1, prompt="p"))
    store.delete_agent("a", record_event=False)
    message = store.get_message(queued)
    assert message is not None and (message.status, message.error) == ("failed", "agent removed")
    assert store.locks() == [] and store.turns("a") == [] and store.events(agent="a") == []


def test_renaming_an_agent_moves_every_row_that_names_it(store: Store) -> None:
    store.insert_agent(agent_row("old", spec={"launch": "L1"}))
    store.insert_agent(agent_row("kid", parent="old"))
    store.insert_agent(agent_row("other"))
    queued = store.add_message(None, "old", "sequential", "for old")
    sent = store.add_message("old", "other", "sequential", "from old")
    store.add_event("old", "spawned")
    store.put_lock(Lock(path="/w/f", holder="old", agent="old", since=now(), expires=now() + 60))
    with store.transaction():
        store.add_waiter("/w/g", "old", 1, "/tmp/fifo")
        store.set_transcript_position("old", "/t/1.jsonl", 5)
        store.put_turn(Turn(agent="old", seq=1, prompt="p"))
        store.put_message_usage(MessageUsage(agent="old", key="k", turn=1, model="m"))
    store.add_watch("old", ["old", "other"], "idle", False, None)
    store.add_request("h", "old", "output", {})
    store.rename_agent("old", "new")
    assert store.get_agent("old") is None and store.launched_as("L1") == "new"
    parents = [(a.name, a.parent) for a in store.list_agents()]
    assert parents == [("new", None), ("kid", "new"), ("other", None)]
    assert [m.recipient for m in (store.get_message(queued),) if m] == ["new"]
    assert [m.sender for m in (store.get_message(sent),) if m] == ["new"]
    assert [e.event for e in store.events(agent="new")] == ["spawned", "renamed"]
    assert store.events(agent="new")[-1].data == {"from": "old"}
    assert [(lk.holder, lk.agent) for lk in store.locks()] == [("new", "new")]
    assert [w.holder for w in store.waiters()] == ["new"]
    assert [(w.watcher, w.targets) for w in store.watches()] == [("new", ["new", "other"])]
    assert store.transcript_positions("new") == {"/t/1.jsonl": 5}
    assert [t.seq for t in store.turns("new")] == [1] and set(store.message_usages("new")) == {"k"}
    assert store.events(agent="old") == [] and store.turns("old") == []
    assert [r.agent for r in store.requests()] == ["new"]


def _delivering(store: Store) -> None:
    store.add_message(None, "old", "sequential", "hi")
    store.claim_next("old", 1)


BAD_RENAMES = [
    ("unknown old", lambda s: None, "nobody", "new", "no agent named 'nobody'"),
    ("new taken", lambda s: None, "old", "other", "an agent named 'other' already exists"),
    ("a message being delivered", _delivering, "old", "new", "taking a message right now"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "old", "new", "says"), [r[1:] for r in BAD_RENAMES], ids=[r[0] for r in BAD_RENAMES]
)
def test_a_refused_rename_changes_nothing(
    store: Store, setup: Callable[[Store], None], old: str, new: str, says: str
) -> None:
    store.insert_agent(agent_row("old", spec={"launch": "L1"}))
    store.insert_agent(agent_row("other", parent="old"))
    setup(store)
    before = (store.list_agents(), store.messages(), store.events())
    with pytest.raises(AgentError, match=says):
        store.rename_agent(old, new)
    assert (store.list_agents(), store.messages(), store.events()) == before
    assert store.launched_as("L1") == "old" and store.launched_as("L2") is None


def test_state_writes_record_an_event_only_when_something_changed(store: Store) -> None:
    store.insert_agent(agent_row("a", state="starting"))
    mark = store.last_event_id()
    assert store.set_state("a", "idle", "ready")
    assert not store.set_state("a", "idle", "ready")
    assert not store.set_state("a", "busy", expect="starting")  # it moved on
    assert store.set_state("a", "busy", "working", expect="idle", task="t1")
    agent = store.get_agent("a")
    assert agent is not None and (agent.state, agent.detail, agent.task) == (
        "busy",
        "working",
        "t1",
    )
    assert [(e.state, e.detail) for e in store.events(after=mark)] == [
        ("idle", "ready"),
        ("busy", "working"),
    ]
    assert not store.set_state("nobody", "idle")


def test_a_hook_event_is_recorded_with_its_fields(store: Store) -> None:
    store.insert_agent(agent_row("a"))
    assert store.hook_event("a", "hook:Notification", None, "", {"k": 1}, {"session_id": "s1"})
    agent = store.get_agent("a")
    assert agent is not None and agent.session_id == "s1"
    assert [(e.event, e.data) for e in store.events(agent="a")] == [("hook:Notification", {"k": 1})]
    assert not store.hook_event("nobody", "hook:Stop", "idle", "", {}, {})


# (id, the agent's row, whether a window seen gone at the row's own `since` marks it lost)
LOST_ROWS = [
    ("a live agent", {"state": "busy"}, True),
    ("one tmuxorch is stopping", {"state": "busy", "ended_by": "stop"}, False),
    ("one seen to exit", {"state": "exited", "exit_status": 0}, False),
    ("one only its SessionEnd ended", {"state": "exited", "detail": "session ended"}, True),
]  # fmt: skip


@pytest.mark.parametrize(("row", "lost"), [r[1:] for r in LOST_ROWS], ids=[r[0] for r in LOST_ROWS])
def test_a_window_gone_marks_the_agent_lost_as_the_state_machine_says(
    store: Store, row: dict[str, object], lost: bool
) -> None:
    store.insert_agent(agent_row("a", since=5.0, **row))
    assert not store.mark_lost("a", 4.0)  # the caller saw an older agent of that name
    assert store.mark_lost("a", 5.0) is lost
    agent = store.get_agent("a")
    assert agent is not None
    assert (agent.ended_by == "lost") is lost and (agent.detail == "window gone") is lost
    assert not store.mark_lost("nobody", 5.0)


# -- hosts ------------------------------------------------------------------------


def test_a_heartbeat_keeps_a_host_up_and_says_when_it_had_been_lost(store: Store) -> None:
    assert store.hosts() == []
    assert store.heartbeat("b", "0.1.0", 42, 100.0) is False
    (host,) = store.hosts()
    assert (host.name, host.state, host.version, host.pid, host.started) == (
        "b", "up", "0.1.0", 42, 100.0,
    )  # fmt: skip
    assert store.lose_host("b", host.last_seen) is None  # it spoke at that very time
    assert store.lose_host("b", host.last_seen + 1) == {}
    assert store.hosts()[0].state == "lost"
    assert store.heartbeat("b", "0.1.1", 43, 200.0) is True
    assert [(h.state, h.pid) for h in store.hosts()] == [("up", 43)]


# (id, an agent of the lost host as it was, whether it is marked lost)
HOST_LOST_ROWS = [
    ("a live agent", {"state": "busy"}, True),
    ("one tmuxorch is stopping", {"state": "idle", "ended_by": "stop"}, False),
    ("one seen to exit", {"state": "exited", "exit_status": 0}, False),
    ("one stopped", {"state": "stopped"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "lost"), [r[1:] for r in HOST_LOST_ROWS], ids=[r[0] for r in HOST_LOST_ROWS]
)
def test_a_lost_host_takes_its_agents_with_it_as_the_state_machine_says(
    store: Store, row: dict[str, object], lost: bool
) -> None:
    store.heartbeat("b", "", 1, 0.0)
    store.insert_agent(agent_row("a", host="b", **row))
    store.insert_agent(agent_row("other", host="c", state="busy"))
    before = store.last_event_id()
    assert store.lose_host("b", now() + 1) == ({"a": row["state"]} if lost else {})
    agent, other = store.get_agent("a"), store.get_agent("other")
    assert agent is not None and other is not None
    assert (agent.ended_by == "lost" and agent.detail == "host b lost") is lost
    assert other.state == "busy"  # another host's agent
    assert [(e.agent, e.event) for e in store.events(after=before)][-1] == (None, "host-lost")
    assert store.lose_host("b", now() + 1) is None  # decided once


def test_daemons_racing_to_call_a_host_lost_decide_it_once(backend: Backend) -> None:
    store = backend.connect()
    store.heartbeat("b", "", 1, 0.0)
    store.insert_agent(agent_row("a", host="b", state="busy"))
    body = "print(store.lose_host('b', 1e12) is not None)"
    assert sorted(backend.race([body] * 3)) == ["False", "False", "True"]


def test_agents_of_no_host_are_adopted_by_the_first_host_that_asks(store: Store) -> None:
    store.insert_agent(agent_row("old"))
    store.insert_agent(agent_row("new", host="b"))
    assert store.adopt_agents("a") == ["old"]
    assert store.adopt_agents("c") == []
    assert [(x.name, x.host) for x in store.list_agents()] == [("old", "a"), ("new", "b")]


# -- messages ---------------------------------------------------------------------

# (id, modes queued in this order, the order they are claimed in)
CLAIM_ORDERS = [
    ("oldest first", ["sequential", "sequential"], [0, 1]),
    ("urgent first", ["sequential", "important", "urgent"], [2, 1, 0]),
    ("important before sequential", ["sequential", "important", "important"], [1, 2, 0]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("modes", "order"), [c[1:] for c in CLAIM_ORDERS], ids=[c[0] for c in CLAIM_ORDERS]
)
def test_messages_are_claimed_in_priority_order(
    store: Store, modes: list[str], order: list[int]
) -> None:
    ids = [store.add_message("x", "a", mode, f"m{i}") for i, mode in enumerate(modes)]
    store.add_message("x", "b", "urgent", "for someone else")
    queued = store.next_queued("a")
    assert queued is not None and queued.id == ids[order[0]]
    claimed = []
    while (message := store.claim_next("a", claimer=7, claimer_start=70)) is not None:
        assert (message.status, message.claimed_by, message.claimed_start) == ("delivering", 7, 70)
        claimed.append(message.id)
    assert claimed == [ids[i] for i in order]
    assert [m.id for m in store.claimed_messages()] == sorted(ids)
    assert store.pending_count("a") == len(ids) and store.queued_counts() == {"b": 1}


def test_a_claim_ends_delivered_failed_or_back_in_the_queue(store: Store) -> None:
    first, second, third = (store.add_message(None, "a", "sequential", b) for b in "xyz")
    assert store.recipients_with_queued() == ["a"]
    for _ in range(3):
        store.claim_next("a", claimer=1)
    store.set_message_stage(first, "typed", "a draft")
    store.set_message_status(first, "delivered")
    store.set_message_status(second, "failed", "pane gone")
    store.set_message_stage(third, "typing", "")
    store.requeue_message(third)
    got = {m.id: m for m in store.messages("a")}
    assert got[first].status == "delivered" and got[first].delivered_at is not None
    assert got[first].draft == "a draft" and got[first].stage == "typed"
    assert (got[second].status, got[second].error) == ("failed", "pane gone")
    assert (got[third].status, got[third].claimed_by, got[third].stage) == ("queued", None, None)
    assert store.fail_queued("a", "agent exited") == 1
    assert store.fail_queued("a", "agent exited") == 0
    assert store.pending_count("a") == 0 and store.recipients_with_queued() == []


def test_two_claimers_in_two_processes_take_each_message_exactly_once(backend: Backend) -> None:
    store = backend.connect()
    ids = {store.add_message(None, "a", "sequential", f"m{i}") for i in range(200)}
    body = "while (m := store.claim_next('a', claimer=CLAIMER)) is not None:\n    print(m.id)"
    taken = [int(line) for line in backend.race([body.replace("CLAIMER", n) for n in "12"])]
    assert sorted(taken) == sorted(ids)  # each one once: none lost, none twice
    assert {m.claimed_by for m in store.claimed_messages()} <= {1, 2}


def test_folding_queued_messages_is_all_or_nothing(store: Store) -> None:
    first, second, third = (store.add_message(None, "a", "sequential", b) for b in "xyz")
    assert store.fold_queued([second, first], "x\ny")
    assert [(m.id, m.body) for m in store.messages("a")] == [(first, "x\ny"), (third, "z")]
    store.claim_next("a", claimer=1)  # takes the folded one
    assert not store.fold_queued([first, third], "gone")
    assert not store.fold_queued([], "nothing")
    assert [m.body for m in store.messages()] == ["x\ny", "z"]


def test_watches_are_kept_until_deleted(store: Store) -> None:
    watch = store.add_watch("boss", ["a", "b"], "idle", True, None)
    (got,) = store.watches()
    assert (got.id, got.watcher, got.targets, got.any_of) == (watch, "boss", ["a", "b"], True)
    assert store.delete_watch(watch) and not store.delete_watch(watch)
    assert store.watches() == []


# -- requests to a host's daemon ---------------------------------------------------


def test_a_request_is_claimed_by_its_host_and_finished_with_its_result(store: Store) -> None:
    first = store.add_request("b", "w1", "output", {"lines": 3})
    second = store.add_request("b", "w2", "kill", {})
    store.add_request("c", "w3", "stop", {})
    assert store.claim_request("a", claimer=7) is None  # none for host a
    got = store.claim_request("b", claimer=7)
    assert got is not None and (got.id, got.agent, got.op, got.args) == (
        first,
        "w1",
        "output",
        {"lines": 3},
    )
    assert (got.status, got.claimed_by) == ("working", 7)
    assert not store.cancel_request(first, "too late: claimed")
    assert store.finish_request(first, {"text": "a\nb"})
    assert not store.finish_request(first, error="twice")  # finished once
    assert store.cancel_request(second, "gave up")
    assert store.claim_request("b", claimer=7) is None  # the cancelled one is not claimed
    done, cancelled = store.get_request(first), store.get_request(second)
    assert done is not None and (done.status, done.result, done.error) == (
        "done",
        {"text": "a\nb"},
        None,
    )
    assert cancelled is not None and (cancelled.status, cancelled.error) == ("failed", "gave up")
    assert [r.agent for r in store.requests("c")] == ["w3"] and len(store.requests()) == 3
    assert store.get_request(999) is None


def test_a_failed_request_keeps_its_one_line(store: Store) -> None:
    store.add_request("b", "w", "approve", {"always": False})
    got = store.claim_request("b", claimer=1)
    assert got is not None and store.finish_request(got.id, error="agent 'w' is idle")
    after = store.get_request(got.id)
    assert after is not None and (after.status, after.result, after.error) == (
        "failed", None, "agent 'w' is idle",
    )  # fmt: skip


def test_daemons_in_two_processes_claim_each_request_exactly_once(backend: Backend) -> None:
    store = backend.connect()
    ids = {store.add_request("b", f"w{i}", "output", {}) for i in range(100)}
    body = "while (r := store.claim_request('b', claimer=CLAIMER)) is not None:\n    print(r.id)"
    taken = [int(line) for line in backend.race([body.replace("CLAIMER", n) for n in "12"])]
    assert sorted(taken) == sorted(ids)  # each one once: none lost, none twice
    assert {r.claimed_by for r in store.requests("b")} <= {1, 2}


# -- locks ------------------------------------------------------------------------

# (id, lock held, lock asked for, do they overlap)
OVERLAPS = [
    ("same file", "/w/a.py", "/w/a.py", True),
    ("directory above", "/w", "/w/src/a.py", True),
    ("file below", "/w/src/a.py", "/w", True),
    ("sibling", "/w/a.py", "/w/b.py", False),
    ("common prefix only", "/w/src", "/w/src2/a.py", False),
    ("wildcard characters", "/w/a%", "/w/ab", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("held", "asked", "overlap"), [o[1:] for o in OVERLAPS], ids=[o[0] for o in OVERLAPS]
)
def test_locks_overlap_on_the_same_path_and_along_directories(
    store: Store, held: str, asked: str, overlap: bool
) -> None:
    assert acquire(store, held, Holder("a")).granted
    outcome = acquire(store, asked, Holder("b"))
    assert outcome.granted is not overlap
    assert [lk.path for lk in store.locks_overlapping(asked)] == ([held] if overlap else [asked])


def test_a_lock_is_taken_released_and_then_free_for_another(store: Store) -> None:
    assert acquire(store, "/w/f", Holder("a", agent="a"), reason="edit").granted
    denied = acquire(store, "/w/f", Holder("b"))
    assert not denied.granted and denied.blocker == "a"
    assert store.locks_by_agent() == {"a": ["/w/f"]}
    freed = release(store, "/w/f", "a")
    assert freed is not None and freed.reason == "edit"
    assert acquire(store, "/w/f", Holder("b")).granted
    assert [(lk.path, lk.holder) for lk in store.locks()] == [("/w/f", "b")]


def test_processes_racing_for_locks_get_each_one_once(backend: Backend) -> None:
    store = backend.connect()
    paths = [f"/w/{i}" for i in range(20)]
    body = (
        "from tmuxorch.locks.acquisition import acquire\nfrom tmuxorch.locks.keys import Holder\n"
        f"for path in {paths!r}:\n"
        "    if acquire(store, path, Holder('HOLDER')).granted:\n"
        "        print(path)"
    )
    granted = sorted(backend.race([body.replace("HOLDER", f"h{n}") for n in range(4)]))
    assert granted == sorted(paths)  # each lock went to exactly one racer
    assert sorted(lk.path for lk in store.locks()) == sorted(paths)


def test_lock_rows_and_waiters_in_one_transaction(store: Store) -> None:
    with store.transaction():
        store.put_lock(Lock(path="/w/a", holder="h", since=now(), expires=now() + 5))
        store.put_lock(Lock(path="/w/b", holder="h", since=now(), expires=now() + 5))
        store.extend_lock("/w/a", 123.0)
        first = store.add_waiter("/w/a/x", "w1", 11, "fifo1")
        second = store.add_waiter("/w/b", "w2", 12, "fifo2")
    assert [w.id for w in store.waiters()] == [first, second]
    assert [w.holder for w in store.waiters_overlapping("/w/a")] == ["w1"]
    with store.transaction():
        store.delete_waiter(first)
        assert store.delete_locks_of("h") == ["/w/a", "/w/b"]
    assert store.locks() == [] and [w.id for w in store.waiters()] == [second]


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_lock(Lock(path="/w/a", holder="h", since=now(), expires=now() + 5))
        raise RuntimeError("the lock's logic gave up")
    assert store.locks() == []


# -- events -----------------------------------------------------------------------


def test_events_come_oldest_first_after_an_id(store: Store) -> None:
    store.insert_agent(agent_row("a"))
    mark = store.last_event_id()
    ids = [
        store.add_event("a", "state", "busy", "one"),
        store.add_event(None, "spawn", None, "", {"n": 2}),
        store.add_event("a", "hook:Stop", "idle"),
        store.add_event("a", "state", "idle", "four"),
    ]
    assert ids == sorted(ids) and ids[0] > mark and store.last_event_id() == ids[-1]
    assert [e.id for e in store.events(after=mark)] == ids
    assert [e.id for e in store.events(after=ids[1])] == ids[2:]
    assert [e.id for e in store.events(after=mark, limit=2)] == ids[2:]  # newest two, in order
    assert [e.id for e in store.events(agent="a", after=mark)] == [ids[0], ids[2], ids[3]]
    assert [e.id for e in store.events(after=mark, kind="state")] == [ids[0], ids[3]]
    assert store.events(after=ids[1])[0].data == {}
    assert store.events(after=mark)[1].data == {"n": 2}
    assert store.count_events("a", ("state", "hook:Stop"), after=mark) == 3
    assert store.count_events("a", ("state",), after=ids[0]) == 1
    assert store.count_events("a", ("state",), after=mark, since=now() + 60) == 0


# -- cost and history ----------------------------------------------------------------


def test_transcripts_turns_and_usage_are_kept_per_agent(store: Store) -> None:
    with store.transaction():
        store.set_transcript_position("a", "/t/2.jsonl", 10)
        store.set_transcript_position("a", "/t/1.jsonl", 5)
        store.set_transcript_position("a", "/t/2.jsonl", 20)  # keeps its place
        store.put_turn(Turn(agent="a", seq=1, prompt="p1", tools=["Read"]))
        store.put_turn(Turn(agent="a", seq=2, prompt="p2", answered=True))
        store.put_turn(Turn(agent="b", seq=1, prompt="other"))
        for key, turn in (("k1", 1), ("k2", 2)):
            usage = MessageUsage(agent="a", key=key, turn=turn, model="m", input=turn)
            store.put_message_usage(usage)
    assert store.transcript_positions("a") == {"/t/2.jsonl": 20, "/t/1.jsonl": 5}
    assert [(t.seq, t.tools) for t in store.turns("a")] == [(1, ["Read"]), (2, [])]
    last = store.last_turn("a")
    assert last is not None and (last.seq, last.answered) == (2, True)
    assert store.last_turn("nobody") is None
    assert set(store.message_usages("a")) == {"k1", "k2"}
    assert {k: u.input for k, u in store.message_usages("a", ["k2", "k9"]).items()} == {"k2": 2}


# -- the notifications' outbox -------------------------------------------------------


def test_notices_wait_in_the_outbox_per_target_until_sent(store: Store) -> None:
    first = Notice("a", "waiting", "a is waiting for you", "Allow Bash?", 7)
    assert store.add_notice(first, ["t1", "t2"], "h1") == 2
    assert store.add_notice(first, ["t1", "t2"], "h2") == 0  # once per event, kind and target
    store.add_notice(Notice("b", "done", "b is done", "ok", 8), ["t1"], "h1")
    store.add_notice(Notice("c", "lost", "c is lost", "", 9), ["t1"], "h2")
    unsent = store.unsent_notices("h1")
    assert [(o.notice, o.target, o.attempts) for o in unsent] == [
        (first, "t1", 0), (first, "t2", 0), (Notice("b", "done", "b is done", "ok", 8), "t1", 0),
    ]  # fmt: skip
    assert [o.notice.agent for o in store.unsent_notices("h2")] == ["c"]  # h2's own to send
    store.notices_failed([unsent[0].id], 1, now() + 60, "HTTP 500")
    store.notices_sent([unsent[1].id, unsent[2].id])
    (left,) = store.unsent_notices("h1")
    assert (left.id, left.attempts, left.error) == (unsent[0].id, 1, "HTTP 500")
    assert left.next_try > now() + 30
    assert store.add_notice(first, ["t2"], "h1") == 0  # sent is not forgotten at once
    assert store.notice_cursor("h1") is None
    store.set_notice_cursor("h1", 5)
    store.set_notice_cursor("h1", 9)
    store.set_notice_cursor("h2", 3)
    assert (store.notice_cursor("h1"), store.notice_cursor("h2")) == (9, 3)
    store.set_notice_cursor("h1", None)
    assert (store.notice_cursor("h1"), store.notice_cursor("h2")) == (None, 3)


# -- wake-ups and the store's own failures ---------------------------------------------


def test_a_write_from_another_process_wakes_a_waiter(backend: Backend) -> None:
    store = backend.connect()
    mark = store.last_event_id()
    writer = backend.spawn("store.add_event(None, 'poke', None, 'from afar')")
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        with store.changes() as changes:  # after the writer opened: only its write is news
            writer.communicate("\n", timeout=60)
            assert changes.wait(30.0)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == 0
    # Woken: the write is (or very soon is) visible to this connection.
    events = retry_until(lambda: store.events(after=mark))
    assert [(e.event, e.detail) for e in events] == [("poke", "from afar")]


def test_a_write_on_another_connection_wakes_a_waiter(backend: Backend) -> None:
    waiter, writer = backend.connect(), backend.connect()
    with waiter.changes() as changes:
        writer.insert_agent(agent_row("a"))
        assert changes.wait(30.0)
    assert retry_until(lambda: waiter.get_agent("a")) is not None


def test_closing_changes_from_another_thread_wakes_its_waiter(backend: Backend) -> None:
    """The monitor sleeps on changes with no timeout in a thread of its own,
    and closes them from its main thread to stop."""
    changes = backend.connect().changes()
    returned = threading.Event()

    def sleep() -> None:
        changes.wait(None)
        returned.set()

    sleeper = threading.Thread(target=sleep, daemon=True)
    sleeper.start()
    changes.close()
    sleeper.join(timeout=30)
    assert returned.is_set()
    assert not changes.wait(None)  # closed: at once, and nothing changed


# (id, what happens to the stored state, what the one line says)
DAMAGE = [
    ("deleted", "lose", "no fleet at"),
    ("replaced by something else", "spoil", "not a database"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "says"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_a_store_whose_state_is_gone_says_so_in_one_line(
    backend: Backend, damage: str, says: str
) -> None:
    store = backend.connect()
    store.insert_agent(agent_row("a"))
    assert not store.replaced()
    getattr(backend, damage)()
    assert store.replaced()
    with pytest.raises(StoreError) as caught:
        backend.connect()
    message = str(caught.value)
    assert says in message and "\n" not in message
