"""``tmuxorch mcp``: the fleet as MCP tools, served over stdio with the official SDK.

Every tool is a thin layer over the same domain functions the CLI calls
(:class:`tmuxorch.fleet.lifecycle.Fleet`, :mod:`tmuxorch.locks.filelocks`) and returns the same
JSON keys as the matching ``--json`` output. A tool function takes the Fleet
as its first argument; :func:`build` hides that argument from the schema,
opens a fresh Fleet for each call inside a worker thread (SQLite connections
belong to the thread that opened them, and a blocking ``wait_for`` must not
stall the event loop) and turns a :class:`TmuxorchError` into a tool error
with a hint, so no expected failure ends the server.

Inside an agent's pane (``TMUXORCH_AGENT`` set, as for a manager Claude that
tmuxorch spawned) the tools act as that agent, exactly like the CLI there:
parent of what it spawns, sender of what it sends, holder of its locks.

Adding a tool is one function here plus one :data:`TOOLS` entry.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from tmuxorch import __version__
from tmuxorch.claude import cost
from tmuxorch.core import errors
from tmuxorch.core.config import Settings
from tmuxorch.fleet import batch, control, delegate, messaging, views
from tmuxorch.fleet.lifecycle import Fleet, SpawnRequest
from tmuxorch.locks import filelocks as locks

INSTRUCTIONS = """\
tmuxorch runs coding agents (Claude Code, Codex, Aider, Gemini CLI, shells) as live \
sessions, one tmux window each. You are the manager: spawn workers with a clear task, \
let them work, and check on them without polling. The loop: spawn_agent(name, prompt) -> \
wait_for([name], until="done") -> get_status / get_output to read the result -> \
send_message to correct or continue -> kill_agent when finished. An agent in state \
"waiting" needs a permission answer: read its detail, then approve or deny (with a \
reason). Give each worker its own files or directory; lock shared paths."""

# -- parameter types (their descriptions are what the model reads) --------------------

AgentName = Annotated[str, Field(description="The agent's name, as shown by list_agents.")]
Until = Literal["idle", "waiting", "exited", "done"]
Mode = Literal["sequential", "important", "urgent"]

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


# -- the tools ---------------------------------------------------------------------------


def spawn_agent(
    fleet: Fleet,
    name: Annotated[str, Field(description="A new, unique name: letters, digits, . _ -")],
    prompt: Annotated[
        str | None,
        Field(description="The task, sent once the agent is ready. Omit to start it idle."),
    ] = None,
    profile: Annotated[
        str | None,
        Field(description="What to run: claude (default), codex, aider, gemini, shell."),
    ] = None,
    cwd: Annotated[
        str | None, Field(description="Working directory (default: the server's).")
    ] = None,
    model: Annotated[str | None, Field(description="Model for the agent.")] = None,
    permission_mode: Annotated[
        str | None,
        Field(description="Claude Code permission mode: default, acceptEdits, plan, ..."),
    ] = None,
    env: Annotated[dict[str, str] | None, Field(description="Extra environment variables.")] = None,
    parent: Annotated[
        str | None, Field(description="Parent agent (default: the calling agent, if any).")
    ] = None,
) -> dict[str, Any]:
    """Start a new agent in its own tmux window and, if a prompt is given, send it its task
    once it is ready. Returns the agent (name, state, cwd, parent, session_id, ...). It works
    on its own from then on: wait_for it, then read its result with get_output."""
    request = SpawnRequest(
        name=name, prompt=prompt, profile=profile, cwd=cwd, model=model,
        permission_mode=permission_mode, env=env, parent=parent,
    )  # fmt: skip
    return views.info(fleet, fleet.spawn(request))


def send_message(
    fleet: Fleet,
    name: AgentName,
    message: Annotated[str, Field(description="The text, delivered as a prompt.")],
    mode: Annotated[
        Mode,
        Field(
            description="sequential: after what it has queued; important: as soon as its "
            "current turn ends; urgent: interrupt it now."
        ),
    ] = "sequential",
) -> dict[str, Any]:
    """Send a message to an agent as if typed at its prompt: a follow-up, a correction or an
    answer. Returns {id, to, mode, status}; status is delivered, queued or failed."""
    sender = os.environ.get("TMUXORCH_AGENT") or None
    msg = messaging.send(fleet, name, message, mode=mode, sender=sender)
    return {"id": msg.id, "to": msg.recipient, "mode": msg.mode, "status": msg.status}


def wait_for(
    fleet: Fleet,
    names: Annotated[list[str], Field(description="The agents to wait for.", min_length=1)],
    until: Annotated[
        Until,
        Field(
            description="done: stopped working (idle, waiting for an answer, error, exited); "
            "idle: finished its turn; waiting: needs a permission answer; exited: ended."
        ),
    ] = "done",
    any: Annotated[bool, Field(description="Return as soon as one of them gets there.")] = False,
    timeout_s: Annotated[float, Field(description="Give up after this many seconds.", gt=0)] = 600,
) -> dict[str, str]:
    """Block until the agents reach a state, without spending tokens on polling. Returns
    {name: state} for each. Fails with a hint if the timeout passes or an agent ends first."""
    return fleet.wait_for(names, until, any_=any, timeout=timeout_s)


def list_agents(fleet: Fleet) -> dict[str, Any]:
    """Every agent of the fleet with its state (starting, idle, busy, waiting, error, exited,
    stopped), detail (e.g. the question it waits on), parent, queue and locks."""
    return {"agents": views.infos(fleet)}


def get_status(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """One agent in detail: state and detail, cwd, parent and children, Claude session id,
    queued messages, locks held, turns, tokens and cost."""
    fleet.refresh()
    info = views.info(fleet, fleet.agent(name))
    info["children"] = [a.name for a in fleet.store.list_agents() if a.parent == name]
    return info


def get_output(
    fleet: Fleet,
    name: AgentName,
    lines: Annotated[int | None, Field(description="Only the last N lines.", ge=1)] = None,
    full: Annotated[
        bool, Field(description="The whole scrollback, not just the visible screen.")
    ] = False,
) -> str:
    """The agent's terminal screen as text (its last screen once it has exited): read it to
    see what the agent answered, what it is doing or what it asks."""
    return control.output(fleet, name, lines=lines, full=full)


def what_is_agent_doing(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """What an agent is doing now, cheaply: its task, its last tool calls, its last response
    and the last lines of its screen. Prefer this to get_output for a quick look."""
    return messaging.what(fleet, name).to_json()


def get_history(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """A Claude agent's turns from its transcript: prompt, response, tools used, tokens,
    cost and duration of each. Use it to review what a worker did."""
    fleet.agent(name)  # an unknown name is an error, not an empty history
    table = cost.pricing(fleet.config)
    cost.refresh_agent(fleet.store, name, table)
    return {"turns": [r.to_json() for r in cost.history(fleet.store, name, table)]}


def approve(
    fleet: Fleet,
    name: AgentName,
    always: Annotated[
        bool, Field(description="Also allow this kind of action from now on.")
    ] = False,
) -> dict[str, Any]:
    """Answer yes to the permission prompt an agent in state "waiting" shows (its detail)."""
    control.approve(fleet, name, always=always)
    return views.info(fleet, fleet.agent(name))


def deny(
    fleet: Fleet,
    name: AgentName,
    reason: Annotated[
        str | None, Field(description="Why, or what to do instead: sent to the agent.")
    ] = None,
) -> dict[str, Any]:
    """Answer no to the permission prompt an agent in state "waiting" shows; a reason is sent
    as its next message so it can change course."""
    control.deny(fleet, name, reason=reason)
    return views.info(fleet, fleet.agent(name))


def interrupt(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop the agent's current turn (Esc), keeping its conversation: then send_message it
    new directions."""
    control.interrupt(fleet, name)
    return views.info(fleet, fleet.agent(name))


