"""The click group. Subcommands are imported only when invoked (LazyGroup),
so ``tmuxorch --help`` and quick commands start fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

from tmuxorch import __version__
from tmuxorch.surfaces.cli import completion
from tmuxorch.surfaces.cli.common import Obj

# command name -> "module:attribute" under tmuxorch.surfaces.cli
COMMANDS: dict[str, str] = {
    "spawn": "agents:spawn",
    "send": "agents:send",
    "list": "agents:list_",
    "ls": "agents:list_",
    "status": "agents:status",
    "output": "agents:output",
    "attach": "agents:attach",
    "kill": "agents:kill",
    "rm": "agents:rm",
    "delegate": "delegate:delegate",
    "continue": "delegate:continue_",
    "finish": "delegate:finish",
    "batch": "batch:batch",
    "stop": "lifecycle:stop",
    "resume": "lifecycle:resume",
    "fork": "lifecycle:fork",
    "rename": "renaming:rename",
    "name": "renaming:name_",
    "up": "lifecycle:up",
    "restore": "lifecycle:up",
    "cleanup": "lifecycle:cleanup",
    "events": "events:events",
    "lock": "locks:lock",
    "unlock": "locks:unlock",
    "locks": "locks:locks_",
    "hooks": "hooks_cmd:hooks",
    "broadcast": "coord:broadcast",
    "children": "coord:children",
    "others": "coord:others",
    "alone": "coord:alone",
    "whoami": "coord:whoami",
    "what": "coord:what",
    "monitor": "control:monitor",
    "wait": "control:wait",
    "approve": "control:approve",
    "deny": "control:deny",
    "interrupt": "control:interrupt",
    "clear": "control:clear",
    "cost": "cost:cost_",
    "history": "cost:history",
    "mcp": "mcp:mcp",
    "setup": "setup:setup",
    "dashboard": "dashboard:dashboard",
    "top": "dashboard:dashboard",
    "status-line": "dashboard:status_line",
    "completion": "completion:completion",
}
HIDDEN_ALIASES = {"ls", "restore"}


class LazyGroup(click.Group):
    """A group whose commands live in modules loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) - HIDDEN_ALIASES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"tmuxorch.surfaces.cli.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return completion.completing(command, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in COMMANDS and name[0] != "-" and not ctx.resilient_parsing:
            raise completion.unknown_command(name, COMMANDS)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


SUMMARIES: dict[str, str] = {
    "spawn": "Start an agent in a new tmux window.",
    "send": "Deliver a message to an agent.",
    "list": "The fleet as a table (alias: ls).",
    "status": "One agent in detail.",
    "output": "An agent's screen or scrollback.",
    "attach": "Attach to the fleet session at an agent's window.",
    "kill": "Force an agent down (its record is kept).",
    "rm": "Remove an agent: window, record, logs.",
    "delegate": "Spawn, send and wait, with a safety net: a structured result.",
    "continue": "Send a correction to a delegated agent; the same result.",
    "finish": "Stop a delegated agent cleanly.",
    "batch": "Run many tasks from a YAML/JSON file.",
    "stop": "Stop an agent gracefully (resumable).",
    "resume": "Start a stopped agent again in its conversation.",
    "fork": "A new agent from another's conversation.",
    "rename": "Rename an agent everywhere (record, history, window).",
    "name": "Rename the agent of this pane.",
    "up": "Bring the fleet back after a reboot (alias: restore).",
    "cleanup": "Remove agents that ended long ago.",
    "events": "The event log.",
    "lock": "Lock a file or directory (default: the workspace).",
    "unlock": "Release a lock.",
    "locks": "Locks held, their holders and waiters.",
    "hooks": "Add tmuxorch's hooks to Claude Code settings (hand-started sessions).",
    "broadcast": "Send a message to many agents.",
    "children": "My children (agents spawned from my pane).",
    "others": "Other agents in my workspace.",
    "alone": "Exit 0 if no other agent shares my workspace.",
    "whoami": "The agent this pane belongs to.",
    "what": "What an agent is doing now.",
    "monitor": "Run the output monitor in the foreground.",
    "wait": "Block until agents reach a state (exit 124 on timeout).",
    "approve": "Answer yes to a permission prompt.",
    "deny": "Answer no to a permission prompt.",
    "interrupt": "Interrupt an agent's turn.",
    "clear": "Reset an agent's conversation.",
    "cost": "Tokens and cost per agent and for the fleet.",
    "history": "An agent's turns: prompt, response, tools, tokens, cost, duration.",
    "mcp": "Serve the fleet as MCP tools over stdio.",
    "setup": "Register the MCP server with Claude Code (and the strategy guide).",
    "dashboard": "A live view of the fleet; keys to attach, approve, deny, interrupt.",
    "top": "The live dashboard (alias of dashboard).",
    "status-line": "Busy / waiting / error counts for tmux's status-right.",
    "completion": "A shell completion script: bash, zsh or fish.",
}

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="tmuxorch")
@click.option("--home", metavar="DIR", help="Fleet home (env TMUXORCH_HOME).")
@click.option("--socket", metavar="NAME", help="tmux socket name (env TMUXORCH_SOCKET).")
@click.option("--config", metavar="FILE", help="config.yaml path (env TMUXORCH_CONFIG).")
@click.option(
    "-v", "--verbose", count=True, help="Log to stderr: -v what happens, -vv tmux's commands too."
)
@click.pass_context
def cli(
    ctx: click.Context, home: str | None, socket: str | None, config: str | None, verbose: int
) -> None:
    """Run a fleet of AI coding agents as live tmux sessions."""
    ctx.obj = Obj(home=home, socket=socket, config=config)
    if verbose:
        _log_to_stderr(verbose)


def _log_to_stderr(verbose: int) -> None:
    """Without -v, Python's last-resort handler shows warnings and above."""
    import logging  # here: a quick command without -v does not pay for it

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("tmuxorch %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tmuxorch")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
