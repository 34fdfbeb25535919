"""The fleet's hosts as the JSON contract shows them (``hosts --json``, the
MCP tool ``list_hosts``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Host, iso, now
from tmuxorch.fleet.lifecycle import Fleet


@frozen
class HostView:
    name: str
    # lost: another daemon decided so, or it has been silent for host.lost_after
    # (nobody was left to decide: a fleet of one host whose daemon is gone).
    state: str
    last_seen: float
    # How many of the fleet's agents are this host's (in any state).
    agents: int
    version: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "last_seen": iso(self.last_seen)}


def host_views(fleet: Fleet) -> list[HostView]:
    """Every host that ever heartbeat, by name."""
    counts = Counter(fleet.host if a.host == "" else a.host for a in fleet.store.list_agents())
    silent_since = now() - fleet.config.host.lost_after
    return [_view(host, counts[host.name], silent_since) for host in fleet.store.hosts()]


def _view(host: Host, agents: int, silent_since: float) -> HostView:
    lost = host.state == "lost" or host.last_seen < silent_since
    return HostView(host.name, "lost" if lost else "up", host.last_seen, agents, host.version)
