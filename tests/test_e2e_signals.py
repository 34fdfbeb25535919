"""Claude Code's newer hook events under tmuxorch, on the real binary offline
against the scripted fake API: a tool call that fails, a compaction, a
sub-agent, an MCP server's question (elicitation). Each test passes
``--permission-mode`` (2.1.329's default, auto mode, asks a classifier the
fake API cannot answer)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from tests.conftest import ClaudeFleet, Env, agent_requests
from tests.elicitserver import QUESTION
from tests.fakeapi import Response, from_subagent, subagent_call, text, tool_use
from tests.helpers import retry_until


def _events(env: Env, name: str, kind: str) -> list[dict[str, Any]]:
    lines = env.ok("events", "--json", "--agent", name, "-n", "500").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_a_failing_tool_call_is_an_event_and_shows_in_what(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "acceptEdits")
    missing = fleet.project / "missing.txt"
    fleet.api.enqueue(tool_use("Read", {"file_path": str(missing)}), text("It is not there."))
    env.ok("send", "c1", "read missing.txt")
    env.ok("wait", "c1", "--until", "idle", "--timeout", "90")
    (failed,) = _events(env, "c1", "hook:PostToolUseFailure")
    assert failed["detail"].startswith("Read missing.txt failed: ")
    assert failed["data"]["tool_name"] == "Read"
    doing = env.json("what", "c1")
    assert doing["failures"] == [failed["detail"]]
    assert f"failed or denied: {failed['detail']}" in env.ok("what", "c1")
    assert doing["state"] == "idle"


def test_compaction_is_busy_compacting_then_idle(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "acceptEdits")
    fleet.api.enqueue(text("Hello there."))
    env.ok("send", "c1", "say hello")
    env.ok("wait", "c1", "--until", "idle", "--timeout", "90")
    # The summarisation request is answered like any other: a short text.
    fleet.api.default = text("Summary: the user asked for a greeting and got one.")
    env.ok("send", "c1", "/compact")
    retry_until(
        lambda: _events(env, "c1", "hook:PostCompact"), timeout=120, message="compaction ends"
    )
    (pre,) = _events(env, "c1", "hook:PreCompact")
    (post,) = _events(env, "c1", "hook:PostCompact")
    assert (pre["state"], pre["detail"], pre["data"]["trigger"]) == ("busy", "compacting", "manual")
    assert (post["state"], post["data"]["trigger"]) == ("idle", "manual")
    status = env.json("status", "c1")
    assert (status["state"], status["detail"]) == ("idle", "")


def test_a_subagent_shows_under_its_agent_while_it_runs(claude_fleet: ClaudeFleet) -> None:
    """2.1.329 runs an Agent call in the background: the lead's turn ends
    (idle, its composer free) while the sub-agent works, and ``status``
    lists it until its SubagentStop. The sub-agent's tool calls fire the
    lead's hooks (with its ``agent_id``): recorded, they leave the lead idle."""
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "bypassPermissions")
    lead_idle, release = threading.Event(), threading.Event()
    missing = fleet.project / "missing.txt"
    steps: list[dict[str, Any]] = []

    def answer(body: dict[str, Any]) -> Response:
        if not from_subagent(body):
            return text("Lead done.")
        if not steps:  # the sub-agent's first step, once the lead is idle
            steps.append(body)
            lead_idle.wait(120)
            return tool_use("Read", {"file_path": str(missing)})
        release.wait(120)  # held until the test has seen it live in `status`
        return text("SUB-DONE: hi")

    fleet.api.default = answer
    fleet.api.enqueue(subagent_call("say hi"))
    env.ok("send", "c1", "use a helper")
    try:
        env.ok("wait", "c1", "--until", "idle", "--timeout", "90")
        lead_idle.set()
        retry_until(
            lambda: _events(env, "c1", "hook:PostToolUseFailure"),
            timeout=90, message="the sub-agent's Read fails",
        )  # fmt: skip
        status = env.json("status", "c1")
        (sub,) = status["subagents"]
        assert sub["type"] == "general-purpose" and sub["id"]
        assert (status["state"], status["detail"]) == ("idle", "")
        assert f"general-purpose {sub['id']} since" in env.ok("status", "c1")
        (read,) = _events(env, "c1", "hook:PreToolUse")[-1:]
        assert (read["detail"], read["state"], read["data"]["agent_id"]) == (
            "Read missing.txt", None, sub["id"],
        )  # fmt: skip
    finally:
        lead_idle.set()
        release.set()
    retry_until(
        lambda: _events(env, "c1", "hook:SubagentStop"), timeout=90, message="the sub-agent stops"
    )
    assert env.json("status", "c1")["subagents"] == []
    (start,) = _events(env, "c1", "hook:SubagentStart")
    (stop,) = _events(env, "c1", "hook:SubagentStop")
    assert start["data"]["agent_id"] == stop["data"]["agent_id"] == sub["id"]
    # The tool's name in 2.1.329's request: Agent (Task in older versions).
    tools = [t["name"] for t in agent_requests(fleet.api, "c1")[0]["tools"]]
    assert "Agent" in tools


def _asker(fleet: ClaudeFleet) -> None:
    """The project's MCP server ``asker`` (tests/elicitserver.py), approved and
    its tool allowed, as a user would set it up."""
    server = Path(__file__).with_name("elicitserver.py")
    mcp = {"mcpServers": {"asker": {"command": sys.executable, "args": [str(server)]}}}
    (fleet.project / ".mcp.json").write_text(json.dumps(mcp))
    settings = fleet.project / ".claude"
    settings.mkdir()
    (settings / "settings.local.json").write_text(json.dumps({"enabledMcpjsonServers": ["asker"]}))
    (settings / "settings.json").write_text(json.dumps({"permissions": {"allow": ["mcp__asker"]}}))


def test_an_elicitation_is_waiting_with_its_question(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    _asker(fleet)
    fleet.spawn("c1", "--permission-mode", "acceptEdits")
    fleet.api.enqueue(tool_use("mcp__asker__ask", {}), text("Asked."))
    env.ok("send", "c1", "ask me")
    env.ok("wait", "c1", "--until", "waiting", "--timeout", "90")
    status = env.json("status", "c1")
    assert status["detail"] == f"asker: {QUESTION}"
    (asked,) = _events(env, "c1", "hook:Elicitation")
    assert (asked["state"], asked["data"]["mcp_server_name"]) == ("waiting", "asker")
    # Claude's own notice of the dialog comes seconds later: the question stays.
    retry_until(
        lambda: [
            e for e in _events(env, "c1", "hook:Notification")
            if e["data"].get("notification_type") == "elicitation_dialog"
        ],
        timeout=60, message="the elicitation_dialog notification",
    )  # fmt: skip
    assert env.json("status", "c1")["detail"] == f"asker: {QUESTION}"
    env.ok("deny", "c1")  # Esc: the person declines to answer
    env.ok("wait", "c1", "--until", "idle", "--timeout", "90")
    (answered,) = _events(env, "c1", "hook:ElicitationResult")
    assert answered["data"]["action"] in ("cancel", "decline")
