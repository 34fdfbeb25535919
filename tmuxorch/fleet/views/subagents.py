"""The sub-agents an agent runs now (Claude's Task/Agent tool), as ``status``
shows them under it: each SubagentStart since the agent's process started
with no SubagentStop of the same id yet."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Agent, iso
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
    starts = (store.events(agent=agent.name, kind=kind, limit=1) for kind in LAUNCHES)
    after = max((e.id for events in starts for e in events), default=0)
    stopped = {
        e.data.get("agent_id")
        for e in store.events(agent=agent.name, kind="hook:SubagentStop", after=after)
    }
    return [
        SubagentView(str(e.data["agent_id"]), str(e.data.get("agent_type") or ""), e.ts)
        for e in store.events(agent=agent.name, kind="hook:SubagentStart", after=after)
        if e.data.get("agent_id") and e.data["agent_id"] not in stopped and e.ts >= agent.created
    ]
