"""This host among the fleet's hosts: its daemon's heartbeat, the loss of a
host gone silent (decided once, by whichever daemon sees it first), and what
this host's daemon takes back when it heartbeats again after being lost."""

from __future__ import annotations

import logging
import os

from tmuxorch import __version__
from tmuxorch.core.records import now
from tmuxorch.fleet import messaging
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.locks.acquisition import release_holder

logger = logging.getLogger(__name__)


def beat(fleet: Fleet, started: float) -> list[str]:
    """This host is up now. Had it been called lost while its agents ran on
    (its daemon cut off from the database), those whose windows live are
    theirs again: starting, until their screens or hooks say more. Their names."""
    if not fleet.store.heartbeat(fleet.host, __version__, os.getpid(), started):
        return []
    panes = fleet.tmux.panes()
    back = []
    for agent in fleet.store.list_agents():
        pane = fleet.own(agent, panes.get(agent.pane_id or ""))
        if fleet.mine(agent) and agent.ended_by == "lost" and pane is not None and not pane.dead:
            detail = f"host {fleet.host} back"
            if fleet.store.set_state(agent.name, "starting", detail, ended_by=None):
                back.append(agent.name)
    logger.warning("this host (%s) had been called lost: up again, %s running on",
                   fleet.host, back or "none")  # fmt: skip
    return back


def lose_silent(fleet: Fleet) -> list[str]:
    """Call lost every other host silent for ``host.lost_after``: its agents
    lost, their locks freed, their parents told. The hosts this call decided
    (another daemon may have decided one first: the store claims it once)."""
    cutoff = now() - fleet.config.host.lost_after
    decided = []
    for host in fleet.store.hosts():
        if host.name == fleet.host or host.state != "up" or host.last_seen >= cutoff:
            continue
        agents = fleet.store.lose_host(host.name, cutoff)
        if agents is None:
            continue  # another daemon decided, or it spoke since
        decided.append(host.name)
        logger.warning("host %s silent since %.0f s: lost, with %d agents", host.name,
                       now() - host.last_seen, len(agents))  # fmt: skip
        for name, previous in agents.items():
            release_holder(fleet.store, name)
            agent = fleet.store.get_agent(name)
            if agent is not None:
                messaging.notify_parent(fleet, agent, previous)
    return decided
