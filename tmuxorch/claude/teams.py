"""Claude Code's agent teams (``CLAUDE_CODE_EXPERIMENTAL_AGENT_TEAMS=1``), as
its files show them (measured on 2.1.329): each lead session has one team,
``teams/<team>/config.json`` in its config dir (``leadSessionId``, and
``members``: the lead, ``team-lead``, then each teammate as it is spawned),
deleted when the lead exits; and one mailbox per member,
``teams/<team>/inboxes/<member>.json``, a JSON array that Claude takes
messages from (and empties) while the member runs. A message appended there
reaches the teammate as a turn, as its lead's own messages do.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tmuxorch.core.errors import AgentError
from tmuxorch.core.frozen import frozen

_LEAD_TYPE = "team-lead"
# Claude takes ``<inbox>.lock`` (a directory, proper-lockfile's way) around
# each change of a mailbox, and counts one older than this as stale.
_LOCK_STALE = 10.0
_LOCK_WAIT = 5.0


@frozen
class Team:
    name: str
    path: Path
    # The teammates' names, in the order they joined (the lead left out).
    members: tuple[str, ...]


def team_of(config_dir: Path, session_id: str | None) -> Team | None:
    """The team whose lead is the session ``session_id``, if it has one now."""
    if not session_id:
        return None
    try:
        folders = sorted((config_dir / "teams").iterdir())
    except OSError:
        return None
    for folder in folders:
        config = _read_json(folder / "config.json")
        if not isinstance(config, dict) or config.get("leadSessionId") != session_id:
            continue
        members = config.get("members")
        names = tuple(
            str(m["name"])
            for m in (members if isinstance(members, list) else [])
            if isinstance(m, dict) and m.get("name") and m.get("agentType") != _LEAD_TYPE
        )
        return Team(str(config.get("name") or folder.name), folder, names)
    return None


def post(team: Team, member: str, text: str, sender: str) -> None:
    """Append ``text`` from ``sender`` to ``member``'s mailbox, under Claude's
    own lock so that neither side's write loses the other's."""
    if member not in team.members:
        known = ", ".join(team.members) or "none yet"
        raise AgentError(f"no teammate {member!r} in team {team.name} (teammates: {known})")
    inbox = team.path / "inboxes" / f"{member}.json"
    entry = {
        "from": sender,
        "text": text,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "read": False,
    }
    lock = inbox.with_name(inbox.name + ".lock")
    _lock(lock)
    try:
        messages = _read_json(inbox)
        messages = messages if isinstance(messages, list) else []
        messages.append(entry)
        _write_atomic(inbox, json.dumps(messages, indent=2))
    finally:
        os.rmdir(lock)


def _lock(lock: Path) -> None:
    deadline = time.monotonic() + _LOCK_WAIT
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(lock)
            return
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > _LOCK_STALE:
                    os.rmdir(lock)  # its holder died holding it
                    continue
            except OSError:
                continue  # released meanwhile
        except OSError as exc:
            raise AgentError(f"cannot write to the teammate's mailbox: {exc}") from None
        if time.monotonic() > deadline:
            raise AgentError(f"the teammate's mailbox stays locked ({lock})")
        time.sleep(0.02)


def _write_atomic(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
