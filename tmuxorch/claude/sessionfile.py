"""Claude Code's own word on its session: ``$CLAUDE_CONFIG_DIR/sessions/<pid>.json``.

Claude (2.1.3xx) keeps this file while it runs, with ``status`` (``idle``,
``busy``, ``waiting``; ``shell`` when idle with a shell in the foreground),
``waitingFor`` while a dialog is up (``dialog open``, ``permission prompt``,
``input needed``), its ``sessionId``, ``pid`` and ``procStart``: the
process's start time in clock ticks, /proc/<pid>/stat's 22nd field (measured
on 2.1.329), so that a file left by a dead process, or naming a pid the
kernel gave to another, is told from a live one. Some dialogs fire no hook
at all (auto mode's "Do you want to proceed?" when its safety check cannot
run): this file is then the only signal besides the screen.
"""

from __future__ import annotations

import json
from pathlib import Path

from tmuxorch.core import procs
from tmuxorch.core.frozen import frozen
from tmuxorch.core.vocab import State

# The file's statuses that say something of the agent's state ("shell": idle
# with a foreground shell task, said by the screen and the hooks already).
_STATES: dict[str, State] = {"idle": "idle", "busy": "busy", "waiting": "waiting"}
# Session files are a few hundred bytes: a bigger one is not Claude's.
_MAX = 64 * 1024


@frozen
class SessionFile:
    """What tmuxorch reads of one ``sessions/<pid>.json``."""

    pid: int
    proc_start: int | None
    session_id: str
    status: str
    waiting_for: str


def read(path: Path) -> SessionFile | None:
    """The session file at ``path``; None when it is gone, half written or not Claude's."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(_MAX))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    start = data.get("procStart")
    return SessionFile(
        pid=data["pid"],
        proc_start=int(start) if isinstance(start, str) and start.isdigit() else None,
        session_id=str(data.get("sessionId") or ""),
        status=str(data.get("status") or ""),
        waiting_for=str(data.get("waitingFor") or ""),
    )


def live(session: SessionFile) -> bool:
    """Does the process that wrote it still run (the same one, not a reuse of its pid)?"""
    if session.proc_start is None:
        return False  # no way to tell a reused pid: not trusted
    return procs.alive(session.pid, session.proc_start)


def proposal(before: SessionFile | None, now: SessionFile) -> tuple[State, str] | None:
    """What a change of the file says of the agent: a dialog opened (waiting,
    with what it waits for) or the open one closed (the status it left).
    None when no dialog opened or closed: turns are the hooks' word, and a
    file read late must not undo what a hook said since."""
    state = _STATES.get(now.status)
    was_waiting = before is not None and before.status == "waiting"
    if state == "waiting" and (
        before is None or (before.status, before.waiting_for) != (now.status, now.waiting_for)
    ):
        return "waiting", now.waiting_for or "a dialog is open"
    if state is not None and state != "waiting" and was_waiting:
        return state, ""
    return None


def pid_of(path: Path) -> int | None:
    """``<pid>.json`` → pid (the ``<pid>.<hash>.key`` beside it is not a session file)."""
    stem, dot, suffix = path.name.partition(".")
    return int(stem) if suffix == "json" and dot and stem.isdigit() else None
