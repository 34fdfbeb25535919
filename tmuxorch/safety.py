"""The safety net's limits: per-agent caps on cost, turns and work time.

Limits come from config (``limits``) with ``spawn --max-cost/--max-turns/
--max-duration`` over them (``spec["limits"]``). The monitor enforces them
through a :class:`Guard`: it checks an agent after every event that moves
its state, starts a model step or ends a turn, after its cost counters are
re-read, and at the one deadline its work time will run out, never by
polling panes.

``max_turns`` counts model steps, as Claude Code's own ``--max-turns``: the
request a prompt starts and the one after each tool call (UserPromptSubmit
and PreToolUse hooks); for an agent without hooks, each message it took.

``max_duration`` counts seconds of work: the time the agent spent in turns
(busy, or waiting on a prompt in the middle of one), summed; idle time does
not count, so an agent waiting for its parent, or stopped and resumed a day
later, is not punished for it.

A breach interrupts the agent, records a ``violation`` event (data: limit,
value, cap, action), fails the messages still queued for it, notifies its
parent and, with ``on_breach: kill``, kills it. Each limit fires once per
agent (the events are the record, so a restarted monitor does not fire
again): turns someone starts after that are their deliberate choice.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tmuxorch import messaging
from tmuxorch.config import Config
from tmuxorch.cost import COST_EVENT
from tmuxorch.errors import TmuxorchError
from tmuxorch.fleet import Fleet
from tmuxorch.records import ENDED, Agent, Event
from tmuxorch.store import Store

LIMITS = ("max_cost", "max_turns", "max_duration")
VIOLATION = "violation"
# A model step starts with a prompt (UserPromptSubmit) or after a tool call
# (PreToolUse): each is one more request to the model.
STEP_EVENTS = ("hook:UserPromptSubmit", "hook:PreToolUse")
# States that count as work for max_duration.
WORK_STATES = ("busy", "waiting")
# Events after which an agent's limits are checked (besides state changes).
_CHECKED_ON = ("hook:Stop", "hook:StopFailure", COST_EVENT, *STEP_EVENTS)
# States in which an interrupt has a turn to stop.
_INTERRUPTIBLE = ("busy", "waiting")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Clock:
    """Work time so far: seconds ``worked`` before ``since``, the start of the
    turn in progress (None when not in one)."""

    worked: float = 0.0
    since: float | None = None

    def seen(self, state: str, ts: float) -> Clock:
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


def violations(
    store: Store, agent: Agent, events: dict[str, list[Event]] | None = None
) -> list[dict[str, Any]]:
    """The agent's violations (of this incarnation of the name), oldest first;
    ``events`` may be prefetched with :func:`violation_events`."""
    events = violation_events(store, agent.name) if events is None else events
    return [
        {
            "ts": _iso(event.ts),
            "limit": event.data.get("limit"),
            "value": event.data.get("value"),
            "cap": event.data.get("cap"),
            "action": event.data.get("action"),
            "detail": event.detail,
        }
        for event in events.get(agent.name, [])
        if event.ts >= agent.created
    ]


def _iso(ts: float) -> str | None:
    from tmuxorch.records import iso

    return iso(ts)


class Guard:
    """The monitor's enforcer (runs on the monitor's thread). ``poke(name)``
    asks for the agent's cost to be re-read now (mid-turn)."""

    def __init__(self, fleet: Fleet, poke: Callable[[str], None] | None = None) -> None:
        self.fleet = fleet
        self.store = fleet.store
        self.poke = poke
        self.clocks: dict[str, Clock] = {}
        # name -> (created, limits) of the agents checked so far.
        self.caps: dict[str, tuple[float, Limits]] = {}
        # (agent, created, limit) already fired.
        self.fired: set[tuple[str, float, str]] = set()

    def start(self, last_event: int) -> None:
        """Recall the breaches already fired and the work time of agents with a
        duration cap, from the events up to ``last_event`` (later ones come
        through :meth:`event`)."""
        agents = {a.name: a for a in self.store.list_agents()}
        for event in self.store.events(kind=VIOLATION):
            agent = agents.get(event.agent or "")
            # A delegate call's own caps are not the agent's.
            if agent is not None and event.ts >= agent.created and not event.data.get("call"):
                self.fired.add((agent.name, agent.created, str(event.data.get("limit"))))
        live = [a for a in agents.values() if a.state not in ENDED]
        for agent in live:
            if self.limits(agent).max_duration is None:
                continue
            history = self.store.events(agent=agent.name)
            self.clocks[agent.name] = clock_of(
                [e for e in history if e.id <= last_event and e.ts >= agent.created]
            )
        for agent in live:  # what happened while no monitor was looking
            self.check(agent.name)

    def limits(self, agent: Agent) -> Limits:
        cached = self.caps.get(agent.name)
        if cached is not None and cached[0] == agent.created:
            return cached[1]
        limits = Limits.of(self.fleet.config, agent.spec)
        self.caps[agent.name] = (agent.created, limits)
        return limits

    def _due(self) -> list[tuple[str, float]]:
        """(agent, when its work time runs out) of the agents in a turn with a
        duration cap not yet fired."""
        due = []
        for name, clock in self.clocks.items():
            created, limits = self.caps.get(name, (0.0, Limits()))
            cap = limits.max_duration
            if clock.since is None or cap is None or (name, created, "max_duration") in self.fired:
                continue
            due.append((name, clock.since + max(0.0, cap - clock.worked)))
        return due

    def event(self, event: Event) -> None:
        name = event.agent
        if not name:
            return
        if event.event == "spawned":
            self.clocks.pop(name, None)  # a new agent of an old name starts from zero
        if event.state:
            self.clocks[name] = self.clocks.get(name, Clock()).seen(event.state, event.ts)
        if event.state or event.event in _CHECKED_ON:
            agent = self.check(name)
            if (
                agent is not None
                and event.event == "hook:PostToolUse"
                and self.poke is not None
                and self.limits(agent).max_cost is not None
            ):
                self.poke(name)  # the cost so far, without waiting for the turn to end

    def deadline(self) -> float | None:
        """The next wall-clock time an agent's work time runs out, if any."""
        return min((when for _, when in self._due()), default=None)

    def tick(self, now: float | None = None) -> None:
        """Check the agents whose work time has run out by ``now``."""
        now = time.time() if now is None else now
        for name, when in self._due():
            if when <= now:
                self.check(name, now)

    def check(self, name: str, now: float | None = None) -> Agent | None:
        """Enforce the agent's limits; the agent (None if gone or ended)."""
        agent = self.store.get_agent(name)
        if agent is None or agent.state in ENDED:
            return None
        limits = self.limits(agent)
        if not limits.any:
            return agent
        now = time.time() if now is None else now
        worked = self.clocks.get(name, Clock()).at(now)
        if limits.max_turns is not None:
            turns = steps(self.store, agent, self.fleet.profile(agent.profile).hooks)
        else:
            turns = 0
        found = breaches(limits, turns=turns, cost_usd=agent.cost_usd, worked=worked)
        new = [b for b in found if (name, agent.created, b.limit) not in self.fired]
        if new:
            self.fired.update((name, agent.created, b.limit) for b in new)
            try:
                enforce(self.fleet, agent, limits, new)
            except TmuxorchError as exc:
                print(f"tmuxorch monitor: enforcing limits of {name}: {exc}", file=sys.stderr)
        return agent