def clear_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Reset the agent's conversation (/clear) and wait until it is idle: reuse a worker for
    an unrelated task without its old context."""
    control.clear(fleet, name)
    return views.info(fleet, fleet.agent(name))


def kill_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Force the agent down and close its window; its record and last screen stay."""
    return views.info(fleet, fleet.kill(name))


def remove_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Remove an agent entirely: kill it if running, drop its record, logs and screen, and
    free its name."""
    fleet.remove(name)
    return {"name": name, "removed": True}


def stop_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop an agent gracefully (/exit for Claude). Its record and conversation stay:
    resume_agent brings it back where it was."""
    return views.info(fleet, fleet.stop(name))


def resume_agent(
    fleet: Fleet,
    name: AgentName,
    message: Annotated[str | None, Field(description="Sent once it is ready.")] = None,
) -> dict[str, Any]:
    """Start a stopped or exited agent again in its own conversation (Claude --resume)."""
    return views.info(fleet, fleet.resume(name, message))


def fork_agent(
    fleet: Fleet,
    name: AgentName,
    new: Annotated[str, Field(description="The fork's name: new and unique.")],
    message: Annotated[str | None, Field(description="Sent once it is ready.")] = None,
) -> dict[str, Any]:
    """Start a new agent from another's conversation (Claude --fork-session): it knows
    everything the source knew, and goes its own way from here."""
    return views.info(fleet, fleet.fork(name, new, message))


