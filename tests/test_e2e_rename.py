"""A running Claude Code agent renamed: its process still says
TMUXORCH_AGENT=OLD, yet its hooks move the renamed agent's state and
auto-lock takes its locks under the new name (real Claude, fake API)."""

from __future__ import annotations

from tests.conftest import ClaudeFleet, Router
from tests.fakeapi import text, tool_use
from tests.helpers import retry_until


def _holder(fleet: ClaudeFleet, path: str) -> str | None:
    return next((row["holder"] for row in fleet.env.json("locks") if row["path"] == path), None)


def test_a_renamed_claude_agent_is_still_driven_by_its_hooks(claude_fleet: ClaudeFleet) -> None:
    fleet = claude_fleet
    # The fake API tells agents apart by the system prompt they started with.
    router = Router("c1")
    fleet.api.default = router
    fleet.spawn("c1", "--permission-mode", "acceptEdits")
    fleet.env.ok("rename", "c1", "c2")
    mark = len(fleet.env.ok("events", "--agent", "c2", "-n", "1000", "--json").splitlines())
    f = fleet.project / "f.txt"
    write = tool_use("Write", {"file_path": str(f), "content": "hi\n"})
    router.scripts["c1"].extend([write, text("Written.", delay=4)])
    fleet.env.ok("send", "c2", "write f")
    retry_until(lambda: _holder(fleet, str(f)) == "c2", timeout=60, message="c2 holds f")
    assert fleet.env.json("status", "c2")["state"] == "busy"
    fleet.env.ok("wait", "c2", "--until", "idle", "--timeout", "90")
    assert f.read_text() == "hi\n" and _holder(fleet, str(f)) is None  # its Stop freed it
    lines = fleet.env.ok("events", "--agent", "c2", "-n", "1000", "--json").splitlines()[mark:]
    assert '"hook:UserPromptSubmit"' in "".join(lines) and '"hook:Stop"' in "".join(lines)
    assert fleet.env.json("status", "c2")["state"] == "idle"
    assert "c1" not in {a["name"] for a in fleet.env.json("list")}
