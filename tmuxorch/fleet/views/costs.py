"""Tokens and cost as the JSON contract shows them (``cost --json``,
``get_cost``), read from the agents' transcripts up to now."""

from __future__ import annotations

from typing import Any

from tmuxorch.claude import cost
from tmuxorch.claude.pricing import Cost
from tmuxorch.core.frozen import frozen
from tmuxorch.fleet.lifecycle import Fleet


@frozen
class AgentCostView:
    name: str
    turns: int
    cost: Cost

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "turns": self.turns, **self.cost.to_json()}


@frozen
class CostView:
    """Each agent's tokens and cost, and the total."""

    agents: list[AgentCostView]
    turns: int
    total: Cost

    def to_json(self) -> dict[str, Any]:
        return {
            "agents": [a.to_json() for a in self.agents],
            "total": {
                "turns": self.turns,
                "tokens": self.total.tokens.to_json(),
                "cost_usd": self.total.cost_usd,
                "unpriced_models": list(self.total.unpriced),
            },
        }


def cost_view(fleet: Fleet, name: str | None = None) -> CostView:
    """Agent ``name``'s cost, or every agent's (transcripts read up to now first)."""
    names = [fleet.agent(name).name] if name else [a.name for a in fleet.store.list_agents()]
    table = cost.pricing(fleet.config)
    rows: list[AgentCostView] = []
    total = Cost()
    for each in names:
        cost.refresh_agent(fleet.store, each, table)
        spent = cost.agent_cost(fleet.store, each, table)
        agent = fleet.store.get_agent(each)
        rows.append(AgentCostView(each, agent.turns if agent is not None else 0, spent))
        total = Cost(
            total.tokens + spent.tokens,
            total.cost_usd + spent.cost_usd,
            unpriced=tuple(sorted({*total.unpriced, *spent.unpriced})),
        )
    return CostView(rows, sum(r.turns for r in rows), total)


def history_view(fleet: Fleet, name: str) -> list[cost.TurnReport]:
    """Agent ``name``'s turns with their tokens and price (``history``,
    ``get_history``), its transcripts read up to now first."""
    fleet.agent(name)  # an unknown name is an error, not an empty history
    table = cost.pricing(fleet.config)
    cost.refresh_agent(fleet.store, name, table)
    return cost.history(fleet.store, name, table)
