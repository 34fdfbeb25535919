"""What an agent is doing now (``what NAME``, ``what_is_agent_doing``): its task,
its last tool calls and the last that failed or were denied, its last
response and the last lines of its screen; with
``--summary``, also a small model's few sentences on it."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.errors import AgentError, SummaryError
from tmuxorch.core.frozen import asdict, field, frozen
from tmuxorch.core.vocab import EventKind
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.summary import summarise

_FAILURES: tuple[EventKind, ...] = ("hook:PostToolUseFailure", "hook:PermissionDenied")


@frozen
class DoingView:
    name: str
    state: str
    detail: str
    task: str
    tools: list[str]
    last_response: str
    screen: list[str]
    # Tool calls that failed or auto mode denied, newest last ("Read a.txt failed: ...").
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def doing_view(fleet: Fleet, name: str, *, tools: int = 5, lines: int = 5) -> DoingView:
    fleet.refresh()
    agent = fleet.agent(name)
    calls = fleet.store.events(agent=name, kind="hook:PreToolUse", limit=tools)
    failed = sorted(
        (e for kind in _FAILURES for e in fleet.store.events(agent=name, kind=kind, limit=tools)),
        key=lambda e: e.id,
    )[-tools:]
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
        failures=[e.detail for e in failed if e.ts >= agent.created],
        last_response=messaging.short(messaging.last_response(fleet, name), 1000),
        screen=screen,
    )


@frozen
class SummaryView:
    """``what --summary``: the factual view, and the small model's summary of it
    (or why there is none)."""

    doing: DoingView
    summary: str | None
    summary_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.doing.to_json(),
            "summary": self.summary,
            "summary_error": self.summary_error,
        }


def summary_view(fleet: Fleet, name: str) -> SummaryView:
    doing = doing_view(fleet, name)
    try:
        return SummaryView(doing, summarise(fleet, doing), None)
    except SummaryError as exc:
        return SummaryView(doing, None, str(exc))