def broadcast(
    fleet: Fleet,
    message: Annotated[str, Field(description="The text every recipient gets.")],
    scope: Annotated[
        Literal["children", "all"] | None,
        Field(description="children: my workers; all: every live agent but me."),
    ] = None,
    mode: Annotated[
        Mode, Field(description="sequential, important (next), or urgent (interrupts).")
    ] = "sequential",
) -> dict[str, Any]:
    """Send one message to many agents. Returns one {id, to, mode, status} per recipient."""
    me = os.environ.get("TMUXORCH_AGENT") or None
    targets = messaging.broadcast_targets(fleet, me, scope)
    sent = messaging.broadcast(fleet, message, targets, mode=mode, sender=me)
    return {
        "messages": [
            {"id": m.id, "to": m.recipient, "mode": m.mode, "status": m.status} for m in sent
        ]
    }


def get_cost(
    fleet: Fleet,
    name: Annotated[str | None, Field(description="One agent; omit for the fleet.")] = None,
) -> dict[str, Any]:
    """Tokens and cost (USD) per agent and for the fleet, from Claude transcripts."""
    names = [fleet.agent(name).name] if name else [a.name for a in fleet.store.list_agents()]
    return cost.report(fleet.store, names, cost.pricing(fleet.config))


Preset = Literal["read-only", "review", "edit", "full", "plan"]
MaxCost = Annotated[float | None, Field(description="Stop when the task has cost this (USD).")]
MaxTurns = Annotated[
    int | None,
    Field(description="Stop after this many model steps (a prompt's, one after each tool call)."),
]
TimeoutS = Annotated[float | None, Field(description="Stop after this many seconds.")]


def delegate_task(
    fleet: Fleet,
    name: Annotated[str, Field(description="A new, unique name for the worker.")],
    task: Annotated[str, Field(description="What to do: self-contained, with the goal.")],
    preset: Annotated[
        Preset,
        Field(
            description="read-only/review: only reading tools run unasked; edit: file edits "
            "allowed; full: everything allowed; plan: plan mode."
        ),
    ] = "edit",
    max_cost: MaxCost = None,
    max_turns: MaxTurns = None,
    timeout_s: TimeoutS = None,
    context: Annotated[str | None, Field(description="Background put before the task.")] = None,
    cwd: Annotated[str | None, Field(description="Working directory.")] = None,
) -> dict[str, Any]:
    """Spawn a worker, give it a task and wait for the outcome: {status, response, cost_usd,
    turns, duration_s, session_id, name, can_continue, tools_used, safety, error}. status is
    completed, needs_input (a prompt waits: approve/deny or continue_task), failed,
    cost_exceeded, turns_exceeded or timeout."""
    limits = delegate.Limits(max_cost=max_cost, max_turns=max_turns, timeout=timeout_s)
    return delegate.delegate(
        fleet, name, task, preset=preset, limits=limits, context=context, cwd=cwd
    ).to_json()


def continue_task(
    fleet: Fleet,
    name: AgentName,
    message: Annotated[str, Field(description="The correction or next step.")],
    max_cost: MaxCost = None,
    max_turns: MaxTurns = None,
    timeout_s: TimeoutS = None,
) -> dict[str, Any]:
    """Send a delegated worker a correction and wait again; the same result as
    delegate_task. A permission prompt it waits on (needs_input) is denied first."""
    limits = delegate.Limits(max_cost=max_cost, max_turns=max_turns, timeout=timeout_s)
    return delegate.continue_(fleet, name, message, limits=limits).to_json()


