"""Watching and steering agents: daemon (monitor), wait, approve, deny, interrupt, clear."""

from __future__ import annotations

import os

import click

from tmuxorch.core.vocab import UNTILS, Until
from tmuxorch.locks.keys import agent_name
from tmuxorch.surfaces.cli import several
from tmuxorch.surfaces.cli.common import (
    AMOUNT,
    Obj,
    echo_json,
    fleet,
    handle_errors,
    json_option,
)


@click.command()
@click.option(
    "--until-idle",
    is_flag=True,
    hidden=True,
    help="Exit once the tmux server is gone and no agent of this host is live "
    "(as commands start it).",
)
@handle_errors
def monitor(until_idle: bool) -> None:
    """Run this host's daemon in the foreground (commands start one for you):
    its agents' states and messages, its heartbeat, other hosts' loss."""
    from tmuxorch.daemon.monitor import run_foreground

    obj = click.get_current_context().find_object(Obj)
    assert obj is not None
    run_foreground(obj.settings(), stay=not until_idle)


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--until",
    type=click.Choice(UNTILS),
    default="idle",
    show_default=True,
    help="done = idle, waiting, error, exited or stopped.",
)
@click.option("--any", "any_", is_flag=True, help="Return when any one agent gets there.")
@click.option("--timeout", type=AMOUNT, metavar="S", help="Give up (exit 124).")
@click.option(
    "--notify",
    is_flag=True,
    help="Return at once; the monitor messages the calling agent when it happens.",
)
@json_option
@handle_errors
def wait(
    names: tuple[str, ...],
    until: Until,
    any_: bool,
    timeout: float | None,
    notify: bool,
    as_json: bool,
) -> None:
    """Block until the agents reach a state: exit 0 reached, 124 timed out.

    With --notify, return at once: the caller (TMUXORCH_AGENT) gets a message
    when it happens or the timeout passes, so a manager can go idle meanwhile.
    """
    if notify:
        from tmuxorch.fleet import messaging

        watcher = agent_name(fleet().store, os.environ) or ""
        watch = messaging.add_watch(fleet(), watcher, list(names), until, any_, timeout)
        if as_json:
            echo_json({"watch": watch, "watcher": watcher, "names": list(names), "until": until})
        else:
            click.echo(f"will notify {watcher} (watch {watch})")
        return
    states = fleet().wait_for(list(names), until, any_=any_, timeout=timeout)
    if as_json:
        echo_json(states)
    else:
        for name, state in states.items():
            click.echo(f"{name} {state}")


@click.command()
@click.argument("name")
@click.option("--always", is_flag=True, help="Approve and don't ask again for this kind of action.")
@handle_errors
def approve(name: str, always: bool) -> None:
    """Answer yes to the permission prompt agent NAME is waiting on."""
    from tmuxorch.fleet import control

    control.approve(fleet(), name, always=always)


@click.command()
@click.argument("name")
@click.option("--reason", metavar="TEXT", help="Tell the agent why (sent after the denial).")
@handle_errors
def deny(name: str, reason: str | None) -> None:
    """Answer no to the permission prompt agent NAME is waiting on."""
    from tmuxorch.fleet import control

    control.deny(fleet(), name, reason=reason)


@click.command()
@several.options
@handle_errors
def interrupt(names: tuple[str, ...], all_: bool, yes: bool) -> None:
    """Interrupt the turn of agents NAME... (Esc for Claude), or of --all busy or
    waiting ones. --all asks first on a terminal (--yes does not)."""
    from tmuxorch.fleet import control

    def act(name: str) -> str:
        control.interrupt(fleet(), name)
        return f"interrupted {name}"

    several.act_on_each("interrupt", names, all_, yes, act)


@click.command()
@click.argument("name")
@handle_errors
def clear(name: str) -> None:
    """Reset agent NAME's conversation (/clear) and wait until it is idle."""
    from tmuxorch.fleet import control

    control.clear(fleet(), name)
