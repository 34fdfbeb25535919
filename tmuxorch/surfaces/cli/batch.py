"""batch FILE: many tasks with a live view and an honest summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tmuxorch.surfaces.cli.common import AMOUNT, echo_json, fleet, handle_errors

if TYPE_CHECKING:
    from rich.table import Table

    from tmuxorch.fleet.batch import Batch

_STYLE = {
    "completed": "green",
    "running": "yellow",
    "pending": "dim",
    "failed": "bold red",
    "timeout": "bold red",
    "needs_input": "magenta",
    "skipped": "dim red",
    "cancelled": "dim red",
}


def _table(batch: Batch, *, final: bool) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("TASK", "STATUS", "STATE", "TIME", "COST", "RESULT" if final else "DETAIL"):
        table.add_column(column, overflow="ellipsis", no_wrap=column != "RESULT")
    for run in batch.runs.values():
        status = f"[{_STYLE.get(run.status, '')}]{run.status}[/]"
        last = run.response if run.status == "completed" else (run.error or "")
        table.add_row(
            run.task.name, status, run.state, f"{run.duration:.0f}s", f"${run.cost_usd:.4f}",
            " ".join(last.split())[:200],
        )  # fmt: skip
    return table


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--max-parallel", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--timeout", type=AMOUNT, metavar="S", help="Per task, by default.")
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
@handle_errors
def batch(file: Path, max_parallel: int, timeout: float | None, as_json: bool) -> None:
    """Run the tasks in FILE (YAML or JSON), up to --max-parallel at once.

    Each task: name, prompt, and optionally agent, cwd, model, permission_mode,
    depends_on, timeout. Exits 1 if any task did not complete.
    """
    from rich.console import Console
    from rich.live import Live

    from tmuxorch.fleet.batch import Batch, load

    tasks = load(file)
    runner = Batch(fleet(), tasks, max_parallel, timeout)
    console = Console(stderr=as_json, highlight=False)
    seen: dict[str, str] = {}

    def plain(batch: Batch) -> None:
        for run in batch.runs.values():
            if seen.get(run.task.name) != run.status:
                seen[run.task.name] = run.status
                console.print(f"{run.task.name}: {run.status}", markup=False)

    try:
        if console.is_terminal:
            with Live(_table(runner, final=False), console=console, refresh_per_second=2) as live:
                runner.run(lambda b: live.update(_table(b, final=False)))
        else:
            runner.run(plain)
    except KeyboardInterrupt:
        runner.cancel()
        console.print("interrupted: running tasks were stopped", markup=False)
    if as_json:
        from tmuxorch.fleet.views.batches import BatchView

        echo_json(BatchView.of(runner).to_json())
    else:
        console.print(_table(runner, final=True))
        done = sum(r.status == "completed" for r in runner.runs.values())
        console.print(f"{done}/{len(runner.runs)} tasks completed", markup=False)
    sys.exit(0 if runner.ok() else 1)
