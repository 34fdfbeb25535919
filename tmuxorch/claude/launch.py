"""Claude Code integration: the generated ``--settings`` file and start-up arguments.

tmuxorch never edits the user's Claude settings to run its own agents: each
agent is started with ``--settings HOME/claude/NAME.json``, which Claude
merges with the user's own. The hooks call the tmuxorch executable by
absolute path, so they work whatever PATH the agent ends up with.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from tmuxorch.claude.hooks import EVENTS as HOOK_EVENTS
from tmuxorch.core import private

# Tools whose file writes auto-lock serialises (Bash: the files its command names).
WRITE_TOOLS = "Write|Edit|MultiEdit|NotebookEdit|Bash"
_TOOL_EVENTS = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"
)  # fmt: skip


def executable() -> str:
    """The command line that runs this tmuxorch, as absolute as can be."""
    script = Path(sys.executable).with_name("tmuxorch")
    if script.exists():
        return shlex.quote(str(script))
    found = shutil.which("tmuxorch")
    if found:
        return shlex.quote(os.path.abspath(found))
    return f"{shlex.quote(sys.executable)} -m tmuxorch"


def status_line_command(executable: str, home: Path, socket: str) -> str:
    """The shell command the fleet's tmux status line runs (``executable`` is
    already shell-quoted, as :func:`executable` gives it)."""
    args = ["--home", str(home), "--socket", socket, "status-line"]
    return " ".join([executable, *map(shlex.quote, args)])


def hook_settings(command: str, *, lock_timeout: float = 60.0) -> dict[str, Any]:
    """Claude Code settings wiring every tmuxorch hook to ``command``.

    ``lock_timeout`` bounds the auto-lock hook: it may wait for a lock
    (``locks.wait``), so Claude's default hook timeout must not cut it short.
    """
    hooks: dict[str, list[dict[str, Any]]] = {}
    for event in HOOK_EVENTS:
        entry: dict[str, Any] = {
            "hooks": [{"type": "command", "command": f"{command} hook {event}"}]
        }
        # Tool events match on the tool's name; the others' matchers (a
        # notification's type, a compaction's trigger...) are left out: all.
        if event in _TOOL_EVENTS:
            entry["matcher"] = "*"
        hooks[event] = [entry]
    hooks["PreToolUse"].insert(
        0,
        {
            "matcher": WRITE_TOOLS,
            "hooks": [
                {
                    "type": "command",
                    "command": f"{command} auto-lock",
                    "timeout": int(lock_timeout) + 30,
                }
            ],
        },
    )
    return {"hooks": hooks}


def system_prompt(name: str, parent: str | None, header: str) -> str:
    """``header``: config's ``delivery.header``, the text put before other agents' messages."""
    lines = [
        f"You are agent {name!r} in a tmuxorch fleet: several coding agents, each in its own "
        "tmux window, coordinated by the `tmuxorch` command.",
    ]
    shown = header.format(sender="NAME").strip()
    if shown:
        lines.append(
            "Messages from other agents (relayed by tmuxorch: typed, or as another Claude "
            f"session's message) start with {shown} (NAME being the sender)."
        )
    lines += [
        "Run `tmuxorch --help` to see fleet commands (send, spawn, wait, list, locks).",
        "File writes are serialised across agents: if a write is denied because another agent "
        "holds the file's lock, do other work and retry later.",
    ]
    if parent:
        lines.append(
            f"Your parent agent is {parent!r}: report to it with `tmuxorch send {parent} "
            "'MESSAGE'` when you finish or need a decision."
        )
    return "\n".join(lines)


def teammate_args(argv: list[str]) -> list[str]:
    """Agent teams inside the agent's own pane: with teammate mode tmux (or
    auto, inside tmux) teammates split the window, and keys meant for the
    agent would go to whichever pane is active. ``argv`` choosing a mode
    (the profile's args) wins."""
    if any(a == "--teammate-mode" or a.startswith("--teammate-mode=") for a in argv):
        return []
    return ["--teammate-mode", "in-process"]


def start_env(permission_mode: str | None) -> dict[str, str]:
    """Variables Claude needs for a permission mode: it refuses bypassPermissions
    as root unless told it runs in a sandbox, and then dies at start-up."""
    return {"IS_SANDBOX": "1"} if permission_mode == "bypassPermissions" else {}


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    private.private_dir(path.parent)
    private.write_file(path, json.dumps(settings, indent=2).encode())


def start_args(
    *,
    settings_path: Path,
    name: str,
    parent: str | None,
    header: str,
    session_id: str | None = None,
    resume: str | None = None,
    fork: bool = False,
    extra: str | None = None,
) -> list[str]:
    """Arguments that make a Claude agent ours: hooks, its conversation (a new
    one with a known id, or ``--resume``/``--fork-session`` of one), its role
    and ``extra``, the text ``spawn --system-prompt`` adds to it (after
    tmuxorch's lines, in the one ``--append-system-prompt``)."""
    if resume:
        session = ["--resume", resume, *(["--fork-session"] if fork else [])]
    else:
        session = ["--session-id", session_id or ""]
    return [
        "--settings",
        str(settings_path),
        *session,
        "--append-system-prompt",
        system_prompt(name, parent, header) + (f"\n\n{extra}" if extra else ""),
    ]
