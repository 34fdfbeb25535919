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
import logging
import time
from collections.abc import Callable

from tmuxorch.claude.cost import COST_EVENT
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.core.records import Agent, Event
from tmuxorch.core.vocab import ENDED, EventKind, State
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.safetynet import (
    STEP_EVENTS,
    VIOLATION,
    Breach,
    Clock,
    Limits,
    breaches,
    clock_of,
    record,
    steps,
)

logger = logging.getLogger(__name__)

# Events after which an agent's limits are checked (besides state changes).
_CHECKED_ON: tuple[EventKind, ...] = ("hook:Stop", "hook:StopFailure", COST_EVENT, *STEP_EVENTS)
# States in which an interrupt has a turn to stop.
_INTERRUPTIBLE: tuple[State, ...] = ("busy", "waiting")


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

    def renamed(self, old: str, new: str) -> None:
        """A renamed agent keeps its work time, caps and the breaches fired."""
        if old in self.clocks:
            self.clocks[new] = self.clocks.pop(old)
        if old in self.caps:
            self.caps[new] = self.caps.pop(old)
        self.fired = {(new if n == old else n, created, limit) for n, created, limit in self.fired}

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
        """Enforce the agent's limits; the agent (None if gone, ended or
        another host's: that host's daemon enforces them)."""
        agent = self.store.get_agent(name)
        if agent is None or agent.state in ENDED or not self.fleet.mine(agent):
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
                logger.warning("enforcing limits of %s: %s", name, exc)
        return agent


def enforce(fleet: Fleet, agent: Agent, limits: Limits, new: list[Breach]) -> None:
    """Record the breaches, stop the agent and tell its parent."""
    name, action = agent.name, limits.on_breach
    record(fleet.store, name, new, action)
    details = "; ".join(b.detail for b in new)
    fleet.store.fail_queued(name, f"stopped by the safety net ({details})")
    if agent.state in _INTERRUPTIBLE:
        with contextlib.suppress(TmuxorchError):  # its window is gone: nothing to stop
            control.interrupt(fleet, name)
    if agent.parent:
        done = "killed" if action == "kill" else "interrupted"
        messaging.notify(
            fleet, agent.parent, f"child {name} was {done} by the safety net: {details}"
        )
    if action == "kill":
        fleet.kill(name)
