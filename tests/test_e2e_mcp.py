"""A manager Claude, configured by ``tmuxorch setup``, drives the fleet through MCP.

The real Claude Code runs offline against the fake API, which scripts the
manager's tool calls (``mcp__tmuxorch__*``); the tools run in the fleet and
their results reach the API in the manager's next request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ClaudeFleet
from tests.fakeapi import text, tool_results, tool_use
from tests.helpers import retry_until

PREFIX = "mcp__tmuxorch__"


def _setup_project(fleet: ClaudeFleet) -> None:
    """``tmuxorch setup --project`` in the project (which also approves the server, or
    Claude would hold the session on a dialog), and the tools allowed, as a user would."""
    env = fleet.env
    proc = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "setup", "--project"],
        cwd=fleet.project, env=env.environ, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((fleet.project / ".mcp.json").read_text())["mcpServers"]["tmuxorch"]
    settings = fleet.project / ".claude" / "settings.json"
    settings.write_text(json.dumps({"permissions": {"allow": ["mcp__tmuxorch"]}}))


def _result(fleet: ClaudeFleet, turn: int) -> str:
    """The text of the single tool result sent with the manager's turn request ``turn``."""
    results = tool_results(fleet.api.turn_requests()[turn].body)
    assert len(results) == 1 and not results[0].is_error, results
    return results[0].text


def test_manager_spawns_and_steers_a_worker_through_mcp(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    _setup_project(fleet)
    fleet.spawn("boss")
    fleet.api.enqueue(
        tool_use(PREFIX + "list_agents", {}),
        tool_use(
            PREFIX + "spawn_agent",
            {"name": "worker", "profile": "shell", "cwd": str(fleet.project)},
        ),
        tool_use(PREFIX + "wait_for", {"names": ["worker"], "until": "idle", "timeout_s": 60}),
        # A message from an agent gets a header line; ";" makes the shell run the rest anyway.
        tool_use(
            PREFIX + "send_message", {"name": "worker", "message": "; echo steered-$((2*21))"}
        ),
        text("The worker is running."),
    )
    env.ok("send", "boss", "Start a worker and give it its task.")
    env.ok("wait", "boss", "--until", "idle", "--timeout", "180")

    # Claude Code 2.1.3xx defers MCP tools (ToolSearch) instead of listing them, but
    # runs a call of one all the same. Later turns may follow: the monitor tells the
    # manager when its child goes idle.
    turns = fleet.api.turn_requests()
    assert len(turns) >= 5, [tool_results(t.body) for t in turns]
    listed: dict[str, Any] = json.loads(_result(fleet, 1))
    assert [(a["name"], a["state"]) for a in listed["agents"]] == [("boss", "busy")]
    spawned: dict[str, Any] = json.loads(_result(fleet, 2))
    assert (spawned["name"], spawned["profile"], spawned["parent"]) == ("worker", "shell", "boss")
    assert json.loads(_result(fleet, 3)) == {"worker": "idle"}
    sent: dict[str, Any] = json.loads(_result(fleet, 4))
    assert (sent["to"], sent["status"]) == ("worker", "delivered")

    worker = env.json("status", "worker")
    assert worker["parent"] == "boss" and worker["state"] in ("idle", "busy")
    assert env.json("status", "boss")["children"] == ["worker"]
    message = env.fleet().store.get_message(sent["id"])
    assert message is not None and message.sender == "boss"
    retry_until(lambda: "steered-42" in env.ok("output", "worker"), message="the worker ran it")
