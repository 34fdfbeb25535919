"""Claude Code hook entry points (``tmuxorch hook EVENT``, ``tmuxorch auto-lock``).

They run on Claude's hot path: stdlib and the store only, never click,
libtmux or watchdog. With no fleet to talk to they exit 0 silently, so a
hook never breaks a Claude session that tmuxorch does not manage. Each event
is written to the store; that write is what wakes the monitor.
"""

from __future__ import annotations

import json
import os
import sys

from tmuxorch.core import states, storeurl
from tmuxorch.core.vocab import HOOK_KINDS, hook_kind

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.core.vocab import State, Writer

# The hooks tmuxorch takes: SessionStart, UserPromptSubmit, ...
EVENTS = tuple(kind.removeprefix("hook:") for kind in HOOK_KINDS)
# Events after which the turn is over and its locks are free.
_TURN_ENDS = ("Stop", "StopFailure", "SessionEnd")
# Claude's notification types that mean "a person must answer".
_WAITING_NOTIFICATIONS = (
    "permission_prompt",
    "elicitation_dialog",
    "elicitation_url_dialog",
    "agent_needs_input",  # auto mode could not check a call and asks (2.1.3xx)
    "worker_permission_prompt",
)
# What a compaction's end leaves: /compact runs between turns, an automatic
# one inside a turn that goes on (PostCompact's ``trigger``).
_AFTER_COMPACT: dict[str, State] = {"manual": "idle", "auto": "busy"}
_DETAIL_MAX = 200
# Characters of a prompt its event keeps (delivery through the inbox compares them).
PROMPT_KEPT = 65536
# Hook payloads can carry whole files (Write's content): read a bounded amount.
_STDIN_MAX = 64 * 1024 * 1024


