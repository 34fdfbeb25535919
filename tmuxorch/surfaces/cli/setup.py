"""``tmuxorch setup``: the MCP server and the strategy guide for Claude Code
(the work is in tmuxorch/claude/setup.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tmuxorch.surfaces.cli.common import CliUsage, handle_errors

NEXT_STEPS = {
    "project": "Claude Code started in {dir} now has the tmuxorch tools. To let it use them "
    'without asking each time, add "mcp__tmuxorch" to permissions.allow in '
    ".claude/settings.json.",
    "user": "Restart Claude Code to load the tmuxorch MCP server (tools mcp__tmuxorch__*).",
}


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.command()
@click.option("--project", is_flag=True, help="This directory's .mcp.json "
              "and CLAUDE.md (the default).")  # fmt: skip
@click.option("--user", is_flag=True, help="Your ~/.claude.json and "
              "~/.claude/CLAUDE.md (or $CLAUDE_CONFIG_DIR).")  # fmt: skip
@click.option("--guide", is_flag=True, help="Also add the manager's strategy guide to CLAUDE.md.")
@click.option("--uninstall", is_flag=True, help="Remove the server and the guide again.")
@handle_errors
def setup(project: bool, user: bool, guide: bool, uninstall: bool) -> None:
    """Register tmuxorch's MCP server with Claude Code, so a Claude session can drive
    the fleet with native tools. Asks what to do when run on a terminal with no options."""
    from tmuxorch.claude import setup as domain

    if project and user:
        raise CliUsage("choose one of --project and --user")
    scope = "project" if project else "user" if user else None
    if scope is None and not guide and not uninstall and _interactive():
        scope = click.prompt(
            "Register the MCP server for this project (.mcp.json) or for your user?",
            type=click.Choice(["project", "user"]),
            default="project",
        )
        guide = click.confirm("Add the strategy guide for a manager agent to CLAUDE.md?", True)
    here = Path.cwd()
    where = domain.target("user" if scope == "user" else "project", here)
    changes = domain.uninstall(where) if uninstall else domain.install(where, guide=guide)
    what = {
        where.mcp_json: "the tmuxorch MCP server",
        where.claude_md: "the strategy guide",
        where.approval: "the approval of the tmuxorch MCP server",
    }
    for change in changes:
        backup = f" (backup: {change.backup})" if change.backup else ""
        thing = what[change.path]
        line = {
            "added": f"added {thing} to {change.path}",
            "updated": f"updated {thing} in {change.path}",
            "unchanged": f"{change.path} already has {thing}",
            "removed": f"removed {thing} from {change.path}",
            "absent": f"{change.path} has no {thing}",
        }[change.action]
        click.echo(line + backup)
    if not uninstall:
        click.echo(NEXT_STEPS[where.scope].format(dir=here))
