"""The monitor's ear on Claude's session files (``claude/sessionfile.py``):
the ``sessions`` directory of each config dir its Claude agents run with,
watched by watchdog (no polling); a dialog that opens or closes there moves
the agent's state as the session writer (``core.states``: hooks outrank it,
the screen fills in the question)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from tmuxorch.claude import configdir, sessionfile
from tmuxorch.claude.sessionfile import SessionFile
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent
from tmuxorch.core.states import SESSION
from tmuxorch.core.vocab import ENDED
from tmuxorch.daemon.wakeups import Events
from tmuxorch.store.interface import Store
from tmuxorch.store.notify import start_observer

logger = logging.getLogger(__name__)
# Writes, renames and removals; not the opens and reads (ours among them).
_CHANGES = ("created", "modified", "moved", "deleted", "closed")


class _Handler(FileSystemEventHandler):
    def __init__(self, events: Events) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES:
            return
        # Claude may write aside and rename: the file is where it went.
        path = str(getattr(event, "dest_path", "") or event.src_path)
        if sessionfile.pid_of(Path(path)) is not None:
            self.events.put(("session", path))


class SessionWatch:
    """Watches the session directories it is given; tells what a change says."""

    def __init__(self, events: Events) -> None:
        self.handler = _Handler(events)
        self.observer: Any = None
        self.dirs: set[Path] = set()
        # The last reading of each file: only a dialog opening or closing counts.
        self.seen: dict[Path, SessionFile] = {}

    def watch_agents(
        self, agents: Iterable[Agent], profile_of: Callable[[Agent], Profile | None]
    ) -> None:
        """Watch the session files of every live Claude agent's config dir:
        the environment its Claude sees (ours, its profile's, its own)."""
        dirs = []
        for agent in agents:
            profile = profile_of(agent)
            if agent.state not in ENDED and profile is not None and profile.hooks:
                dirs.append(configdir.of_agent(agent, profile) / "sessions")
        self.watch(dirs)

    def watch(self, dirs: Iterable[Path]) -> None:
        """Watch these too. One not there yet (Claude makes it at its first
        start) is left for the next call: the monitor calls again on each
        SessionStart. One that cannot be watched is logged and left to the
        hooks and the screen."""
        for directory in set(dirs) - self.dirs:
            if not directory.is_dir():
                continue
            try:
                if self.observer is None:
                    self.observer = start_observer(self.handler, directory)
                else:
                    self.observer.schedule(self.handler, str(directory), recursive=False)
            except OSError as exc:
                logger.warning("cannot watch Claude's session files in %s: %s", directory, exc)
                continue
            self.dirs.add(directory)

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()

    def changed(
        self, store: Store, path: Path, profile_of: Callable[[Agent], Profile | None]
    ) -> None:
        """The file at ``path`` changed: move its agent's state if a dialog
        opened or closed. A file of a dead process, or of a pid now another
        process's (``procStart``), or of no Claude agent of this fleet (its
        profile has hooks: one without asked for the screen alone), says nothing."""
        # Read before the file: a hook that moved the agent since wins (expect).
        agents = [a for a in store.list_agents() if a.state not in ENDED and _hooked(a, profile_of)]
        now = sessionfile.read(path)
        if now is None or not sessionfile.live(now):
            self.seen.pop(path, None)
            return
        before, self.seen[path] = self.seen.get(path), now
        agent = next((a for a in agents if _runs(a, now)), None)
        said = sessionfile.proposal(before, now)
        if agent is None or said is None:
            return
        state, detail = said
        store.set_state(
            agent.name, state, detail, data={"source": "session"}, expect=agent.state,
            writer=SESSION,
        )  # fmt: skip


def _hooked(agent: Agent, profile_of: Callable[[Agent], Profile | None]) -> bool:
    profile = profile_of(agent)
    return profile is not None and profile.hooks


def _runs(agent: Agent, session: SessionFile) -> bool:
    """Is ``session`` the agent's Claude: its pane's process, or its conversation?"""
    return agent.pid == session.pid or bool(
        session.session_id and agent.session_id == session.session_id
    )
