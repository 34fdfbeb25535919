"""What an agent is doing now (``what NAME``, ``what_is_agent_doing``): its task,
its last tool calls, its last response and the last lines of its screen."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.errors import AgentError
from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.lifecycle import Fleet


@frozen
class DoingView:
    name: str
    state: str
    detail: str
    task: str
    tools: list[str]
    last_response: str
    screen: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def doing_view(fleet: Fleet, name: str, *, tools: int = 5, lines: int = 5) -> DoingView:
    fleet.refresh()
    agent = fleet.agent(name)
    calls = fleet.store.events(agent=name, kind="hook:PreToolUse", limit=tools)
    try:
        screen = [line for line in control.output(fleet, name).split("\n") if line.strip()][-lines:]
    except AgentError:
        screen = []  # no window and no last screen
    return DoingView(
        name=name,
        state=agent.state,
        detail=agent.detail,
        task=agent.task or "",
        tools=[e.detail for e in calls],
        last_response=messaging.short(messaging.last_response(fleet, name), 1000),
        screen=screen,
    )
