"""An agent's Claude Code teammates (agent teams, teammate mode ``in-process``):
who they are from the team's files (``claude/teams.py``), what they do from
the lead's hooks (SubagentStart when one starts a turn; SubagentStop and
TeammateIdle when it ends one), and messages to them (``send LEAD/NAME``)
through the team's mailbox, which Claude itself delivers."""

from __future__ import annotations

from typing import Any

from tmuxorch.claude import configdir, teams
from tmuxorch.core.errors import AgentError, ProfileError
from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Agent, Message, iso
from tmuxorch.core.vocab import ENDED, EventKind
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.subagents import last_launch

# The lead's hook events that say a teammate's turn began or ended, and the
# payload field naming the teammate in each.
_TURNS: tuple[tuple[EventKind, str, str], ...] = (
    ("hook:SubagentStart", "agent_type", "busy"),
    ("hook:SubagentStop", "agent_type", "idle"),
    ("hook:TeammateIdle", "teammate_name", "idle"),
)


@frozen
class TeammateView:
    name: str
    team: str
    state: str
    since: float | None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "since": iso(self.since) if self.since else None}


def team(fleet: Fleet, agent: Agent) -> teams.Team | None:
    """The team ``agent`` leads now, if its Claude runs one."""
    if agent.state in ENDED:
        return None  # the team's files go with the lead's process
    try:
        profile = fleet.profile(agent.profile)
    except ProfileError:
        return None  # its profile left config.yaml: no Claude to ask about
    if not profile.hooks:
        return None
    return teams.team_of(configdir.of_agent(agent, profile), agent.session_id)


def teammates(fleet: Fleet, agent: Agent) -> list[TeammateView]:
    """The lead's teammates in the order they joined, each with the state its
    last turn event (or message from tmuxorch) left it in (``starting``: none yet)."""
    found = team(fleet, agent)
    if found is None:
        return []
    launch = last_launch(fleet.store, agent)
    after, started = (launch.id, launch.ts) if launch else (0, 0.0)
    turns = [
        (event.ts, str(event.data.get(field) or ""), state)
        for kind, field, state in _TURNS
        for event in fleet.store.events(agent=agent.name, kind=kind, after=after)
    ]
    turns += [
        (m.ts, name, "busy")
        for name in found.members
        for m in fleet.store.messages(f"{agent.name}/{name}")
        if m.status == "delivered" and m.ts >= started
    ]
    last: dict[str, tuple[str, float | None]] = {n: (s, ts) for ts, n, s in sorted(turns)}
    return [TeammateView(n, found.name, *last.get(n, ("starting", None))) for n in found.members]


def send(fleet: Fleet, address: str, text: str, sender: str | None) -> Message:
    """``LEAD/NAME``: put ``text`` in teammate NAME's mailbox in LEAD's team.
    Delivered once it is there: Claude takes it into the teammate's next turn."""
    lead_name, _, member = address.partition("/")
    lead = fleet.agent(lead_name)
    found = team(fleet, lead)
    if found is None:
        raise AgentError(f"agent {lead_name!r} leads no Claude Code team now")
    message_id = fleet.store.add_message(sender, address, "sequential", text)
    try:
        teams.post(found, member, text, sender or "tmuxorch")
    except AgentError as exc:
        fleet.store.set_message_status(message_id, "failed", str(exc))
        raise
    fleet.store.set_message_status(message_id, "delivered")
    message = fleet.store.get_message(message_id)
    assert message is not None
    return message