def _short(text: str, limit: int = _DETAIL_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_detail(payload: dict[str, Any]) -> str:
    """``Write a.txt`` / ``Bash ls -la``: what a tool call is about, in a few words."""
    tool = str(payload.get("tool_name") or "tool")
    tool_input = payload.get("tool_input")
    target = ""
    if isinstance(tool_input, dict):
        for key in ("file_path", "notebook_path", "command", "pattern", "url", "path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                target = os.path.basename(value.rstrip("/")) if key.endswith("_path") else value
                break
    return _short(f"{tool} {target}".strip(), 120)


def home_from_env() -> str | None:
    """The fleet home, cheaply: the env var every tmuxorch pane has, the
    default when no config file exists, else what config says."""
    from tmuxorch.core.paths import quick_home

    home = quick_home()
    if home is not None:
        return home
    from tmuxorch.core.config import resolve
    from tmuxorch.core.errors import TmuxorchError

    try:
        return str(resolve().home)
    except TmuxorchError:
        return None


def read_payload(stream: Any) -> dict[str, Any]:
    raw = stream.buffer.read(_STDIN_MAX) if hasattr(stream, "buffer") else stream.read()
    if not raw:
        raise ValueError("empty hook input on stdin")
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise ValueError("hook input is JSON nested too deeply to read") from None
    if not isinstance(payload, dict):
        raise ValueError("hook input is not a JSON object")
    return payload


def apply(store: Any, name: str, event: str, payload: dict[str, Any]) -> None:
    """Record one hook event against agent ``name`` and move its state."""
    hook = hook_kind(event)
    if hook is None:
        raise ValueError(f"not a hook tmuxorch takes: {event!r}")
    fields: dict[str, Any] = {}
    session_id = payload.get("session_id")
    if isinstance(session_id, str) and session_id:
        fields["session_id"] = session_id
    transcript = payload.get("transcript_path")
    if isinstance(transcript, str) and transcript:
        fields["transcript_path"] = transcript
    data: dict[str, Any] = {"hook": event}
    for key in (
        "source", "reason", "notification_type", "tool_name", "error", "stop_reason",
        "trigger", "agent_id", "agent_type", "mcp_server_name", "action",
        "teammate_name", "team_name", "task_id", "task_subject",
    ):  # fmt: skip
        if isinstance(payload.get(key), str):
            data[key] = payload[key]
    state: State | None = None
    detail = ""
    writer: Writer = states.HOOK
    if event == "SessionStart":
        if payload.get("source") == "clear":
            state = "idle"
    elif event == "UserPromptSubmit":
        prompt = str(payload.get("prompt") or "")
        data["prompt"] = prompt[:PROMPT_KEPT]
        state = "busy"
        fields["task"] = _short(prompt, 500)
    elif event in ("PreToolUse", "PostToolUse"):
        detail = tool_detail(payload) if event == "PreToolUse" else ""
        # A sub-agent's call (its ``agent_id``) says nothing of the agent's own
        # turn: a background one works on after the agent's Stop.
        state = None if payload.get("agent_id") else "busy"
    elif event in ("PostToolUseFailure", "PermissionDenied"):
        # The turn goes on (the model is told): an event for `what`, no new state.
        why = payload.get("error") if event == "PostToolUseFailure" else payload.get("reason")
        verb = "failed" if event == "PostToolUseFailure" else "denied"
        detail = _short(f"{tool_detail(payload)} {verb}: {why or 'no reason given'}")
    elif event in ("SubagentStart", "SubagentStop"):
        # The agent stays in its own turn; `status` lists the live sub-agents.
        detail = _short(f"{payload.get('agent_type') or 'agent'} {payload.get('agent_id') or ''}")
        if event == "SubagentStop":
            data["last"] = str(payload.get("last_assistant_message") or "")[:8192]
    elif event == "TeammateIdle":
        # The lead's own state stands; `status` lists its teammates and theirs.
        detail = _short(f"{payload.get('teammate_name') or 'teammate'} idle")
    elif event == "TaskCompleted":
        who = payload.get("teammate_name")
        detail = _short(f"task done: {payload.get('task_subject') or payload.get('task_id')}")
        detail += f" ({who})" if who else ""
    elif event == "PreCompact":
        state, detail = "busy", "compacting"
    elif event == "PostCompact":
        state = _AFTER_COMPACT.get(str(payload.get("trigger")), "busy")
    elif event == "Elicitation":
        question = payload.get("message") or payload.get("url") or "a question"
        state, detail = "waiting", _short(f"{payload.get('mcp_server_name') or 'MCP'}: {question}")
    elif event == "ElicitationResult":
        state = "busy"  # answered: the tool call that asked goes on
    elif event == "PermissionRequest":
        # Fires as the dialog opens (Notification comes seconds later); the
        # monitor replaces this detail with the dialog's own question.
        state, detail = "waiting", tool_detail(payload)
    elif event == "Notification":
        message = _short(str(payload.get("message") or ""))
        data["message"] = message
        kind = payload.get("notification_type")
        if kind in _WAITING_NOTIFICATIONS or (kind is None and "permission" in message):
            state, detail, writer = "waiting", message, states.NOTICE
        elif kind == "idle_prompt":
            state, writer = "idle", states.NOTICE
        else:  # says nothing of the state: its event keeps what it was
            detail = _short(f"{kind or 'notification'}: {message}")
    elif event == "Stop":
        state = "idle"
        data["last"] = str(payload.get("last_assistant_message") or "")[:8192]
    elif event == "StopFailure":
        state = "error"
        # "error" is often just "unknown"; the last message holds the banner.
        reason = payload.get("last_assistant_message") or payload.get("error")
        detail = _short(str(reason or "the turn failed"))
    elif event == "SessionEnd" and payload.get("reason") != "clear":
        state, detail = "exited", _short(f"session ended ({payload.get('reason') or 'exit'})")
    store.hook_event(name, hook, state, detail, data, fields, writer)


def hook_main(args: list[str]) -> int:
    """Always exit 0 with at most one line on stderr: a hook never breaks
    Claude's session, nor fills its transcript with a traceback."""
    if len(args) != 1 or args[0] not in EVENTS:
        sys.stderr.write(f"tmuxorch hook: expected one of {', '.join(EVENTS)}\n")
        return 0
    event = args[0]
    try:
        payload = read_payload(sys.stdin)
    except (ValueError, OSError, MemoryError) as exc:
        sys.stderr.write(f"tmuxorch hook {event}: bad input: {exc}\n")
        return 0
    from tmuxorch.core.errors import TmuxorchError

    try:
        _record(event, payload)
    except TmuxorchError as exc:
        sys.stderr.write(f"tmuxorch hook {event}: {exc}\n")
    except Exception as exc:
        sys.stderr.write(f"tmuxorch hook {event}: internal error: {type(exc).__name__}: {exc}\n")
    return 0


def _record(event: str, payload: dict[str, Any]) -> None:
    name = os.environ.get("TMUXORCH_AGENT")
    if not name and event not in _TURN_ENDS:
        return  # a session we don't manage: only turn ends (lock release) concern us
    home = home_from_env()
    if home is None or not storeurl.state_present(home):
        return  # no fleet: never get in Claude's way
    from tmuxorch.locks.keys import agent_name
    from tmuxorch.store.opening import open_store

    with open_store(home, create=False) as store:
        name = agent_name(store, os.environ)  # renamed since its process started?
        if name and event == "SessionEnd" and _stale(store.get_agent(name)):
            return  # an old process's ending: the agent runs again in a new one
        if name:
            apply(store, name, event, payload)
        if event in _TURN_ENDS:
            _release_locks(store, name, payload)


def _stale(agent: Any) -> bool:
    """Does this hook come from a process the agent no longer runs? Each start
    of an agent gives its process a new ``TMUXORCH_LAUNCH``: a Claude killed
    with its tmux server can fire SessionEnd after ``up`` has started the agent
    again, and must not end the new one."""
    mine = os.environ.get("TMUXORCH_LAUNCH")
    current = (getattr(agent, "spec", None) or {}).get("launch")
    return bool(mine and current and mine != current)


def _release_locks(store: Any, name: str | None, payload: dict[str, Any]) -> None:
    """A turn that ended holds no file locks: agents and hand-started sessions alike."""
    from tmuxorch.locks.acquisition import release_holder
    from tmuxorch.locks.keys import hook_holder

    session_id = payload.get("session_id")
    holder = hook_holder(os.environ, session_id if isinstance(session_id, str) else None, name)
    if holder is not None:
        release_holder(store, holder.key)
