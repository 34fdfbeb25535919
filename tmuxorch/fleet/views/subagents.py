"""The sub-agents an agent runs now (Claude's Task/Agent tool), as ``status``
shows them under it: each SubagentStart since the agent's process started
with no SubagentStop of the same id yet."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Agent, Event, iso
from tmuxorch.core.states import LAUNCHES
from tmuxorch.core.vocab import ENDED
from tmuxorch.store.interface import Store


@frozen
class SubagentView:
    id: str
    type: str
    since: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "since": iso(self.since)}


def live_subagents(store: Store, agent: Agent) -> list[SubagentView]:
    """Oldest first; none once the agent's process has ended: its sub-agents
    ended with it, whether or not their SubagentStop fired."""
    if agent.state in ENDED:
        return []
    launch = last_launch(store, agent)
    after = launch.id if launch else 0
    stopped = {
        e.data.get("agent_id")
        for e in store.events(agent=agent.name, kind="hook:SubagentStop", after=after)
    }
    return [
        SubagentView(str(e.data["agent_id"]), str(e.data.get("agent_type") or ""), e.ts)
        for e in store.events(agent=agent.name, kind="hook:SubagentStart", after=after)
        if e.data.get("agent_id") and e.data["agent_id"] not in stopped and e.ts >= agent.created
    ]


def last_launch(store: Store, agent: Agent) -> Event | None:
    """The event that started the agent's current process (spawn, resume, fork)."""
    starts = [e for kind in LAUNCHES for e in store.events(agent=agent.name, kind=kind, limit=1)]
    return max(starts, key=lambda e: e.id, default=None)
