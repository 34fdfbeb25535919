"""Exactly once under faults: a deliverer killed at each stage of a delivery,
and input left in a shell agent's command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import HOST, retry_until
from tmuxorch.core import procs
from tmuxorch.core.records import Message
from tmuxorch.fleet import monitorproc, recovery


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _message(env: Env, message_id: int) -> Message:
    with env.fleet() as fleet:
        message = fleet.store.get_message(message_id)
    assert message is not None
    return message


def _input_line(env: Env, name: str) -> str:
    return env.ok("output", name).rstrip().split("\n")[-1]


def test_monitor_killed_between_typing_and_enter(env: Env) -> None:
    """kill -9 of the monitor with a message typed into a shell agent and Enter
    not pressed yet: the next monitor clears the text and delivers it once,
    and the queue goes on (the agent did read 'busy' for ever)."""
    out = env.tmp / "out"
    config = base_config(env.tmp)
    config["agents"]["shell"]["settle"] = 600  # typed, then a pause before Enter
    env.write_config(config)
    env.spawn_ready("s")
    with env.fleet() as fleet:
        message_id = fleet.store.add_message(None, "s", "sequential", f"echo once >> {out}")
    retry_until(lambda: _input_line(env, "s") == f"$ echo once >> {out}", message="typed")
    env.kill_monitor()
    assert _message(env, message_id).status == "delivering"
    env.write_config(base_config(env.tmp))
    env.ok("wait", "s", "--timeout", "60")  # a new monitor recovers the claim
    retry_until(lambda: _message(env, message_id).status == "delivered", message="delivered")
    env.ok("send", "s", f"echo next >> {out}")
    retry_until(lambda: len(_lines(out)) == 2, message="both ran")
    assert _lines(out) == ["once", "next"]


# (id, what the dead deliverer typed, whether it pressed Enter, its last
# recorded stage, the draft it had taken out; status after recovery)
STAGES = [
    ("claimed", "", False, None, "", "queued"),
    ("typing-half", "echo on", False, "typing", "", "queued"),
    ("typed", "MSG", False, "typed", "", "queued"),
    ("submitting-unpressed", "MSG", False, "submitting", "", "queued"),
    ("submitted", "MSG", True, "submitting", "", "delivered"),
    ("typed-with-draft", "MSG", False, "typed", "DRAFT", "queued"),
    ("submitted-with-draft", "MSG", True, "submitting", "DRAFT", "delivered"),
]


@pytest.mark.parametrize(
    ("typed", "enter", "stage", "draft", "status"),
    [s[1:] for s in STAGES],
    ids=[s[0] for s in STAGES],
)
def test_recovery_decides_by_stage_and_screen(
    env: Env, typed: str, enter: bool, stage: str | None, draft: str, status: str
) -> None:
    """A shell agent (no hooks) and a deliverer that died at ``stage``: a
    message it submitted is never typed again, one it did not is delivered
    once, and the draft it took out of the command line comes back, unrun."""
    out = env.tmp / "out"
    body = f"echo once >> {out}"
    draft_text = f"echo half >> {out}" if draft else ""
    env.spawn_ready("s")
    dead = env.kill_monitor()
    # Its lock goes with its files, a moment before the process is gone.
    retry_until(lambda: not procs.alive(dead), message="the monitor gone")
    pane = str(env.json("status", "s")["pane_id"])
    with env.fleet() as fleet:
        if typed:
            shown = body if typed == "MSG" else typed
            fleet.tmux.send_literal(pane, shown)
            retry_until(lambda: _input_line(env, "s").endswith(shown), message="typed")
        if enter:
            fleet.tmux.send_keys(pane, "Enter")
            retry_until(lambda: _lines(out) == ["once"], message="the dead deliverer's Enter")
        message_id = fleet.store.add_message(None, "s", "sequential", body)
        fleet.store.claim_next("s", dead, procs.start_time(dead))
        if stage is not None:
            fleet.store.set_message_stage(message_id, stage, draft_text)
        recovery.recover_claims(fleet, procs.alive)
        assert _message(env, message_id).status == status
    env.ok("wait", "s", "--timeout", "60")  # a monitor delivers what was queued again
    retry_until(lambda: _message(env, message_id).status == "delivered", message="delivered")
    retry_until(lambda: _lines(out) == ["once"], message="ran once")
    if draft_text:
        retry_until(lambda: _input_line(env, "s") == f"$ {draft_text}", message="draft back")
    env.ok("wait", "s", "--timeout", "60")
    assert _lines(out) == ["once"]


def test_half_typed_shell_line_is_a_draft(env: Env) -> None:
    """Text sitting in a shell agent's command line is a draft, not work: the
    agent stays idle, a message is delivered around it, and it comes back
    unrun."""
    out = env.tmp / "out"
    env.spawn_ready("s")
    pane = str(env.json("status", "s")["pane_id"])
    with env.fleet() as fleet:
        fleet.tmux.send_literal(pane, f"echo half >> {out}")
    retry_until(lambda: _input_line(env, "s") == f"$ echo half >> {out}", message="typed")
    env.ok("wait", "s", "--timeout", "60")
    sent = env.json("send", "s", f"echo whole >> {out}")
    assert sent["status"] == "delivered"
    retry_until(lambda: _lines(out) == ["whole"], message="ran")
    retry_until(lambda: _input_line(env, "s") == f"$ echo half >> {out}", message="draft back")
    env.ok("wait", "s", "--timeout", "60")
    assert _lines(out) == ["whole"]


def test_tmux_server_death_fails_every_agents_queue(env: Env, server: Server) -> None:
    """The server dies with one agent busy and another in the middle of a
    delivery (typed, before Enter): the queued messages of both fail alike;
    none is left queued to arrive unseen after ``up``."""
    config = base_config(env.tmp)
    config["agents"]["slowshell"] = {"extends": "shell", "settle": 600}
    env.write_config(config)
    gate = env.tmp / "go"
    env.spawn_ready("busy", "--agent", "fake")
    env.ok("send", "busy", f"hold {gate}")
    env.spawn_ready("typing", "--agent", "slowshell")
    with env.fleet() as fleet:
        typing_id = fleet.store.add_message(None, "typing", "sequential", "echo typed")
    retry_until(lambda: _message(env, typing_id).stage == "typed", message="mid-delivery")
    retry_until(lambda: env.json("status", "busy")["state"] == "busy", message="busy")
    with env.fleet() as fleet:
        queued = [
            fleet.store.add_message(None, n, "sequential", "behind") for n in ("busy", "typing")
        ]
    assert [_message(env, i).status for i in queued] == ["queued", "queued"]
    server.kill()
    retry_until(lambda: not monitorproc.is_running(env.home, HOST), message="the monitor exits")
    assert [_message(env, i).status for i in queued] == ["failed", "failed"]
