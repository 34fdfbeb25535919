"""Stop, resume, fork and up on the real Claude Code: conversations survive."""

from __future__ import annotations

import json
import os

import pytest
from libtmux.server import Server

from tests.conftest import ClaudeFleet, agent_requests
from tests.helpers import HOST, retry_until
from tmuxorch.fleet import monitorproc


def _history(fleet: ClaudeFleet, name: str) -> str:
    """Everything agent ``name`` sent the model in its latest turn request."""
    return json.dumps(agent_requests(fleet.api, name)[-1]["messages"])


def test_stop_then_resume_keeps_the_conversation(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    first = fleet.spawn("c1")
    env.ok("send", "c1", "remember the word pineapple", "--wait")
    env.ok("stop", "c1")
    stopped = env.json("status", "c1")
    assert stopped["state"] == "stopped" and stopped["session_id"] == first["session_id"]
    env.ok("resume", "c1", "what was the word?")
    env.ok("wait", "c1", "--timeout", "90")
    retry_until(lambda: "what was the word?" in _history(fleet, "c1"), message="resumed turn")
    assert "remember the word pineapple" in _history(fleet, "c1")
    assert env.json("status", "c1")["session_id"] == first["session_id"]


def test_fork_gets_a_new_id_and_the_old_history(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    first = fleet.spawn("c1")
    env.ok("send", "c1", "remember the word mango", "--wait")
    env.ok("fork", "c1", "c2", "and now in the fork?")
    env.ok("wait", "c2", "--timeout", "90")
    # The fork keeps c1's system prompt (Claude stores it with the session);
    # its first message tells it its new name.
    forks = retry_until(
        lambda: [
            r.body
            for r in fleet.api.turn_requests()
            if "You are now agent 'c2'" in json.dumps(r.body)
        ],
        timeout=60,
        message="the fork's turn",
    )
    assert "remember the word mango" in json.dumps(forks[-1]["messages"])
    assert "and now in the fork?" in json.dumps(forks[-1]["messages"])
    forked = retry_until(
        lambda: (
            (s := env.json("status", "c2"))["session_id"] not in (None, first["session_id"]) and s
        ),
        message="the fork reports its own session id",
    )
    assert forked["profile"] == "claude" and forked["cwd"] == first["cwd"]


@pytest.mark.parametrize("monitor", ["watching", "gone"])
def test_up_after_the_server_died_resumes(
    claude_fleet: ClaudeFleet, server: Server, monitor: str
) -> None:
    """With nobody watching (a reboot), Claude's SessionEnd (other) is the
    only word of its end: the agent still went with the server."""
    fleet, env = claude_fleet, claude_fleet.env
    first = fleet.spawn("c1")
    env.ok("send", "c1", "remember the word kiwi", "--wait")
    if monitor == "gone":
        env.kill_monitor()
    server.kill()
    retry_until(lambda: not monitorproc.is_running(env.home, HOST), message="monitor follows tmux")
    if monitor == "gone":
        with env.fleet() as quiet:  # not the CLI: its look at tmux would mark c1 lost first
            retry_until(
                lambda: quiet.store.events(agent="c1", kind="hook:SessionEnd"),
                message="Claude's SessionEnd",
            )
    assert json.loads(env.ok("up", "--json"))["restored"] == ["c1"]
    env.ok("wait", "c1", "--timeout", "90")
    assert json.loads(env.ok("up", "--json"))["restored"] == []
    env.ok("send", "c1", "which fruit?", "--wait")
    assert "remember the word kiwi" in _history(fleet, "c1")
    assert env.json("status", "c1")["session_id"] == first["session_id"]


def test_spawn_in_bypass_mode_starts_even_as_root(claude_fleet: ClaudeFleet) -> None:
    # Claude refuses bypassPermissions as root unless it is told it runs in a
    # sandbox; its warning dialog is then answered like folder trust.
    status = claude_fleet.spawn("c1", "--permission-mode", "bypassPermissions")
    assert status["state"] == "idle"


def test_claude_refusing_to_start_says_why(claude_fleet: ClaudeFleet) -> None:
    if os.geteuid() != 0:
        pytest.skip("Claude refuses bypassPermissions only as root")
    env = claude_fleet.env
    args = ["--agent", "claude", "--cwd", str(claude_fleet.project)]
    env.ok("spawn", "c1", *args, "--permission-mode", "bypassPermissions", "--env", "IS_SANDBOX=")
    proc = env.cli("wait", "c1", "--timeout", "60")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    status = env.json("status", "c1")
    assert status["state"] == "exited"
    assert "during start-up" in status["detail"] and "root" in status["detail"]
    assert "root" in proc.stderr
