"""``tmuxorch mcp``: the stdio MCP server (see tmuxorch/surfaces/mcp/server.py)."""

from __future__ import annotations

import click

from tmuxorch.surfaces.cli.common import Obj, handle_errors


@click.command()
@handle_errors
def mcp() -> None:
    """Serve the fleet as MCP tools on stdin/stdout (for Claude Code: see `setup`)."""
    from tmuxorch.surfaces.mcp.server import serve

    obj = click.get_current_context().find_object(Obj)
    assert obj is not None
    obj.settings()  # a broken config.yaml stops here, with one clear line
    serve(obj.settings)
