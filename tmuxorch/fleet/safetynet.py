"""The safety net's limits and violations as data: the caps an agent runs under,
the breaches its counters make, its work time, and the ``violation`` events
that record them. Pure readers and one writer over the store, below the
fleet so its views and ``delegate`` can use them; the monitor's enforcer
(:mod:`tmuxorch.daemon.safety`) builds on them."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.config import Config
from tmuxorch.core.frozen import frozen
from tmuxorch.core.records import Agent, Event
from tmuxorch.core.vocab import EventKind, State
from tmuxorch.store.interface import Store

LIMITS = ("max_cost", "max_turns", "max_duration")
VIOLATION: EventKind = "violation"
# A model step starts with a prompt (UserPromptSubmit) or after a tool call
# (PreToolUse): each is one more request to the model.
STEP_EVENTS: tuple[EventKind, ...] = ("hook:UserPromptSubmit", "hook:PreToolUse")
# States that count as work for max_duration.
WORK_STATES: tuple[State, ...] = ("busy", "waiting")


@frozen
class Limits:
    max_cost: float | None = None
    max_turns: int | None = None
    max_duration: float | None = None
    on_breach: str = "interrupt"

    @classmethod
    def of(cls, config: Config, spec: dict[str, Any]) -> Limits:
        """The config's limits with the agent's own (spawn flags) over them."""
        own = spec.get("limits")
        own = own if isinstance(own, dict) else {}
        values = {
            key: own[key] if own.get(key) is not None else getattr(config.limits, key)
            for key in LIMITS
        }
        return cls(**values, on_breach=config.limits.on_breach)

    @property
    def any(self) -> bool:
        return any(getattr(self, key) is not None for key in LIMITS)

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (*LIMITS, "on_breach")}


@frozen
class Breach:
    limit: str
    value: float
    cap: float

    @property
    def detail(self) -> str:
        if self.limit == "max_cost":
            return f"max_cost: spent ${self.value:.4f} of ${self.cap:.4f}"
        if self.limit == "max_turns":
            return f"max_turns: step {int(self.value)} is over the cap of {int(self.cap)}"
        return f"max_duration: worked {self.value:.0f}s of {self.cap:.0f}s"

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "value": self.value, "cap": self.cap}


def steps(store: Store, agent: Agent, hooks: bool, *, after: int = 0, turns_before: int = 0) -> int:
    """Model steps the agent started after event id ``after`` (of this
    incarnation of the name). An agent without hooks reports no steps: each
    message it took (``turns`` beyond ``turns_before``) is one."""
    if not hooks:
        return agent.turns - turns_before
    return store.count_events(agent.name, STEP_EVENTS, after=after, since=agent.created)


def breaches(limits: Limits, *, turns: int, cost_usd: float, worked: float) -> list[Breach]:
    """The limits these counters break: more turns than the cap, a cost or
    work time that reached it."""
    found = []
    if limits.max_cost is not None and cost_usd >= limits.max_cost:
        found.append(Breach("max_cost", cost_usd, limits.max_cost))
    if limits.max_turns is not None and turns > limits.max_turns:
        found.append(Breach("max_turns", turns, limits.max_turns))
    if limits.max_duration is not None and worked >= limits.max_duration:
        found.append(Breach("max_duration", worked, limits.max_duration))
    return found


@frozen
class Clock:
    """Work time so far: seconds ``worked`` before ``since``, the start of the
    turn in progress (None when not in one)."""

    worked: float = 0.0
    since: float | None = None

    def seen(self, state: State, ts: float) -> Clock:
        worked = self.worked + (max(0.0, ts - self.since) if self.since is not None else 0.0)
        return Clock(worked, ts if state in WORK_STATES else None)

    def at(self, ts: float) -> float:
        return self.worked + (max(0.0, ts - self.since) if self.since is not None else 0.0)


def clock_of(events: list[Event]) -> Clock:
    clock = Clock()
    for event in events:
        if event.state:
            clock = clock.seen(event.state, event.ts)
    return clock


def violation_events(store: Store, name: str | None = None) -> dict[str, list[Event]]:
    """Violation events by agent (one query for the fleet, or one agent's)."""
    found: dict[str, list[Event]] = {}
    for event in store.events(agent=name, kind=VIOLATION):
        found.setdefault(event.agent or "", []).append(event)
    return found


def record(store: Store, name: str, found: list[Breach], action: str, **data: Any) -> None:
    """A ``violation`` event per breach (``data`` adds to each one's data)."""
    for breach in found:
        values = {**breach.to_json(), "action": action, **data}
        store.add_event(name, VIOLATION, None, breach.detail, values)
