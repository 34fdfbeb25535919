"""The fleet's hosts: ``hosts``."""

from __future__ import annotations

import click

from tmuxorch.surfaces.cli.common import echo_json, fleet, handle_errors, json_option


@click.command()
@json_option
@handle_errors
def hosts(as_json: bool) -> None:
    """The fleet's hosts: up or lost, their last heartbeat, how many agents."""
    from tmuxorch.fleet.views.hosts import host_views

    views = host_views(fleet())
    if as_json:
        echo_json([view.to_json() for view in views])
        return
    if not views:
        click.echo("no hosts (a host appears once its daemon runs: `tmuxorch daemon`)")
        return
    from rich.console import Console
    from rich.table import Table

    from tmuxorch.core.records import now
    from tmuxorch.surfaces.dashboard import age

    table = Table(box=None, pad_edge=False)
    for column in ("HOST", "STATE", "SEEN", "AGENTS", "VERSION"):
        table.add_column(column, no_wrap=True)
    for view in views:
        style = "green" if view.state == "up" else "red"
        seen = f"{age(now() - view.last_seen)} ago"
        table.add_row(view.name, f"[{style}]{view.state}[/]", seen, str(view.agents), view.version)
    Console(highlight=False).print(table)