def finish_task(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop a delegated worker cleanly once its result is in."""
    delegate.finish(fleet, name)
    return views.info(fleet, fleet.agent(name))


def batch_run(
    fleet: Fleet,
    tasks: Annotated[
        list[dict[str, Any]],
        Field(
            description="Tasks: {name, prompt} and optionally agent, cwd, model, "
            "permission_mode, depends_on (names), timeout (seconds)."
        ),
    ],
    max_parallel: Annotated[int, Field(description="How many run at once.", ge=1)] = 4,
    timeout_s: TimeoutS = None,
) -> dict[str, Any]:
    """Run many tasks, in dependency order, a few at a time, and wait for all of them:
    {ok, tasks: [{name, status, response, cost_usd, duration_s, error}]}."""
    runner = batch.Batch(fleet, batch.parse(tasks), max_parallel, timeout_s)
    runner.run(lambda _: None)
    return {"ok": runner.ok(), "tasks": [r.to_json() for r in runner.runs.values()]}


def lock(
    fleet: Fleet,
    path: Annotated[
        str | None,
        Field(description="A file or directory (default: the whole workspace)."),
    ] = None,
    reason: Annotated[str, Field(description="Why: shown to whoever is blocked.")] = "",
    wait_s: Annotated[
        float, Field(description="Wait this long for another holder to let go.", ge=0)
    ] = 0,
) -> dict[str, Any]:
    """Lock a path so no other agent writes under it until you unlock it (agents' own writes
    are locked automatically per file; use this to reserve a directory or a whole task)."""
    key = locks.take(
        fleet.store, path, cwd=os.getcwd(), environ=os.environ,
        wait=wait_s, lease=fleet.config.locks.lease, reason=reason,
    )  # fmt: skip
    return {"path": key, "holder": locks.cli_holder(os.environ).key}


def unlock(
    fleet: Fleet,
    path: Annotated[
        str | None, Field(description="What lock frees (default: the whole workspace).")
    ] = None,
    force: Annotated[bool, Field(description="Free it even if someone else holds it.")] = False,
) -> dict[str, Any]:
    """Release a lock taken with lock, so other agents may write there again; with force,
    also one held by someone else (e.g. a worker that no longer needs it)."""
    freed = locks.give_back(fleet.store, path, cwd=os.getcwd(), environ=os.environ, force=force)
    return {"path": freed.path, "holder": freed.holder}


def list_locks(fleet: Fleet) -> dict[str, Any]:
    """Every held lock: {path, holder, since, expires, reason, waiters}."""
    return {"locks": locks.table(fleet.store)}


def get_events(
    fleet: Fleet,
    agent: Annotated[str | None, Field(description="Only this agent's events.")] = None,
    limit: Annotated[int, Field(description="How many, most recent last.", ge=1)] = 50,
) -> dict[str, Any]:
    """The fleet's event log: state changes, messages, spawns, approvals, kills."""
    return {"events": [e.to_json() for e in fleet.store.events(agent=agent, limit=limit)]}


@dataclass(frozen=True)
class Tool:
    """One entry of the tool table."""

    fn: Callable[..., Any]
    read_only: bool = False
    destructive: bool = False


TOOLS: tuple[Tool, ...] = (
    Tool(spawn_agent),
    Tool(send_message),
    Tool(wait_for, read_only=True),
    Tool(list_agents, read_only=True),
    Tool(get_status, read_only=True),
    Tool(get_output, read_only=True),
    Tool(what_is_agent_doing, read_only=True),
    Tool(get_history, read_only=True),
    Tool(approve),
    Tool(deny),
    Tool(interrupt, destructive=True),
    Tool(clear_agent, destructive=True),
    Tool(kill_agent, destructive=True),
    Tool(remove_agent, destructive=True),
    Tool(stop_agent, destructive=True),
    Tool(resume_agent),
    Tool(fork_agent),
    Tool(broadcast),
    Tool(get_cost, read_only=True),
    Tool(delegate_task),
    Tool(continue_task),
    Tool(finish_task, destructive=True),
    Tool(batch_run),
    Tool(lock),
    Tool(unlock),
    Tool(list_locks, read_only=True),
    Tool(get_events, read_only=True),
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
