"""The event log."""

from __future__ import annotations

import json

import click

from tmuxorch.core.records import Event, iso
from tmuxorch.fleet.views.messages import EventView, event_views
from tmuxorch.surfaces.cli.common import fleet, handle_errors, json_option


def _line(event: Event) -> str:
    stamp = (iso(event.ts) or "")[11:23]
    state = f" -> {event.state}" if event.state else ""
    detail = f"  {event.detail}" if event.detail else ""
    return f"{stamp}  {event.agent or '-':<16} {event.event}{state}{detail}"


@click.command()
@click.option("--agent", metavar="NAME", help="Only this agent's events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many past events.")  # fmt: skip
@json_option
@handle_errors
def events(agent: str | None, follow: bool, limit: int, as_json: bool) -> None:
    """The event log: state changes, messages, spawns, removals."""
    store = fleet().store

    def show(items: list[EventView]) -> int:
        last = 0
        for view in items:
            if as_json:
                click.echo(json.dumps(view.to_json(), ensure_ascii=False))
            else:
                click.echo(_line(view.event))
            last = view.event.id
        return last

    if not follow:
        show(event_views(store, agent, limit=limit))
        return
    # Watch before the first read so no event falls between the two.
    with store.changes() as changes:
        last = show(event_views(store, agent, limit=limit))
        while True:
            last = max(last, show(event_views(store, agent, after=last)))
            changes.wait(timeout=5.0)
