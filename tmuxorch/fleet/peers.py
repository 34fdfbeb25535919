"""The other agents, seen from one: whom a broadcast reaches, and who shares
its workspace (``others``, ``alone``)."""

from __future__ import annotations

from tmuxorch.core.errors import AgentError
from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.locks.keys import workspace_of


def broadcast_targets(fleet: Fleet, me: str | None, scope: str | None) -> list[str]:
    """Who a broadcast reaches: ``children`` of ``me``, or ``all`` live agents
    but ``me`` (default: children inside a pane, else all)."""
    scope = scope or ("children" if me else "all")
    if scope == "children" and not me:
        raise AgentError("--children needs a calling agent: run it inside an agent's pane")
    live = [a for a in fleet.agents() if a.state not in ENDED and a.name != me]
    targets = [a.name for a in live if scope == "all" or a.parent == me]
    if not targets:
        raise AgentError(f"no agents to send to ({scope})")
    return targets


def others(fleet: Fleet, me: str) -> list[Agent]:
    """Live agents other than ``me`` that share its workspace."""
    mine = workspace_of(fleet.agent(me).cwd)
    return [
        a
        for a in fleet.agents()
        if a.name != me and a.state not in ENDED and workspace_of(a.cwd) == mine
    ]
