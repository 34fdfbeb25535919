"""rename OLD NEW, and name NEW from inside an agent's pane."""

from __future__ import annotations

import os

import click

from tmuxorch.core.records import Agent
from tmuxorch.surfaces.cli.common import echo_json, fleet, handle_errors, json_option


@click.command()
@click.argument("old")
@click.argument("new")
@json_option
@handle_errors
def rename(old: str, new: str, as_json: bool) -> None:
    """Rename agent OLD to NEW everywhere: record, history, window, children's parent."""
    from tmuxorch.fleet import renaming

    _show(renaming.rename(fleet(), old, new), old, as_json)


@click.command("name")
@click.argument("new")
@json_option
@handle_errors
def name_(new: str, as_json: bool) -> None:
    """Rename the agent this pane belongs to NEW."""
    from tmuxorch.fleet import renaming

    f = fleet()
    old = renaming.caller(f, os.environ)
    _show(renaming.rename(f, old, new), old, as_json)


def _show(agent: Agent, old: str, as_json: bool) -> None:
    if as_json:
        from tmuxorch.fleet.views import agents as views

        echo_json(views.of(fleet(), agent).to_json())
    else:
        click.echo(f"renamed {old} to {agent.name}")
