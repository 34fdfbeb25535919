"""delegate, continue, finish: hand a task to an agent and get a structured result."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from tmuxorch.surfaces.cli.common import AMOUNT, echo_json, fleet, handle_errors, read_text_arg

if TYPE_CHECKING:
    from tmuxorch.fleet.delegate import Limits, Result

_EXIT = {"completed": 0, "needs_input": 3, "timeout": 124}


def _limits(
    max_cost: float | None, max_turns: int | None, timeout: float | None, no_safety: bool
) -> Limits:
    from tmuxorch.fleet.delegate import limits

    return limits(
        fleet(), max_cost=max_cost, max_turns=max_turns, timeout=timeout, safety=not no_safety
    )


def _report(result: Result, as_json: bool) -> None:
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(f"{result.name}: {result.status} ({result.turns} turns, ${result.cost_usd:.4f}, "
                   f"{result.duration_s:.1f}s)")  # fmt: skip
        for line in (result.response, result.error, *result.violations):
            if line:
                click.echo(line)
    # completed 0, needs_input 3, timeout 124, anything else 1: scripts can branch.
    sys.exit(_EXIT.get(result.status, 1))


_max_cost = click.option("--max-cost", type=AMOUNT, metavar="USD", help="Cost cap for this call.")
_max_turns = click.option(
    "--max-turns",
    type=click.IntRange(min=1),
    metavar="N",
    help="Cap on model steps in this call (a prompt's request, one after each tool call).",
)
_timeout = click.option("--timeout", type=AMOUNT, metavar="S", help="Time cap for this call.")
_no_safety = click.option(
    "--no-safety", is_flag=True, help="No caps from config delegate (those given still hold)."
)
_as_json = click.option("--json", "as_json", is_flag=True, help="The result as JSON.")


@click.command()
@click.argument("name")
@click.argument("task")
@click.option(
    "--preset",
    type=click.Choice(["read-only", "review", "edit", "full", "plan"]),
    default="edit",
    show_default=True,
    help="read-only/review: only reading tools run unasked; edit: acceptEdits; "
    "full: bypassPermissions; plan: plan mode.",
)
@_max_cost
@_max_turns
@_timeout
@_no_safety
@click.option("--context", metavar="TEXT", help="Background put before the task.")
@click.option("--cwd", metavar="DIR", help="Working directory (default: here).")
@click.option("--agent", "profile", metavar="PROFILE", help="Profile (default: claude).")
@click.option("--model", metavar="M", help="Model for the worker.")
@click.option("--system-prompt", metavar="TEXT", help="Added to Claude's system prompt.")
@_as_json
@handle_errors
def delegate(
    name: str,
    task: str,
    preset: str,
    max_cost: float | None,
    max_turns: int | None,
    timeout: float | None,
    no_safety: bool,
    context: str | None,
    cwd: str | None,
    profile: str | None,
    model: str | None,
    system_prompt: str | None,
    as_json: bool,
) -> None:
    """Spawn NAME, give it TASK (or stdin with -), wait: a structured result.

    Caps not given come from config `delegate` (default $2, 50 steps, 600 s).
    Exit status: 0 completed, 3 needs_input, 124 timeout, 1 otherwise.
    """
    from tmuxorch.fleet.delegate import delegate as run

    result = run(
        fleet(), name, read_text_arg(task), preset=preset,
        limits=_limits(max_cost, max_turns, timeout, no_safety), context=context, cwd=cwd,
        profile=profile, model=model, system_prompt=system_prompt,
    )  # fmt: skip
    _report(result, as_json)


@click.command("continue")
@click.argument("name")
@click.argument("message")
@_max_cost
@_max_turns
@_timeout
@_no_safety
@_as_json
@handle_errors
def continue_(
    name: str,
    message: str,
    max_cost: float | None,
    max_turns: int | None,
    timeout: float | None,
    no_safety: bool,
    as_json: bool,
) -> None:
    """Send a correction to delegated agent NAME and wait for the new result.

    A permission prompt it waits on (needs_input) is denied first. Caps not
    given come from config `delegate`, as for delegate.
    """
    from tmuxorch.fleet.delegate import continue_ as run

    limits = _limits(max_cost, max_turns, timeout, no_safety)
    _report(run(fleet(), name, read_text_arg(message), limits=limits), as_json)


@click.command()
@click.argument("name")
@handle_errors
def finish(name: str) -> None:
    """Stop delegated agent NAME cleanly."""
    from tmuxorch.fleet.delegate import finish as run

    run(fleet(), name)
    click.echo(f"finished {name}")
