"""The MCP tools that run work to its end: delegate (spawn, send, wait with a
safety net) and batch."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tmuxorch.fleet import batch, delegate
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.batches import BatchView
from tmuxorch.surfaces.mcp.common import (
    AgentName,
    MaxCost,
    MaxTurns,
    NoSafety,
    Preset,
    TimeoutS,
    shown,
)


def delegate_task(
    fleet: Fleet,
    name: Annotated[str, Field(description="A new, unique name for the worker.")],
    task: Annotated[str, Field(description="What to do: self-contained, with the goal.")],
    preset: Annotated[
        Preset,
        Field(
            description="read-only/review: only reading tools run unasked; edit: file edits "
            "allowed; full: everything allowed; plan: plan mode."
        ),
    ] = "edit",
    max_cost: MaxCost = None,
    max_turns: MaxTurns = None,
    timeout_s: TimeoutS = None,
    no_safety: NoSafety = False,
    context: Annotated[str | None, Field(description="Background put before the task.")] = None,
    cwd: Annotated[str | None, Field(description="Working directory.")] = None,
    model: Annotated[str | None, Field(description="Model for the worker.")] = None,
    system_prompt: Annotated[
        str | None, Field(description="Text added to the worker's system prompt.")
    ] = None,
) -> dict[str, Any]:
    """Spawn a worker, give it a task and wait for the outcome: {status, response, cost_usd,
    turns, duration_s, session_id, name, can_continue, tools_used, safety, error}. status is
    completed, needs_input (a prompt waits: approve/deny or continue_task), failed,
    cost_exceeded, turns_exceeded or timeout. Caps not given come from the fleet's config."""
    limits = delegate.limits(
        fleet, max_cost=max_cost, max_turns=max_turns, timeout=timeout_s, safety=not no_safety
    )
    return delegate.delegate(
        fleet, name, task, preset=preset, limits=limits, context=context, cwd=cwd,
        model=model, system_prompt=system_prompt,
    ).to_json()  # fmt: skip


def continue_task(
    fleet: Fleet,
    name: AgentName,
    message: Annotated[str, Field(description="The correction or next step.")],
    max_cost: MaxCost = None,
    max_turns: MaxTurns = None,
    timeout_s: TimeoutS = None,
    no_safety: NoSafety = False,
) -> dict[str, Any]:
    """Send a delegated worker a correction and wait again; the same result as
    delegate_task. A permission prompt it waits on (needs_input) is denied first."""
    limits = delegate.limits(
        fleet, max_cost=max_cost, max_turns=max_turns, timeout=timeout_s, safety=not no_safety
    )
    return delegate.continue_(fleet, name, message, limits=limits).to_json()


def finish_task(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop a delegated worker cleanly once its result is in."""
    delegate.finish(fleet, name)
    return shown(fleet, name)


def batch_run(
    fleet: Fleet,
    tasks: Annotated[
        list[dict[str, Any]],
        Field(
            description="Tasks: {name, prompt} and optionally agent, cwd, model, "
            "permission_mode, depends_on (names), timeout (seconds)."
        ),
    ],
    max_parallel: Annotated[int, Field(description="How many run at once.", ge=1)] = 4,
    timeout_s: TimeoutS = None,
) -> dict[str, Any]:
    """Run many tasks, in dependency order, a few at a time, and wait for all of them:
    {ok, tasks: [{name, status, response, cost_usd, duration_s, error}]}."""
    runner = batch.Batch(fleet, batch.parse(tasks), max_parallel, timeout_s)
    runner.run(lambda _: None)
    return BatchView.of(runner).to_json()
