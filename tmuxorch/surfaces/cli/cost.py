"""cost and history: tokens and money per agent, and per turn, from Claude transcripts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from tmuxorch.surfaces.cli.common import echo_json, fleet, handle_errors, json_option

if TYPE_CHECKING:
    from tmuxorch.claude.pricing import Cost


def _warn_unpriced(models: set[str]) -> None:
    if models:
        click.echo(
            f"tmuxorch: no price for model {', '.join(sorted(models))}: counted as $0 "
            "(set pricing or pricing_default in config)",
            err=True,
        )


def _usd(value: float) -> str:
    return f"${value:.4f}"


@click.command("cost")
@click.argument("name", required=False)
@json_option
@handle_errors
def cost_(name: str | None, as_json: bool) -> None:
    """Tokens and cost of agent NAME, or of every agent and the fleet total."""
    from tmuxorch.fleet.views.costs import cost_view

    view = cost_view(fleet(), name)
    _warn_unpriced(set(view.total.unpriced))
    if as_json:
        echo_json(view.agents[0].to_json() if name else view.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(box=None, pad_edge=False)
    for column in ("NAME", "TURNS", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "COST"):
        out.add_column(column, justify="left" if column == "NAME" else "right", no_wrap=True)

    def add(label: str, turns: int, spent: Cost) -> None:
        tokens = spent.tokens
        counts = (tokens.input, tokens.output, tokens.cache_read, tokens.cache_creation)
        out.add_row(label, str(turns), *(f"{n:,}" for n in counts), _usd(spent.cost_usd))

    for row in view.agents:
        add(row.name, row.turns, row.cost)
    if not name:
        add("TOTAL", view.turns, view.total)
    Console(highlight=False).print(out)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _tools(tools: list[str]) -> str:
    counts: dict[str, int] = {}
    for tool in tools:
        counts[tool] = counts.get(tool, 0) + 1
    return ", ".join(f"{t} x{n}" if n > 1 else t for t, n in counts.items()) or "-"


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@click.command()
@click.argument("name")
@json_option
@handle_errors
def history(name: str, as_json: bool) -> None:
    """Agent NAME's turns: prompt, response, tools, tokens, cost and duration."""
    from tmuxorch.fleet.views.costs import history_view

    reports = history_view(fleet(), name)
    _warn_unpriced({m for r in reports for m in r.cost.unpriced})
    if as_json:
        echo_json([r.to_json() for r in reports])
        return
    if not reports:
        click.echo(f"no turns in {name}'s transcript yet")
        return
    for report in reports:
        turn, tokens = report.turn, report.cost.tokens
        started = datetime.fromtimestamp(turn.started).strftime("%H:%M:%S") if turn.started else ""
        click.echo(
            f"#{turn.seq}  {started}  {_duration(report.duration)}  {_usd(report.cost.cost_usd)}"
            f"  in {tokens.input:,} · out {tokens.output:,} · cache read "
            f"{tokens.cache_read:,} · cache write {tokens.cache_creation:,}"
        )
        click.echo(f"  > {_excerpt(turn.prompt)}")
        if turn.response:
            click.echo(f"  < {_excerpt(turn.response)}")
        click.echo(f"  tools: {_tools(turn.tools)}")
