"""The CLI's commands and global options as data, without click: the click
group (``surfaces/cli``) is built from it, and so is the top-level help that
``entry`` prints without importing click (``surfaces/quick``)."""

from __future__ import annotations

PROG = "tmuxorch"
# Set, it asks click for completions (surfaces/cli/completion): no fast path then.
COMPLETE_VAR = "_TMUXORCH_COMPLETE"

# The group's help text.
GROUP_HELP = "Run a fleet of AI coding agents as live tmux sessions."

# Global options in the order the help lists them: long name -> (flags, metavar, help).
OPTIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "--version": (("--version",), None, "Show the version and exit."),
    "--home": (("--home",), "DIR", "Fleet home (env TMUXORCH_HOME)."),
    "--socket": (("--socket",), "NAME", "tmux socket name (env TMUXORCH_SOCKET)."),
    "--config": (("--config",), "FILE", "config.yaml path (env TMUXORCH_CONFIG)."),
    "--verbose": (
        ("-v", "--verbose"),
        None,
        "Log to stderr: -v what happens, -vv tmux's commands too.",
    ),
    "--help": (("-h", "--help"), None, "Show this message and exit."),
}

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
    "daemon": "control:monitor",
    "monitor": "control:monitor",
    "hosts": "hosting:hosts",
    "wait": "control:wait",
    "approve": "control:approve",
    "deny": "control:deny",
    "interrupt": "control:interrupt",
    "clear": "control:clear",
    "cost": "cost:cost_",
    "history": "cost:history",
    "mcp": "mcp:mcp",
    "serve": "serve:serve",
    "setup": "setup:setup",
    "dashboard": "dashboard:dashboard",
    "top": "dashboard:dashboard",
    "status-line": "dashboard:status_line",
    "completion": "completion:completion",
}
HIDDEN_ALIASES = {"ls", "restore", "monitor"}

# Short help per command, for the group's help: no command module is imported.
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
    "daemon": "Run this host's daemon in the foreground (alias: monitor).",
    "hosts": "The fleet's hosts: up or lost, last heartbeat, agents.",
    "wait": "Block until agents reach a state (exit 124 on timeout).",
    "approve": "Answer yes to a permission prompt.",
    "deny": "Answer no to a permission prompt.",
    "interrupt": "Interrupt an agent's turn.",
    "clear": "Reset an agent's conversation.",
    "cost": "Tokens and cost per agent and for the fleet.",
    "history": "An agent's turns: prompt, response, tools, tokens, cost, duration.",
    "mcp": "Serve the fleet as MCP tools over stdio.",
    "serve": "Serve the fleet over HTTP: JSON API, event stream, /docs.",
    "setup": "Register the MCP server with Claude Code (and the strategy guide).",
    "dashboard": "A live view of the fleet; keys to attach, approve, deny, interrupt.",
    "top": "The live dashboard (alias of dashboard).",
    "status-line": "Busy / waiting / error counts for tmux's status-right.",
    "completion": "A shell completion script: bash, zsh or fish.",
}
