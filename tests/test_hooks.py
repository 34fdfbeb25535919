"""``tmuxorch hook EVENT``: the hot-path entry point every Claude hook runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from tests.helpers import agent_row, apply_hook
from tests.test_states import IDLE_NOTICE
from tmuxorch.claude.hooks import apply, tool_detail
from tmuxorch.fleet.views.subagents import live_subagents
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "claude" / "2.1.329" / "hooks"


def run_hook(
    env: Env, event: str, data: bytes, agent: str | None = "a"
) -> subprocess.CompletedProcess[str]:
    environ = env.environ
    if agent:
        environ["TMUXORCH_AGENT"] = agent
    return subprocess.run(
        [sys.executable, "-m", "tmuxorch", "hook", event], input=data.decode(errors="replace"),
        env=environ, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.fixture
def agent_store(env: Env) -> Store:
    store = open_store(env.home)
    store.insert_agent(agent_row("a", profile="claude"))
    return store


# The real payloads Claude Code 2.1.329 sent, and the state each one means.
REAL = [
    ("UserPromptSubmit", "busy", ""),
    ("PreToolUse", "busy", "Write new.txt"),
    ("PermissionRequest", "waiting", "Write new.txt"),
    ("Notification", "waiting", "Claude needs your permission"),
    ("PostToolUse", "busy", ""),
    ("Stop", "idle", ""),
    ("StopFailure", "error", "API Error: 400"),
    ("SessionEnd", "exited", "session ended (other)"),
]


@pytest.mark.parametrize(("event", "state", "detail"), REAL, ids=[r[0] for r in REAL])
def test_real_payloads_move_state(
    env: Env, agent_store: Store, event: str, state: str, detail: str
) -> None:
    payload = (FIXTURES / f"{event}.json").read_bytes()
    proc = run_hook(env, event, payload)
    assert proc.returncode == 0 and proc.stderr == ""
    agent = agent_store.get_agent("a")
    assert agent is not None and agent.state == state and detail in agent.detail
    assert agent.session_id == json.loads(payload)["session_id"]


BAD = [
    ("empty", b""),
    ("truncated", b'{"session_id": '),
    ("not-an-object", b"[1, 2]"),
    ("binary", b"\xff\xfe\x00"),
]


@pytest.mark.parametrize("data", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_and_never_breaks_claude(
    env: Env, agent_store: Store, data: bytes
) -> None:
    proc = run_hook(env, "Stop", data)
    assert proc.returncode == 0
    assert proc.stderr.count("\n") == 1 and "bad input" in proc.stderr
    assert "Traceback" not in proc.stderr
    agent = agent_store.get_agent("a")
    assert agent is not None and agent.state == "idle"  # nothing half-applied


def test_unknown_event_and_no_fleet_exit_zero(env: Env) -> None:
    proc = run_hook(env, "Bogus", b"{}")
    assert proc.returncode == 0 and "expected one of" in proc.stderr
    # No fleet at all (home without a database): silent.
    proc = run_hook(env, "Stop", b"{}", agent=None)
    assert proc.returncode == 0 and proc.stderr == ""


def test_huge_prompt_is_bounded(env: Env, agent_store: Store) -> None:
    prompt = "x" * 5_000_000
    proc = run_hook(env, "UserPromptSubmit", json.dumps({"prompt": prompt}).encode())
    assert proc.returncode == 0
    agent = agent_store.get_agent("a")
    assert agent is not None and agent.state == "busy" and len(agent.task or "") <= 500


def test_hook_path_imports_nothing_heavy(env: Env) -> None:
    code = (
        "import sys, io; sys.stdin = io.TextIOWrapper(io.BytesIO(b'{}'));"
        "from tmuxorch.entry import main; main(['hook', 'Stop']);"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'click', 'libtmux', 'watchdog', 'yaml', 'rich', 'typing'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**env.environ, "TMUXORCH_AGENT": "a"},
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_hand_started_session_with_no_config_file_reads_no_config(tmp_path: Path) -> None:
    """Outside a fleet's panes (no TMUXORCH_HOME), with no config.yaml, the
    default home is used without loading the config machinery."""
    code = (
        "import sys, io; sys.stdin = io.TextIOWrapper(io.BytesIO(b'{}'));"
        "from tmuxorch.entry import main; main(['hook', 'Stop']);"
        "print(sorted(m for m in sys.modules if m in ('tmuxorch.core.config', 'typing', 'yaml')))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TMUXORCH_", "XDG_"))}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**environ, "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_removed_agent_is_ignored(env: Env) -> None:
    with open_store(env.home) as store:
        apply(store, "ghost", "Stop", {})
        assert store.events(agent="ghost") == []


DETAILS = [
    ("write", {"tool_name": "Write", "tool_input": {"file_path": "/x/y/a.txt"}}, "Write a.txt"),
    ("bash", {"tool_name": "Bash", "tool_input": {"command": "ls  -la\n/tmp"}}, "Bash ls -la /tmp"),
    ("no-input", {"tool_name": "Read"}, "Read"),
    ("bad-input", {"tool_name": "Edit", "tool_input": "oops"}, "Edit"),
]


@pytest.mark.parametrize(
    ("payload", "detail"), [d[1:] for d in DETAILS], ids=[d[0] for d in DETAILS]
)
def test_tool_detail(payload: dict[str, object], detail: str) -> None:
    assert tool_detail(payload) == detail


STALE = [
    ("from-this-start", "now", "exited"),
    ("from-a-previous-start", "before", "idle"),
]


@pytest.mark.parametrize(("launch", "state"), [r[1:] for r in STALE], ids=[r[0] for r in STALE])
def test_session_end_of_an_old_process_does_not_end_the_agent(
    env: Env, launch: str, state: str
) -> None:
    """After ``up``, a Claude killed with the old server may still fire its
    SessionEnd: only the agent's current start (its TMUXORCH_LAUNCH) ends it."""
    store = open_store(env.home)
    store.insert_agent(agent_row("a", profile="claude", spec={"launch": "now"}))
    environ = {**env.environ, "TMUXORCH_AGENT": "a", "TMUXORCH_LAUNCH": launch}
    payload = (FIXTURES / "SessionEnd.json").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "hook", "SessionEnd"], input=payload,
        env=environ, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == b""
    agent = store.get_agent("a")
    assert agent is not None and agent.state == state


