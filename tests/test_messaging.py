"""The message queue on the fake agent: order, modes, exactly once, attribution,
half-typed input, notifications and coordination commands."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import Env
from tests.helpers import agent_row, retry_until


def _send(
    env: Env, name: str, text: str, *args: str, sender: str | None = None
) -> dict[str, object]:
    extra = {"TMUXORCH_AGENT": sender} if sender else None
    result: dict[str, object] = json.loads(env.ok("send", name, text, "--json", *args, env=extra))
    return result


def test_queued_while_busy_then_delivered_in_order(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    gate = env.tmp / "go"
    assert _send(env, "f", f"hold {gate}")["status"] == "delivered"
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    statuses = [_send(env, "f", f"message {i}")["status"] for i in range(3)]
    assert statuses == ["queued"] * 3
    assert env.json("status", "f")["queued"] == 3
    gate.touch()
    retry_until(lambda: len(env.records()) == 4, timeout=30, message="all delivered")
    assert env.records() == [f"hold {gate}", "message 0", "message 1", "message 2"]


def test_important_overtakes_sequential(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    gate = env.tmp / "go"
    _send(env, "f", f"hold {gate}")
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    _send(env, "f", "first sequential")
    _send(env, "f", "second sequential")
    _send(env, "f", "the important one", "--mode", "important")
    gate.touch()
    retry_until(lambda: len(env.records()) == 4, timeout=30, message="all delivered")
    assert env.records()[1:] == ["the important one", "first sequential", "second sequential"]


def test_urgent_interrupts(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    _send(env, "f", "sleep 600")
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    result = _send(env, "f", "stop that now", "--mode", "urgent")
    assert result["status"] == "delivered"
    assert env.records() == ["sleep 600", "stop that now"]
    assert "Interrupted" in env.ok("output", "f", "--full")


def test_send_wait_returns_after_the_turn(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    out = env.ok("send", "f", "sleep 1", "--wait", "--json")
    assert json.loads(out)["status"] == "delivered"
    assert env.json("status", "f")["state"] == "idle"


def test_sender_header_from_inside_a_pane(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "fake")
    env.spawn_ready("f", "--agent", "fake")
    _send(env, "f", "hello worker", sender="boss")
    assert retry_until(lambda: "[message from boss] hello worker" in env.records())


def test_half_typed_input_survives(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    pane = str(env.json("status", "f")["pane_id"])
    fleet = env.fleet()
    fleet.tmux.send_literal(pane, "half typed by a person")
    retry_until(lambda: "half typed by a person" in env.ok("output", "f"), message="typed")
    _send(env, "f", "from the fleet")
    assert env.records() == ["from the fleet"]
    retry_until(
        lambda: env.ok("output", "f").rstrip().endswith("> half typed by a person"),
        message="the person's text is back in the composer",
    )
    fleet.tmux.send_keys(pane, "Enter")
    retry_until(lambda: env.records()[-1:] == ["half typed by a person"], message="still theirs")


def test_exited_agent_fails_queued_messages(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    _send(env, "f", "sleep 3")
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    queued = _send(env, "f", "never arrives")
    env.ok("kill", "f")
    with env.fleet() as fleet:
        message = retry_until(
            lambda: (
                (m := fleet.store.get_message(int(str(queued["id"]))))
                and m.status == "failed"
                and m
            )
        )
        assert message.error is not None and "exited" in message.error


def test_monitor_killed_with_queued_messages_delivers_each_once(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    gate = env.tmp / "go"
    _send(env, "f", f"hold {gate}")
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    for i in range(3):
        _send(env, "f", f"queued {i}")
    env.kill_monitor()
    gate.touch()  # the turn ends while no monitor runs
    env.ok("wait", "f", "--timeout", "30")  # starts a new monitor
    retry_until(lambda: len(env.records()) == 4, timeout=30, message="delivered after restart")
    env.ok("wait", "f", "--timeout", "30")
    assert env.records() == [f"hold {gate}", "queued 0", "queued 1", "queued 2"]


def test_wait_notify_wakes_the_caller(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "fake")
    env.spawn_ready("worker", "--agent", "fake")
    _send(env, "worker", "sleep 2")
    out = env.ok("wait", "worker", "--notify", env={"TMUXORCH_AGENT": "boss"})
    assert "will notify boss" in out
    note = retry_until(
        lambda: [r for r in env.records() if r.startswith("[tmuxorch] wait for worker")],
        timeout=30,
        message="boss woken",
    )
    assert "worker is idle" in note[0]


def test_wait_notify_timeout(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "fake")
    env.spawn_ready("worker", "--agent", "fake")
    _send(env, "worker", "sleep 30")
    env.ok("wait", "worker", "--notify", "--timeout", "1", env={"TMUXORCH_AGENT": "boss"})
    note = retry_until(
        lambda: [r for r in env.records() if "timed out" in r], timeout=30, message="timeout note"
    )
    assert "worker is busy" in note[0]


def test_wait_notify_needs_a_caller(env: Env) -> None:
    env.spawn_ready("worker", "--agent", "fake")
    proc = env.cli("wait", "worker", "--notify")
    assert proc.returncode == 1 and "inside an agent's pane" in proc.stderr


def test_notify_parent_on_idle(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "fake")
    env.ok("spawn", "kid", "--agent", "fake", env={"TMUXORCH_AGENT": "boss"})
    env.ok("wait", "kid", "--timeout", "30")
    _send(env, "kid", "ask may I")
    env.ok("wait", "kid", "--until", "waiting", "--timeout", "30")
    env.ok("approve", "kid")
    note = retry_until(
        lambda: [r for r in env.records() if r.startswith("[tmuxorch] child kid")],
        timeout=30,
        message="parent told",
    )
    assert "kid is idle" in note[0]


def test_coordination_commands(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "fake")
    me = {"TMUXORCH_AGENT": "boss"}
    env.ok("spawn", "w1", "--agent", "fake", env=me)
    env.ok("spawn", "w2", "--agent", "fake", env=me)
    env.ok("spawn", "other", "--agent", "fake", "--cwd", "/")
    assert env.ok("whoami", env=me).strip() == "boss"
    assert env.ok("children", env=me).split() == ["w1", "w2"]
    assert sorted(json.loads(env.ok("others", "--json", env=me))) == ["w1", "w2"]
    assert env.cli("alone", env=me).returncode == 1
    assert env.cli("alone", env={"TMUXORCH_AGENT": "other"}).returncode == 0
    env.ok("wait", "w1", "w2", "--timeout", "30")
    sent = json.loads(env.ok("broadcast", "to my team", "--json", env=me))
    assert sorted(m["to"] for m in sent) == ["w1", "w2"]
    retry_until(lambda: env.records().count("[message from boss] to my team") == 2)
    proc = env.cli("whoami")
    assert proc.returncode == 1 and "not inside an agent's pane" in proc.stderr


def test_what(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    _send(env, "f", "sleep 30")
    retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
    doing = env.json("what", "f")
    assert doing["state"] == "busy" and doing["task"] == "sleep 30"
    assert any("Working" in line for line in doing["screen"])
    assert "f is busy" in env.ok("what", "f")


@pytest.mark.parametrize("mode", ["sequential", "important", "urgent"])
def test_send_json_keys(env: Env, mode: str) -> None:
    env.spawn_ready("f", "--agent", "fake")
    result = _send(env, "f", f"hi {mode}", "--mode", mode)
    assert set(result) == {"id", "to", "mode", "status"} and result["mode"] == mode


FAILURES = [
    ("tmux", "TmuxError", "tmux send-keys: can't find pane: %999", False),
    ("unforeseen", "OSError", "[Errno 11] Resource temporarily unavailable", True),
]


@pytest.mark.parametrize(
    ("error", "text", "raised"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_delivery_failing_does_not_leave_the_claim(
    env: Env, monkeypatch: pytest.MonkeyPatch, error: str, text: str, raised: bool
) -> None:
    """A failure mid-delivery (a tmux command on a pane that went away, or an
    error nobody foresaw) fails the message instead of leaving it
    'delivering', pending for ever; the unforeseen one still propagates."""
    from tmuxorch.core import errors
    from tmuxorch.core.records import Agent
    from tmuxorch.fleet import messaging
    from tmuxorch.fleet.lifecycle import Fleet

    kind = getattr(errors, error, None) or OSError

    def broken(self: Fleet, agent: Agent, text_: str, **options: object) -> None:
        raise kind(text)

    monkeypatch.setattr(Fleet, "type_into", broken)
    with env.fleet() as fleet:
        fleet.store.insert_agent(agent_row("f", pane_id="%999"))
        message_id = fleet.store.add_message(None, "f", "sequential", "hello")
        if raised:
            with pytest.raises(OSError):
                messaging.deliver_next(fleet, "f")
        else:
            messaging.deliver_next(fleet, "f")
        message = fleet.store.get_message(message_id)
        assert message is not None and message.status == "failed"
        assert message.error == text
        assert fleet.store.pending_count("f") == 0


CLAIMERS = [
    ("live", ["sleep", "60"], 0, "delivering"),
    ("pid-reused", ["sleep", "60"], 1, "queued"),  # the pid runs, but it is another process now
    ("zombie", ["true"], 0, "queued"),  # ended, never reaped: a dead monitor in a container
]


@pytest.mark.parametrize(
    ("argv", "skew", "after"), [c[1:] for c in CLAIMERS], ids=[c[0] for c in CLAIMERS]
)
def test_recover_claims_knows_a_dead_deliverer(
    env: Env, argv: list[str], skew: int, after: str
) -> None:
    """A claim is its deliverer's pid and start time: the pid alone could be
    another process by now, or a zombie, and the message would stay claimed
    until some later restart, then arrive out of order."""
    from tmuxorch.core import procs
    from tmuxorch.fleet import recovery

    with subprocess.Popen(argv) as other, env.fleet() as fleet:
        try:
            started = procs.start_time(other.pid)
            assert started is not None
            if argv == ["true"]:
                retry_until(lambda: _proc_state(other.pid) == "Z", message="a zombie")
            fleet.store.insert_agent(agent_row("f"))
            message_id = fleet.store.add_message(None, "f", "sequential", "hello")
            fleet.store.claim_next("f", other.pid, started + skew)
            recovery.recover_claims(fleet, procs.alive)
            message = fleet.store.get_message(message_id)
            assert message is not None and message.status == after
        finally:
            other.kill()


def _proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rpartition(")")[2].split()[0]


def test_a_turn_started_since_the_agent_was_read_is_not_done(env: Env) -> None:
    """``reached`` on an idle snapshot whose queued message was delivered in
    the meantime (busy, then delivered: the deliverer's order) is not done:
    this race made a batch call a task completed before its prompt ran."""

    with env.fleet() as fleet:
        fleet.store.insert_agent(agent_row("f", profile="fake"))
        message_id = fleet.store.add_message(None, "f", "sequential", "work")
        snapshot = fleet.store.get_agent("f")
        assert snapshot is not None and not fleet.reached(snapshot, "done")
        fleet.store.set_state("f", "busy", "", data={"source": "delivery"})
        fleet.store.set_message_status(message_id, "delivered")
        assert not fleet.reached(snapshot, "done")
        assert not fleet.reached(snapshot, "idle")
        fleet.store.set_state("f", "idle", "")
        fresh = fleet.store.get_agent("f")
        assert fresh is not None and fleet.reached(fresh, "done")


# (id, notes queued before the watch fires, the watch set before they are)
FOLDS = [
    ("watch pending when the child ends its turn", [], True),
    ("child notice queued before the watch was set", ["turn"], False),
    ("a safety net notice is kept", ["safety"], False),
]


@pytest.mark.parametrize(
    ("notes", "watch_first"), [f[1:] for f in FOLDS], ids=[f[0] for f in FOLDS]
)
def test_one_wake_per_child_event(env: Env, notes: list[str], watch_first: bool) -> None:
    """A child's idle notice that a pending ``wait --notify`` of its parent
    covers is folded into the wait's notice: the parent is woken once."""
    from tmuxorch.fleet import messaging

    with env.fleet() as fleet:
        # boss is busy and no monitor runs: what is queued for it stays queued.
        fleet.store.insert_agent(agent_row("boss", profile="fake", state="busy"))
        fleet.store.insert_agent(agent_row("kid", profile="fake", parent="boss"))
        kid = fleet.store.get_agent("kid")
        assert kid is not None
        if watch_first:
            fleet.store.add_watch("boss", ["kid"], "idle", False, None)
        messaging.notify_parent(fleet, kid, "busy")
        if "safety" in notes:
            messaging.notify(fleet, "boss", "child kid was interrupted by the safety net: x")
        if not watch_first:
            fleet.store.add_watch("boss", ["kid"], "idle", False, None)
        messaging.check_watches(fleet)
        queued = [m.body for m in fleet.store.messages("boss") if m.status == "queued"]
    kept = [b for b in queued if "safety net" in b]
    assert len(kept) == notes.count("safety")
    (wake,) = [b for b in queued if b not in kept]
    assert wake.startswith("[tmuxorch] wait for kid (idle) is over: kid is idle")


def test_a_watch_that_fired_first_covers_the_child_notice(env: Env) -> None:
    """The monitor may fire the parent's watch before it sees the child's turn
    end: the child's notice that follows is covered too, one wake."""
    from tmuxorch.fleet import messaging

    with env.fleet() as fleet:
        fleet.store.insert_agent(agent_row("boss", profile="fake", state="busy"))
        fleet.store.insert_agent(agent_row("kid", profile="fake", parent="boss"))
        kid = fleet.store.get_agent("kid")
        assert kid is not None
        fleet.store.add_watch("boss", ["kid"], "idle", False, None)
        messaging.check_watches(fleet)
        messaging.notify_parent(fleet, kid, "busy")
        queued = [m.body for m in fleet.store.messages("boss") if m.status == "queued"]
    (wake,) = queued
    assert wake.startswith("[tmuxorch] wait for kid (idle) is over: kid is idle")
