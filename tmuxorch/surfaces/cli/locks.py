"""Manual locks: lock, unlock, locks.

The holder is the calling agent (``TMUXORCH_AGENT``), else the tmux pane,
else ``user``; so a lock taken inside an agent's pane is that agent's, and
auto-lock treats it as re-entrant for the agent's own writes.
"""

from __future__ import annotations

import os

import click

from tmuxorch.surfaces.cli.common import AMOUNT, echo_json, fleet, handle_errors, json_option


@click.command()
@click.argument("path", required=False)
@click.option("--reason", default="", metavar="TEXT", help="Why (shown to whoever is blocked).")
@click.option(
    "--wait",
    type=AMOUNT,
    default=0.0,
    metavar="S",
    help="Wait up to S seconds for another holder to let go (default: fail at once).",
)
@handle_errors
def lock(path: str | None, reason: str, wait: float) -> None:
    """Lock PATH (a file or directory; default: the whole workspace)."""
    from tmuxorch.locks.keys import split_key
    from tmuxorch.locks.manual import take

    f = fleet()
    key = take(
        f.store, path, cwd=os.getcwd(), environ=os.environ, wait=wait,
        lease=f.config.locks.lease, reason=reason, host=f.lock_host,
        shared=f.config.locks.shared_roots,
    )  # fmt: skip
    click.echo(f"locked {split_key(key)[1]}")


@click.command()
@click.argument("path", required=False)
@click.option("--force", is_flag=True, help="Free it even if someone else holds it.")
@handle_errors
def unlock(path: str | None, force: bool) -> None:
    """Unlock PATH (default: the whole workspace)."""
    from tmuxorch.locks.keys import agent_name, cli_holder, describe, split_key
    from tmuxorch.locks.manual import give_back

    f = fleet()
    freed = give_back(
        f.store, path, cwd=os.getcwd(), environ=os.environ, force=force, host=f.lock_host,
        shared=f.config.locks.shared_roots,
    )  # fmt: skip
    mine = freed.holder == cli_holder(os.environ, agent_name(f.store, os.environ)).key
    shown = split_key(freed.path)[1]
    click.echo(f"unlocked {shown}" + ("" if mine else f" (was held by {describe(freed.holder)})"))


@click.command("locks")
@json_option
@handle_errors
def locks_(as_json: bool) -> None:
    """Locks held, with holder, since, expiry, reason and waiters."""
    from tmuxorch.fleet.views.locks import fleet_lock_views

    views = fleet_lock_views(fleet())
    if as_json:
        echo_json([view.to_json() for view in views])
        return
    if not views:
        click.echo("no locks")
        return
    table = [("PATH", "HOST", "HOLDER", "SINCE", "EXPIRES", "WAITERS", "REASON")]
    for view in views:
        shown = view.to_json()
        table.append(
            (
                view.path,
                view.host or "(all)",
                view.holder,
                shown["since"][11:19],
                shown["expires"][11:19],
                ", ".join(view.waiters),
                view.reason,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for r in table:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        )