def enforce(fleet: Fleet, agent: Agent, limits: Limits, new: list[Breach]) -> None:
    """Record the breaches, stop the agent and tell its parent."""
    name, action = agent.name, limits.on_breach
    record(fleet.store, name, new, action)
    details = "; ".join(b.detail for b in new)
    fleet.store.fail_queued(name, f"stopped by the safety net ({details})")
    if agent.state in _INTERRUPTIBLE:
        with contextlib.suppress(TmuxorchError):  # its window is gone: nothing to stop
            fleet.interrupt(name)
    if agent.parent:
        done = "killed" if action == "kill" else "interrupted"
        messaging.notify(
            fleet, agent.parent, f"child {name} was {done} by the safety net: {details}"
        )
    if action == "kill":
        fleet.kill(name)


def record(store: Store, name: str, found: list[Breach], action: str, **data: Any) -> None:
    """A ``violation`` event per breach (``data`` adds to each one's data)."""
    for breach in found:
        values = {**breach.to_json(), "action": action, **data}
        store.add_event(name, VIOLATION, None, breach.detail, values)


def summary(
    store: Store, config: Config, agent: Agent, events: dict[str, list[Event]] | None = None
) -> dict[str, Any]:
    """The agent's safety net for its JSON object: effective limits,
    violations so far, and the protected-path patterns it may write anyway."""
    allow = agent.spec.get("allow_protected")
    return {
        "limits": Limits.of(config, agent.spec).to_json(),
        "violations": violations(store, agent, events),
        "allow_protected": list(allow) if isinstance(allow, list) else [],
    }
