"""What stop, kill and interrupt share: several names or --all, a question on
a terminal before --all, and one line per agent."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tmuxorch.core.errors import TmuxorchError
from tmuxorch.surfaces.cli.common import fleet

F = TypeVar("F", bound=Callable[..., Any])


def options(func: F) -> F:
    """NAME... plus --all and --yes."""
    func = click.option("--yes", "-y", is_flag=True, help="Do not ask before --all.")(func)
    func = click.option("--all", "all_", is_flag=True, help="Every agent it applies to.")(func)
    return click.argument("names", nargs=-1)(func)


def act_on_each(
    action: str, names: tuple[str, ...], all_: bool, yes: bool, act: Callable[[str], str]
) -> None:
    """Run ``act`` on each chosen agent and print what it says; a failure is a
    line on stderr, the others still run, and the exit status is 1."""
    from tmuxorch.fleet.selection import select

    chosen = select(fleet(), action, names, all_=all_)
    # Only a person at a terminal can answer; a script's --all is meant.
    if all_ and not yes and sys.stdin.isatty():
        click.confirm(f"{action} {len(chosen)} agent(s): {', '.join(chosen)}?", abort=True)
    failed = False
    for name in chosen:
        try:
            click.echo(act(name))
        except TmuxorchError as exc:
            click.echo(f"tmuxorch: {exc}", err=True)
            failed = True
    if failed:
        sys.exit(1)
