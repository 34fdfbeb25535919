"""Lifecycle: stop, resume, fork, up/restore, cleanup."""

from __future__ import annotations

import click

from tmuxorch.surfaces.cli import several
from tmuxorch.surfaces.cli.common import (
    AMOUNT,
    echo_json,
    fleet,
    handle_errors,
    json_option,
    read_text_arg,
)


@click.command()
@several.options
@click.option(
    "--timeout",
    type=AMOUNT,
    default=15.0,
    show_default=True,
    metavar="S",
    help="How long to wait for a graceful exit before forcing it.",
)
@handle_errors
def stop(names: tuple[str, ...], all_: bool, yes: bool, timeout: float) -> None:
    """Stop agents NAME... (or --all running ones) gracefully (/exit for Claude);
    `resume` brings each back. --all asks first on a terminal (--yes does not)."""

    def act(name: str) -> str:
        fleet().stop(name, timeout=timeout)
        return f"stopped {name}"

    several.act_on_each("stop", names, all_, yes, act)


@click.command()
@click.argument("name")
@click.argument("message", required=False)
@json_option
@handle_errors
def resume(name: str, message: str | None, as_json: bool) -> None:
    """Start a stopped or exited agent again in its conversation; send MESSAGE."""
    f = fleet()
    agent = f.resume(name, read_text_arg(message) if message is not None else None)
    if as_json:
        from tmuxorch.fleet.views import agents as views

        echo_json(views.of(f, agent).to_json())
    else:
        click.echo(f"resumed {name} in window {agent.window_id}")


@click.command()
@click.argument("name")
@click.argument("new")
@click.argument("message", required=False)
@json_option
@handle_errors
def fork(name: str, new: str, message: str | None, as_json: bool) -> None:
    """Start agent NEW from NAME's conversation (a fork of it); send MESSAGE."""
    f = fleet()
    agent = f.fork(name, new, read_text_arg(message) if message is not None else None)
    if as_json:
        from tmuxorch.fleet.views import agents as views

        echo_json(views.of(f, agent).to_json())
    else:
        click.echo(f"forked {name} as {new} in window {agent.window_id}")


@click.command()
@json_option
@handle_errors
def up(as_json: bool) -> None:
    """Bring back every agent that was not stopped, killed or removed (alias: restore)."""
    restored = fleet().up()
    if as_json:
        echo_json({"restored": restored})
    elif restored:
        click.echo(f"restored {', '.join(restored)}")
    else:
        click.echo("nothing to restore")


@click.command()
@click.option(
    "--days",
    type=AMOUNT,
    default=7.0,
    show_default=True,
    help="Remove agents that ended more than this many days ago.",
)
@json_option
@handle_errors
def cleanup(days: float, as_json: bool) -> None:
    """Remove finished (exited or stopped) agents older than --days."""
    removed = fleet().cleanup(days)
    if as_json:
        echo_json({"removed": removed})
    else:
        click.echo(f"removed {', '.join(removed)}" if removed else "nothing to clean up")
