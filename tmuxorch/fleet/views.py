"""The agents as the JSON contract shows them (``list``/``status --json``,
the MCP tools): one object per agent, built from its record, the lock and
queue tables and the safety net's violations."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.records import Agent, iso
from tmuxorch.fleet import safetynet
from tmuxorch.fleet.lifecycle import Fleet


def info(
    fleet: Fleet,
    agent: Agent,
    locks: dict[str, list[str]] | None = None,
    queued: dict[str, int] | None = None,
    violations: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """The agent object of the JSON contract (``locks``/``queued``/``violations``
    may be prefetched)."""
    locks = fleet.store.locks_by_agent() if locks is None else locks
    queued = fleet.store.queued_counts() if queued is None else queued
    shown = {
        "name": agent.name,
        "profile": agent.profile,
        "state": agent.state,
        "detail": agent.detail,
        "since": iso(agent.since),
        "cwd": agent.cwd,
        "parent": agent.parent,
        "pane_id": agent.pane_id,
        "window_id": agent.window_id,
        "pid": agent.pid,
        "session_id": agent.session_id,
        "created": iso(agent.created),
        "turns": agent.turns,
        "tokens": {
            "input": agent.tokens_input,
            "output": agent.tokens_output,
            "cache_read": agent.tokens_cache_read,
            "cache_creation": agent.tokens_cache_creation,
        },
        "cost_usd": agent.cost_usd,
        "locks": locks.get(agent.name, []),
        "queued": queued.get(agent.name, 0),
        "exit_status": agent.exit_status,
        "task": agent.task,
        "worktree": agent.spec.get("worktree"),
    }
    # limits, violations, allow_protected
    shown.update(safetynet.summary(fleet.store, fleet.config, agent, violations))
    return shown


def infos(fleet: Fleet) -> list[dict[str, Any]]:
    """Every agent's object, with one query per table for the fleet."""
    agents = fleet.agents()
    locks = fleet.store.locks_by_agent()
    queued = fleet.store.queued_counts()
    violations = safetynet.violation_events(fleet.store)
    return [info(fleet, agent, locks, queued, violations) for agent in agents]
