"""The agents as the JSON contract shows them (``list``/``status --json``, the
MCP tools): one :class:`AgentView` per agent, built from its record, the lock
and queue tables and the safety net's violations. Every surface serialises
these views, so the CLI, the MCP server and the HTTP API cannot disagree."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.errors import AgentError
from tmuxorch.core.frozen import asdict, frozen, replace
from tmuxorch.core.records import Agent, Event, iso
from tmuxorch.core.vocab import STATES
from tmuxorch.fleet import monitorproc, safetynet
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.subagents import SubagentView, live_subagents


@frozen
class TokensView:
    input: int
    output: int
    cache_read: int
    cache_creation: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@frozen
class ViolationView:
    """A ``violation`` event: the limit broken, by how much, and what was done."""

    ts: float
    limit: str | None
    value: float | None
    cap: float | None
    action: str | None
    detail: str

    @classmethod
    def of(cls, event: Event) -> ViolationView:
        data = event.data
        return cls(
            event.ts, data.get("limit"), data.get("value"), data.get("cap"),
            data.get("action"), event.detail,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ts": iso(self.ts)}


@frozen
class AgentView:
    """The agent object of the JSON contract, keys in the contract's order.
    ``children`` and ``subagents`` are filled by :func:`agent_view`
    (``status``/``get_status``) and left out of the JSON otherwise. Times are epoch seconds here and
    ISO-8601 UTC in the JSON."""

    name: str
    profile: str
    state: str
    detail: str
    since: float
    cwd: str
    parent: str | None
    pane_id: str | None
    window_id: str | None
    pid: int | None
    session_id: str | None
    created: float
    turns: int
    tokens: TokensView
    cost_usd: float
    locks: list[str]
    queued: int
    exit_status: int | None
    task: str | None
    worktree: dict[str, str] | None
    limits: safetynet.Limits
    violations: list[ViolationView]
    # The protected-path patterns it may write anyway.
    allow_protected: list[str]
    # The host whose daemon runs it ("": a row from before hosts not yet adopted).
    host: str
    children: list[str] | None = None
    # Its live sub-agents (Claude's Task/Agent tool), with ``children``.
    subagents: list[SubagentView] | None = None

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        shown["since"] = iso(self.since)
        shown["created"] = iso(self.created)
        shown["tokens"] = self.tokens.to_json()
        shown["limits"] = self.limits.to_json()
        shown["violations"] = [v.to_json() for v in self.violations]
        if self.children is None:
            del shown["children"]
        if self.subagents is None:
            del shown["subagents"]
        else:
            shown["subagents"] = [s.to_json() for s in self.subagents]
        return shown


def of(
    fleet: Fleet,
    agent: Agent,
    locks: dict[str, list[str]] | None = None,
    queued: dict[str, int] | None = None,
    violations: dict[str, list[Event]] | None = None,
) -> AgentView:
    """The view of ``agent`` as it is (``locks``/``queued``/``violations`` may
    be prefetched for a whole fleet)."""
    locks = fleet.store.locks_by_agent() if locks is None else locks
    queued = fleet.store.queued_counts() if queued is None else queued
    if violations is None:
        violations = safetynet.violation_events(fleet.store, agent.name)
    allow = agent.spec.get("allow_protected")
    return AgentView(
        name=agent.name, profile=agent.profile, state=agent.state, detail=agent.detail,
        since=agent.since, cwd=agent.cwd, parent=agent.parent, pane_id=agent.pane_id,
        window_id=agent.window_id, pid=agent.pid, session_id=agent.session_id,
        created=agent.created, turns=agent.turns,
        tokens=TokensView(
            agent.tokens_input, agent.tokens_output,
            agent.tokens_cache_read, agent.tokens_cache_creation,
        ),
        cost_usd=agent.cost_usd, locks=locks.get(agent.name, []),
        queued=queued.get(agent.name, 0), exit_status=agent.exit_status, task=agent.task,
        worktree=agent.spec.get("worktree"),
        limits=safetynet.Limits.of(fleet.config, agent.spec),
        # Only this incarnation of the name's.
        violations=[
            ViolationView.of(e) for e in violations.get(agent.name, []) if e.ts >= agent.created
        ],
        allow_protected=list(allow) if isinstance(allow, list) else [],
        host=agent.host,
    )  # fmt: skip


def agent_view(fleet: Fleet, name: str) -> AgentView:
    """One agent in detail (``status``, ``get_status``): panes looked at, tokens
    and cost read from its transcripts up to now, and its children."""
    from tmuxorch.claude import cost  # start-up cost: `list` reads no transcript

    fleet.refresh()
    cost.refresh_agent(fleet.store, name, cost.pricing(fleet.config))
    children = [a.name for a in fleet.store.list_agents() if a.parent == name]
    agent = fleet.agent(name)
    subagents = live_subagents(fleet.store, agent)
    return replace(of(fleet, agent), children=children, subagents=subagents)


def agent_views(fleet: Fleet, state: str | None = None) -> list[AgentView]:
    """Every agent, or those in ``state`` (``list``, ``list_agents``), with one
    query per table; tmux is asked only while no monitor runs (the monitor
    marks dead panes itself, woken by tmux's pane-died hook)."""
    if state is not None and state not in STATES:
        raise AgentError(f"unknown state {state!r} (states: {', '.join(STATES)})")
    if not monitorproc.is_running(fleet.home, fleet.host):
        fleet.refresh()
    agents = [a for a in fleet.store.list_agents() if state is None or a.state == state]
    locks = fleet.store.locks_by_agent()
    queued = fleet.store.queued_counts()
    violations = safetynet.violation_events(fleet.store)
    return [of(fleet, agent, locks, queued, violations) for agent in agents]
