"""Waiting for agents to reach a state (``wait``, ``send --wait``, delegate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tmuxorch.core.errors import AgentError, StoreError
from tmuxorch.core.records import Agent
from tmuxorch.core.states import UNTIL
from tmuxorch.core.vocab import ENDED, State, Until

if TYPE_CHECKING:
    from tmuxorch.fleet.lifecycle import Fleet


def wait_for(
    fleet: Fleet,
    names: list[str],
    until: Until = "idle",
    *,
    any_: bool = False,
    timeout: float | None = None,
) -> dict[str, State]:
    """Block until the agents reach ``until`` (all of them, or ``any_``).

    Sleeps on store changes (inotify), never on a timer loop; raises
    TimeoutReached, or AgentError when an agent can no longer get there.
    """
    # Start-up cost: notify loads watchdog; ``list --json`` loads this module, never waits.
    from tmuxorch.store.notify import wait_until

    for name in names:
        fleet.agent(name)
    fleet.ensure_monitor()
    seen: dict[str, list[str]] = {"missing": list(names)}

    def check() -> dict[str, State] | None:
        if fleet.store.replaced():  # nothing will ever change in the old file
            raise StoreError(f"{fleet.store.path} was deleted or replaced while waiting")
        fleet.refresh()
        agents = {name: fleet.agent(name) for name in names}
        states = {name: agent.state for name, agent in agents.items()}
        done = [n for n in names if reached(fleet, agents[n], until)]
        if done and (any_ or len(done) == len(names)):
            return states
        lost = [n for n in names if states[n] in ENDED and n not in done]
        if lost and (not any_ or len(lost) == len(names)):
            why = agents[lost[0]].detail
            raise AgentError(
                f"agent {lost[0]!r} is {states[lost[0]]}"
                f"{f' ({why})' if why else ''}: it will not be {until}"
            )
        seen["missing"] = [f"{n} is {states[n]}" for n in names if n not in done]
        return None

    return wait_until(
        fleet.store,
        check,
        timeout,
        lambda: f"timed out waiting for {until}: {', '.join(seen['missing'])}",
    )


def reached(fleet: Fleet, agent: Agent, until: Until) -> bool:
    """Is ``agent`` in an ``until`` state? An idle agent with messages still
    to deliver is not: its next turn is already queued."""
    if agent.state not in UNTIL[until]:
        return False
    if agent.state != "idle":
        return True
    if fleet.store.pending_count(agent.name):
        return False
    # ``agent`` may be older than that count: a message delivered in
    # between (busy is set before delivered) would read as idle and done.
    fresh = fleet.store.get_agent(agent.name)
    return fresh is not None and fresh.state in UNTIL[until]