_FAILED_READ = {
    "tool_name": "Read", "tool_input": {"file_path": "/p/missing.txt"},
    "error": "File does not exist.",
}  # fmt: skip
_ASKED = {"mcp_server_name": "asker", "message": "Which colour?", "mode": "form"}

# (id, event, payload, the agent's state and detail before, its state and
# detail after, what its event row records: state, detail)
_Pair = tuple[Any, str]
APPLIED: list[tuple[str, str, dict[str, Any], _Pair, _Pair, _Pair]] = [
    ("compacting is busy", "PreCompact", {"trigger": "manual"}, ("idle", ""),
     ("busy", "compacting"), ("busy", "compacting")),
    ("/compact's end is idle", "PostCompact", {"trigger": "manual"}, ("busy", "compacting"),
     ("idle", ""), ("idle", "")),
    ("an automatic compaction's end goes on with the turn", "PostCompact", {"trigger": "auto"},
     ("busy", "compacting"), ("busy", ""), ("busy", "")),
    ("a failed tool call is recorded, the turn goes on", "PostToolUseFailure", _FAILED_READ,
     ("busy", "Read missing.txt"), ("busy", "Read missing.txt"),
     (None, "Read missing.txt failed: File does not exist.")),
    ("a denied tool call is recorded, the turn goes on", "PermissionDenied",
     {"tool_name": "Bash", "tool_input": {"command": "rm -rf /"}, "reason": "destructive"},
     ("busy", "Bash rm -rf /"), ("busy", "Bash rm -rf /"),
     (None, "Bash rm -rf / denied: destructive")),
    ("a sub-agent starts under a busy agent", "SubagentStart",
     {"agent_id": "a1b2", "agent_type": "general-purpose"}, ("busy", "Agent"),
     ("busy", "Agent"), (None, "general-purpose a1b2")),
    ("a background sub-agent's tool call leaves its idle agent idle", "PreToolUse",
     {**_FAILED_READ, "agent_id": "a1b2", "agent_type": "Explore"}, ("idle", ""), ("idle", ""),
     (None, "Read missing.txt")),
    ("a sub-agent's call ending leaves the agent's detail", "PostToolUse",
     {**_FAILED_READ, "agent_id": "a1b2"}, ("busy", "Bash ls"), ("busy", "Bash ls"), (None, "")),
    ("a sub-agent stops", "SubagentStop", {"agent_id": "a1b2", "agent_type": ""},
     ("busy", ""), ("busy", ""), (None, "agent a1b2")),
    ("an elicitation waits with its question", "Elicitation", _ASKED, ("busy", "mcp__asker__ask"),
     ("waiting", "asker: Which colour?"), ("waiting", "asker: Which colour?")),
    ("an answered elicitation goes on", "ElicitationResult",
     {"mcp_server_name": "asker", "action": "accept"}, ("waiting", "asker: Which colour?"),
     ("busy", ""), ("busy", "")),
    ("the idle notice does not close an elicitation", "Notification", IDLE_NOTICE,
     ("waiting", "asker: Which colour?"), ("waiting", "asker: Which colour?"), (None, "")),
    ("the idle notice does not undo an error", "Notification", IDLE_NOTICE,
     ("error", "API Error: 400"), ("error", "API Error: 400"), (None, "")),
    ("auto mode asking is waiting", "Notification",
     {"notification_type": "agent_needs_input", "message": "Auto mode needs your choice"},
     ("busy", ""), ("waiting", "Auto mode needs your choice"),
     ("waiting", "Auto mode needs your choice")),
    ("a teammate's task done is recorded, the lead's state stands", "TaskCompleted",
     {"task_id": "3", "task_subject": "Write the tests", "teammate_name": "helper"},
     ("busy", "Bash ls"), ("busy", "Bash ls"), (None, "task done: Write the tests (helper)")),
    ("a notification of no state keeps its type", "Notification",
     {"notification_type": "auth_success", "message": "Logged in"}, ("idle", ""), ("idle", ""),
     (None, "auth_success: Logged in")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "payload", "before", "after", "recorded"),
    [a[1:] for a in APPLIED],
    ids=[a[0] for a in APPLIED],
)
def test_apply(
    env: Env,
    event: str,
    payload: dict[str, Any],
    before: tuple[str, str],
    after: tuple[str, str],
    recorded: tuple[Any, str],
) -> None:
    agent, row = apply_hook(env.home, before, event, payload)
    assert (agent.state, agent.detail) == after
    assert (row.event, row.state, row.detail) == (f"hook:{event}", *recorded)
    kind = payload.get("notification_type") or payload.get("trigger")
    assert row.data.get("notification_type", row.data.get("trigger")) == kind


def test_status_shows_the_live_subagents_of_this_process(env: Env) -> None:
    """Started, not stopped, since the agent's last start: a stop without a
    start (Claude's /compact fires one) and a previous process's are not."""
    with open_store(env.home) as store:
        store.insert_agent(agent_row("a", profile="claude", state="busy"))
        apply(store, "a", "SubagentStart", {"agent_id": "old", "agent_type": "Explore"})
        store.set_state("a", "starting", "claude", event="resumed")
        for event, agent_id in [("Start", "s1"), ("Start", "s2"), ("Stop", "s1"), ("Stop", "c")]:
            apply(store, "a", f"Subagent{event}", {"agent_id": agent_id, "agent_type": "Plan"})
        agent = store.get_agent("a")
        assert agent is not None
        assert [(s.id, s.type) for s in live_subagents(store, agent)] == [("s2", "Plan")]
        apply(store, "a", "SessionEnd", {"reason": "other"})
        agent = store.get_agent("a")
        assert agent is not None and live_subagents(store, agent) == []
