"""What the MCP tools share: their parameter types (the descriptions are what
the model reads) and the agent object most of them return."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from tmuxorch.core import vocab
from tmuxorch.core.records import Agent
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views import agents as views

AgentName = Annotated[str, Field(description="The agent's name, as shown by list_agents.")]
if TYPE_CHECKING:
    from tmuxorch.core.vocab import Mode as Mode
    from tmuxorch.core.vocab import Until as Until
else:  # pydantic reads the tools' signatures: typing's Literal of the same words
    Mode, Until = Literal[vocab.MODES], Literal[vocab.UNTILS]
Preset = Literal["read-only", "review", "edit", "full", "plan"]
MaxCost = Annotated[float | None, Field(description="Stop when the task has cost this (USD).")]
MaxTurns = Annotated[
    int | None,
    Field(description="Stop after this many model steps (a prompt's, one after each tool call)."),
]
TimeoutS = Annotated[float | None, Field(description="Stop after this many seconds.")]
NoSafety = Annotated[
    bool, Field(description="No caps from the fleet's config (caps given here still hold).")
]


def shown(fleet: Fleet, agent: Agent | str) -> dict[str, Any]:
    """The agent object of the JSON contract, for an agent or its name."""
    return views.of(fleet, fleet.agent(agent) if isinstance(agent, str) else agent).to_json()
