"""Which agents a command given several names, or ``--all``, acts on: every
name is checked before anything is done, so a typo leaves the fleet as it was."""

from __future__ import annotations

from tmuxorch.core.errors import AgentError
from tmuxorch.core.vocab import ENDED, STATES
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.safetynet import WORK_STATES

_RUNNING = frozenset(STATES) - frozenset(ENDED)
# What ``--all`` means per action: the states in which it has something to do.
ALL: dict[str, frozenset[str]] = {
    "stop": _RUNNING,
    "kill": _RUNNING,
    # A turn to interrupt: Esc on an idle prompt does nothing.
    "interrupt": frozenset(WORK_STATES),
}
_WHO = {"stop": "running", "kill": "running", "interrupt": "busy or waiting"}


def select(fleet: Fleet, action: str, names: tuple[str, ...], *, all_: bool) -> list[str]:
    """The agents ``action`` applies to, in the order named (each once); raises
    AgentError, before anything is done, for names that are not agents, for
    names with ``--all``, and for ``--all`` with nobody to act on."""
    if all_ and names:
        raise AgentError("name agents or give --all, not both")
    if all_:
        chosen = [a.name for a in fleet.agents() if a.state in ALL[action]]
        if not chosen:
            raise AgentError(f"no {_WHO[action]} agents to {action}")
        return chosen
    if not names:
        raise AgentError("name at least one agent, or give --all")
    unknown = [n for n in dict.fromkeys(names) if fleet.store.get_agent(n) is None]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise AgentError(f"no agent named {listed}: nothing done")
    return list(dict.fromkeys(names))
