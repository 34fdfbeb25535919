"""Coordination from inside a pane: broadcast, children, others, alone, whoami, what."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from tmuxorch.core.errors import AgentError
from tmuxorch.core.vocab import MODES
from tmuxorch.surfaces.cli.common import echo_json, fleet, handle_errors, json_option, read_text_arg

if TYPE_CHECKING:
    from tmuxorch.fleet.views.doing import DoingView


def _me(required: bool = True) -> str:
    if not os.environ.get("TMUXORCH_AGENT"):
        if required:
            raise AgentError("not inside an agent's pane (TMUXORCH_AGENT is not set)")
        return ""
    from tmuxorch.locks.keys import agent_name

    return agent_name(fleet().store, os.environ) or ""  # renamed since it started?


def _names(names: list[str], as_json: bool) -> None:
    if as_json:
        echo_json(names)
    else:
        for name in names:
            click.echo(name)


@click.command()
@click.argument("message")
@click.option("--children", "scope", flag_value="children", help="Only my children.")
@click.option("--all", "scope", flag_value="all", help="Every live agent but me.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="sequential",
    show_default=True,
)
@json_option
@handle_errors
def broadcast(message: str, scope: str | None, mode: str, as_json: bool) -> None:
    """Send MESSAGE to many agents (default: my children inside a pane, else all)."""
    from tmuxorch.fleet import messaging, peers
    from tmuxorch.fleet.views.messages import message_view

    f = fleet()
    me = _me(required=False)
    targets = peers.broadcast_targets(f, me or None, scope)
    sent = messaging.broadcast(f, read_text_arg(message), targets, mode=mode, sender=me or None)
    if as_json:
        echo_json([message_view(f, m).to_json() for m in sent])
    else:
        for m in sent:
            click.echo(f"{m.id} {m.recipient}")


@click.command()
@click.argument("name", required=False)
@json_option
@handle_errors
def children(name: str | None, as_json: bool) -> None:
    """My children (or NAME's): the agents spawned from its pane, then its
    Claude Code teammates as LEAD/NAME (the address `send` takes)."""
    from tmuxorch.fleet.teammates import teammates

    parent = name or _me()
    f = fleet()
    lead = f.agent(parent)
    mates = [f"{parent}/{t.name}" for t in teammates(f, lead)]
    _names([a.name for a in f.agents() if a.parent == parent] + mates, as_json)


@click.command()
@json_option
@handle_errors
def others(as_json: bool) -> None:
    """Other live agents sharing my workspace (git top level)."""
    from tmuxorch.fleet import peers

    _names([a.name for a in peers.others(fleet(), _me())], as_json)


@click.command()
@handle_errors
def alone() -> None:
    """Exit 0 if no other live agent shares my workspace, else 1."""
    from tmuxorch.fleet import peers

    sys.exit(1 if peers.others(fleet(), _me()) else 0)


@click.command()
@json_option
@handle_errors
def whoami(as_json: bool) -> None:
    """The agent this pane belongs to."""
    me = _me()
    f = fleet()
    if as_json:
        from tmuxorch.fleet.views import agents as views

        echo_json(views.of(f, f.agent(me)).to_json())
    else:
        click.echo(me)


@click.command()
@click.argument("name")
@click.option(
    "--summary", is_flag=True, help="Also a few sentences by a small model (config summary.model)."
)
@json_option
@handle_errors
def what(name: str, summary: bool, as_json: bool) -> None:
    """What agent NAME is doing: its task, recent tools, last response, screen."""
    from tmuxorch.fleet.views.doing import doing_view, summary_view

    if not summary:
        doing = doing_view(fleet(), name)
        if as_json:
            echo_json(doing.to_json())
        else:
            _show_doing(doing)
        return
    view = summary_view(fleet(), name)
    if view.summary_error:
        click.echo(f"tmuxorch: no summary ({view.summary_error})", err=True)
    if as_json:
        echo_json(view.to_json())
    elif view.summary:
        click.echo(view.summary)
    else:
        _show_doing(view.doing)


def _show_doing(doing: DoingView) -> None:
    state = doing.state + (f" ({doing.detail})" if doing.detail else "")
    click.echo(f"{doing.name} is {state}")
    if doing.task:
        click.echo(f"task: {doing.task}")
    if doing.tools:
        click.echo(f"recent tools: {'; '.join(doing.tools)}")
    if doing.failures:
        click.echo(f"failed or denied: {'; '.join(doing.failures)}")
    if doing.last_response:
        click.echo(f"last response: {doing.last_response}")
    if doing.screen:
        click.echo("screen:")
        for line in doing.screen:
            click.echo(f"  {line}")
