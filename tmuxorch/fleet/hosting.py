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


def beat(fleet: Fleet, started: float) -> bool:
    """This host is up now; whether it had been called lost."""
    return fleet.store.heartbeat(fleet.host, __version__, os.getpid(), started)


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
