"""``tmuxorch mcp``: the fleet as MCP tools, served over stdio with the official SDK.

Every tool is a thin layer over the same domain functions and views the CLI
calls (:mod:`tmuxorch.fleet`, :mod:`tmuxorch.fleet.views`) and returns the same
JSON objects as the matching ``--json`` output. The tools live by subject in
:mod:`.agents`, :mod:`.messages` and :mod:`.work`; a tool function takes the
Fleet as its first argument. :func:`build` hides that argument from the
schema, opens a fresh Fleet for each call inside a worker thread (SQLite
connections belong to the thread that opened them, and a blocking
``wait_for`` must not stall the event loop) and turns a
:class:`TmuxorchError` into a tool error with a hint, so no expected failure
ends the server.

Inside an agent's pane (``TMUXORCH_AGENT`` set, as for a manager Claude that
tmuxorch spawned) the tools act as that agent, exactly like the CLI there:
parent of what it spawns, sender of what it sends, holder of its locks.

Adding a tool is one function in a tool module plus one :data:`TOOLS` entry.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from tmuxorch import __version__
from tmuxorch.core import errors
from tmuxorch.core.config import Settings
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.surfaces.mcp import agents, messages, work

INSTRUCTIONS = """\
tmuxorch runs coding agents (Claude Code, Codex, Aider, Gemini CLI, shells) as live \
sessions, one tmux window each. You are the manager: spawn workers with a clear task, \
let them work, and check on them without polling. The loop: spawn_agent(name, prompt) -> \
wait_for([name], until="done") -> get_status / get_output to read the result -> \
send_message to correct or continue -> kill_agent when finished. An agent in state \
"waiting" needs a permission answer: read its detail, then approve or deny (with a \
reason). Give each worker its own files or directory; lock shared paths."""

# -- errors ----------------------------------------------------------------------------

HINTS: dict[type[errors.TmuxorchError], str] = {
    errors.TimeoutReached: "The agents are still working: call wait_for again, or look at "
    "get_output / get_status to see how far they got.",
    errors.AgentError: "list_agents shows every agent's name and state; an agent that "
    "exited can be removed with remove_agent and spawned again.",
    errors.ProfileError: "Profiles: claude (the default), codex, aider, gemini, shell, plus "
    "any in config.yaml; the profile's program must be installed.",
    errors.DeliveryError: "get_status / get_output show whether the agent can take input "
    "now; wait_for it to be idle, then send again.",
    errors.LockError: "list_locks shows who holds what: work on something else and retry, "
    "or pass wait_s to wait for the holder.",
    errors.ConfigError: "Fix config.yaml (TMUXORCH_CONFIG), then call the tool again.",
    errors.TmuxError: "tmux failed: check that tmux is installed and the fleet's server runs.",
    errors.StoreError: "The fleet's database under TMUXORCH_HOME is not usable.",
    errors.FileError: "Tell the user: the file's permissions or the disk need fixing.",
}


def tool_error(exc: errors.TmuxorchError) -> ToolError:
    """The tool error the model reads: what went wrong, then what to do about it."""
    hint = next((HINTS[cls] for cls in type(exc).__mro__ if cls in HINTS), None)
    return ToolError(f"{exc}\nHint: {hint}" if hint else str(exc))


@dataclass(frozen=True)
class Tool:
    """One entry of the tool table."""

    fn: Callable[..., Any]
    read_only: bool = False
    destructive: bool = False


TOOLS: tuple[Tool, ...] = (
    Tool(agents.spawn_agent),
    Tool(messages.send_message),
    Tool(messages.wait_for, read_only=True),
    Tool(agents.list_agents, read_only=True),
    Tool(agents.get_status, read_only=True),
    Tool(agents.get_output, read_only=True),
    Tool(agents.what_is_agent_doing, read_only=True),
    Tool(agents.get_history, read_only=True),
    Tool(agents.approve),
    Tool(agents.deny),
    Tool(agents.interrupt, destructive=True),
    Tool(agents.clear_agent, destructive=True),
    Tool(agents.kill_agent, destructive=True),
    Tool(agents.remove_agent, destructive=True),
    Tool(agents.stop_agent, destructive=True),
    Tool(agents.pause_session, destructive=True),
    Tool(agents.abort_task, destructive=True),
    Tool(agents.resume_agent),
    Tool(agents.fork_agent),
    Tool(agents.rename_agent),
    Tool(messages.broadcast),
    Tool(agents.get_cost, read_only=True),
    Tool(work.delegate_task),
    Tool(work.continue_task),
    Tool(work.finish_task, destructive=True),
    Tool(work.batch_run),
    Tool(messages.lock),
    Tool(messages.unlock),
    Tool(messages.list_locks, read_only=True),
    Tool(messages.list_hosts, read_only=True),
    Tool(messages.get_events, read_only=True),
)


# -- the server ----------------------------------------------------------------------------


def _call(fn: Callable[..., Any], settings: Callable[[], Settings], kwargs: dict[str, Any]) -> Any:
    try:
        with Fleet(settings(), long_lived=True) as fleet:
            return fn(fleet, **kwargs)
    except errors.TmuxorchError as exc:
        raise tool_error(exc) from exc
    except OSError as exc:
        if exc.filename is None:
            raise
        raise tool_error(errors.FileError.of(exc)) from exc


def _bind(tool: Tool, settings: Callable[[], Settings]) -> Callable[..., Any]:
    """``tool.fn`` without its Fleet argument, run in a worker thread.

    A call the client cancels (or a server shutting down) abandons the thread
    instead of waiting for it: a ``wait_for`` may block for minutes.
    """
    signature = inspect.signature(tool.fn, eval_str=True)
    params = list(signature.parameters.values())[1:]

    async def run(**kwargs: Any) -> Any:
        call = functools.partial(_call, tool.fn, settings, kwargs)
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    run.__name__ = tool.fn.__name__
    run.__doc__ = tool.fn.__doc__
    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__annotations__["return"] = signature.return_annotation
    return run


def build(settings: Callable[[], Settings]) -> MCPServer[Any]:
    """The MCP server; ``settings`` is resolved afresh for every call, so a config
    error comes back as a tool error and an edit of config.yaml takes effect."""
    server: MCPServer[Any] = MCPServer(
        "tmuxorch", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    for tool in TOOLS:
        server.add_tool(
            _bind(tool, settings),
            description=inspect.cleandoc(tool.fn.__doc__ or ""),
            annotations=ToolAnnotations(
                read_only_hint=tool.read_only,
                destructive_hint=tool.destructive,
                open_world_hint=False,
            ),
        )
    return server


def serve(settings: Callable[[], Settings]) -> None:
    """Serve on stdin/stdout until the client closes stdin, then end the process."""
    build(settings).run("stdio")
    sys.stdout.flush()
    # The client is gone. A blocking call still running in a worker thread
    # (an abandoned wait_for) has nobody to answer: don't let it hold the
    # process until its timeout.
    os._exit(0)
