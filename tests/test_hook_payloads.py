"""The golden hook payloads of Claude Code 2.1.329 and 2.1.332 (tests/fixtures/hooks/,
recorded by its capture.py) through ``claude.hooks``: what each does to an
agent's state and what its event records. A new Claude version's payloads
go in a directory of their own and a table here, so a bump shows what changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from tests.helpers import apply_hook
from tmuxorch.claude.hooks import EVENTS

GOLDEN = Path(__file__).parent / "fixtures" / "hooks"
# Wired, but no 2.1.329 offline run fires them: only auto mode's server-side
# classifier denies a tool call; no offline session offers a task tool to complete
# (ToolSearch "select:TaskCreate,TaskUpdate" finds none, teams on).
NOT_OFFLINE = {"PermissionDenied", "TaskCompleted"}

_ASKED = "asker: Which colour should the logo be?"
_MISSING = "Read missing.txt failed: File does not exist. Note: your current working directory is"

# (payload file, the agent's state and detail before, after, and what its event
# records: state (None: it moved nothing), detail; ``{agent_id}`` is the payload's)
V2_1_329: list[tuple[str, tuple[str, str], tuple[str, str], tuple[Any, str]]] = [
    ("SessionStart", ("starting", ""), ("starting", ""), (None, "")),
    ("UserPromptSubmit", ("idle", ""), ("busy", ""), ("busy", "")),
    ("PreToolUse", ("busy", ""), ("busy", "Read missing.txt"), ("busy", "Read missing.txt")),
    ("PostToolUseFailure", ("busy", "Read missing.txt"), ("busy", "Read missing.txt"),
     (None, f"{_MISSING} /tmp/capture/proj.")),
    ("PermissionRequest", ("busy", ""), ("waiting", "Write new.txt"),
     ("waiting", "Write new.txt")),
    ("Notification.permission_prompt", ("waiting", "Do you want to create new.txt?"),
     ("waiting", "Do you want to create new.txt?"), ("waiting", "Claude needs your permission")),
    ("PostToolUse", ("waiting", "Write new.txt"), ("busy", ""), ("busy", "")),
    ("Elicitation", ("busy", "mcp__asker__ask"), ("waiting", _ASKED), ("waiting", _ASKED)),
    ("ElicitationResult", ("waiting", _ASKED), ("busy", ""), ("busy", "")),
    ("Notification.elicitation_response", ("busy", ""), ("busy", ""),
     (None, 'elicitation_response: Elicitation response for server "asker": cancel')),
    ("SubagentStart", ("busy", "Agent"), ("busy", "Agent"), (None, "general-purpose {agent_id}")),
    ("Stop", ("busy", ""), ("idle", ""), ("idle", "")),
    ("PreToolUse.subagent", ("idle", ""), ("idle", ""), (None, "Read new.txt")),
    ("PostToolUse.subagent", ("idle", ""), ("idle", ""), (None, "")),
    ("SubagentStop", ("idle", ""), ("idle", ""), (None, "general-purpose {agent_id}")),
    ("Notification.idle_prompt", ("busy", ""), ("idle", ""), ("idle", "")),
    ("TeammateIdle", ("idle", ""), ("idle", ""), (None, "helper idle")),
    ("PreCompact", ("idle", ""), ("busy", "compacting"), ("busy", "compacting")),
    ("PostCompact", ("busy", "compacting"), ("idle", ""), ("idle", "")),
    ("StopFailure", ("busy", ""), ("error", "API Error: 400 messages.0: scripted bad request"),
     ("error", "API Error: 400 messages.0: scripted bad request")),
    ("SessionEnd", ("idle", ""), ("exited", "session ended (prompt_input_exit)"),
     ("exited", "session ended (prompt_input_exit)")),
]  # fmt: skip


# 2.1.332's payloads carry the same fields and values (ids aside): the same table.
VERSIONS = {"2.1.329": V2_1_329, "2.1.332": V2_1_329}
CASES = [(version, *row) for version, rows in VERSIONS.items() for row in rows]


@pytest.mark.parametrize("version", list(VERSIONS))
def test_every_wired_event_has_a_golden_payload_and_a_row(version: str) -> None:
    files = {p.stem for p in (GOLDEN / version).glob("*.json")}
    assert {f.split(".")[0] for f in files} == set(EVENTS) - NOT_OFFLINE
    assert {row[0] for row in VERSIONS[version]} == files


@pytest.mark.parametrize(
    ("version", "stem", "before", "after", "recorded"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_golden_payload(
    env: Env,
    version: str,
    stem: str,
    before: tuple[str, str],
    after: tuple[str, str],
    recorded: tuple[Any, str],
) -> None:
    payload = json.loads((GOLDEN / version / f"{stem}.json").read_text())
    agent, event = apply_hook(env.home, before, payload["hook_event_name"], payload)
    assert (agent.state, agent.detail) == after
    assert agent.session_id == payload["session_id"]
    expected = (recorded[0], recorded[1].format(agent_id=payload.get("agent_id")))
    assert (event.event, event.state, event.detail) == (f"hook:{stem.split('.')[0]}", *expected)
