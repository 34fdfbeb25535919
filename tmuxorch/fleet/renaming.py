"""``rename OLD NEW`` and ``name NEW``: an agent's name changed everywhere.

The store's rows move in one transaction (``Store.rename_agent``); the pane
log, saved screen and Claude settings files and the tmux window are renamed
inside it, so a failure at any step undoes the ones before and a commit
that fails undoes them all. A ``refresh`` in another process (which marks an
agent whose window is not named after it as lost) waits on that transaction,
so it never sees the store and the window disagree.

The running process keeps ``TMUXORCH_AGENT=OLD`` in its environment: its
hooks, ``auto-lock`` and ``whoami`` find it by ``TMUXORCH_LAUNCH``
(tmuxorch.locks.keys.agent_name), and stray reaping counts its old names as
live while its window is (``Fleet.reap_strays``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from tmuxorch.core.errors import AgentError, TmuxError
from tmuxorch.core.records import Agent
from tmuxorch.fleet.launching import check_name
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.locks.keys import agent_name

logger = logging.getLogger(__name__)


def rename(fleet: Fleet, old: str, new: str) -> Agent:
    """Rename agent ``old`` to ``new``; AgentError, with nothing changed, for
    an invalid or taken ``new``, an unknown ``old``, or a delivery under way."""
    check_name(new)
    agent = fleet.agent(old)
    if fleet.store.get_agent(new) is not None:
        raise AgentError(f"an agent named {new!r} already exists")
    pane = fleet.pane(agent)
    if any(p.window_name == new and not p.dead for p in fleet.tmux.panes().values()):
        raise AgentError(f"a live tmux window named {new!r} already runs in this fleet's session")
    undo: list[Callable[[], None]] = []
    try:
        with fleet.store.transaction():
            fleet.store.rename_agent(old, new)
            for path in (fleet.log_path, fleet.screen_path, fleet.settings_path):
                _move(path(old), path(new), undo)
            if pane is not None:
                fleet.tmux.rename_window(pane.window_id, new)
                undo.append(lambda: fleet.tmux.rename_window(pane.window_id, old))
    except BaseException:
        for step in reversed(undo):
            try:
                step()
            except (OSError, TmuxError) as exc:  # the error that stopped us is the one to raise
                logger.warning("undoing the rename of %s to %s: %s", old, new, exc)
        raise
    return fleet.agent(new)


def _move(source: Path, target: Path, undo: list[Callable[[], None]]) -> None:
    """Move one of the agent's files, noting how to move it back. The pane log
    keeps its pipe: ``pipe-pane``'s cat writes to the open file, not the name."""
    try:
        os.rename(source, target)
    except FileNotFoundError:
        return  # never written (a shell's settings, a screen never saved)
    except OSError as exc:
        raise AgentError(f"cannot rename {source} to {target}: {exc.strerror or exc}") from None
    undo.append(lambda: os.rename(target, source))


def caller(fleet: Fleet, environ: Mapping[str, str]) -> str:
    """The agent whose pane runs us, by its name now."""
    name = agent_name(fleet.store, environ)
    if not name:
        raise AgentError("not inside an agent's pane (TMUXORCH_AGENT is not set)")
    return name
