"""The MCP tools about agents: start, look at, answer, steer and end them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tmuxorch.fleet import control, renaming
from tmuxorch.fleet.launching import SpawnRequest
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views import agents as views
from tmuxorch.fleet.views import costs
from tmuxorch.fleet.views.doing import doing_view, summary_view
from tmuxorch.surfaces.mcp.common import AgentName, shown


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
    system_prompt: Annotated[
        str | None, Field(description="Claude: text added to the agent's system prompt.")
    ] = None,
    allowed_tools: Annotated[
        str | None,
        Field(description="Claude: tools that run without asking, e.g. 'Read,Grep,Edit'."),
    ] = None,
    args: Annotated[
        list[str] | None, Field(description="Extra arguments for the agent's program.")
    ] = None,
    host: Annotated[
        str | None,
        Field(description="The host to run it on (list_hosts names them; default: this one)."),
    ] = None,
) -> dict[str, Any]:
    """Start a new agent in its own tmux window and, if a prompt is given, send it its task
    once it is ready. Returns the agent (name, state, cwd, parent, session_id, ...). It works
    on its own from then on: wait_for it, then read its result with get_output."""
    request = SpawnRequest(
        name=name, prompt=prompt, profile=profile, cwd=cwd, model=model,
        permission_mode=permission_mode, env=env, parent=parent, args=tuple(args or ()),
        system_prompt=system_prompt, allowed_tools=allowed_tools, host=host,
    )  # fmt: skip
    return shown(fleet, fleet.spawn(request))


def list_agents(
    fleet: Fleet,
    state: Annotated[
        str | None, Field(description="Only agents in this state, e.g. waiting or busy.")
    ] = None,
) -> dict[str, Any]:
    """Every agent of the fleet with its state (starting, idle, busy, waiting, error, exited,
    stopped), detail (e.g. the question it waits on), parent, queue and locks."""
    return {"agents": [view.to_json() for view in views.agent_views(fleet, state)]}


def get_status(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """One agent in detail: state and detail, cwd, parent and children, Claude session id,
    queued messages, locks held, turns, tokens and cost."""
    return views.agent_view(fleet, name).to_json()


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


def what_is_agent_doing(
    fleet: Fleet,
    name: AgentName,
    summary: Annotated[
        bool,
        Field(
            description="Also a few sentences by a small model (slower, costs a little); "
            "without one, summary is null and summary_error says why."
        ),
    ] = False,
) -> dict[str, Any]:
    """What an agent is doing now, cheaply: its task, its last tool calls, its last response
    and the last lines of its screen. Prefer this to get_output for a quick look."""
    return (summary_view if summary else doing_view)(fleet, name).to_json()


def get_history(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """A Claude agent's turns from its transcript: prompt, response, tools used, tokens,
    cost and duration of each. Use it to review what a worker did."""
    return {"turns": [r.to_json() for r in costs.history_view(fleet, name)]}


def get_cost(
    fleet: Fleet,
    name: Annotated[str | None, Field(description="One agent; omit for the fleet.")] = None,
) -> dict[str, Any]:
    """Tokens and cost (USD) per agent and for the fleet, from Claude transcripts."""
    return costs.cost_view(fleet, name).to_json()


def approve(
    fleet: Fleet,
    name: AgentName,
    always: Annotated[
        bool, Field(description="Also allow this kind of action from now on.")
    ] = False,
) -> dict[str, Any]:
    """Answer yes to the permission prompt an agent in state "waiting" shows (its detail)."""
    control.approve(fleet, name, always=always)
    return shown(fleet, name)


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
    return shown(fleet, name)


def interrupt(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop the agent's current turn (Esc), keeping its conversation: then send_message it
    new directions."""
    control.interrupt(fleet, name)
    return shown(fleet, name)


def clear_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Reset the agent's conversation (/clear) and wait until it is idle: reuse a worker for
    an unrelated task without its old context."""
    control.clear(fleet, name)
    return shown(fleet, name)


def kill_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Force the agent down and close its window; its record and last screen stay."""
    return shown(fleet, fleet.kill(name))


def remove_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Remove an agent entirely: kill it if running, drop its record, logs and screen, and
    free its name."""
    fleet.remove(name)
    return {"name": name, "removed": True}


def stop_agent(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Stop an agent gracefully (/exit for Claude). Its record and conversation stay:
    resume_agent brings it back where it was."""
    return shown(fleet, fleet.stop(name))


def pause_session(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Pause an agent: stop it gracefully, keeping its record and conversation, so that
    resume_agent continues it where it was (the same as stop_agent)."""
    return stop_agent(fleet, name)


def abort_task(fleet: Fleet, name: AgentName) -> dict[str, Any]:
    """Abort the task the agent is working on now (Esc), keeping the agent and its
    conversation: send_message it new directions (the same as interrupt)."""
    return interrupt(fleet, name)


def resume_agent(
    fleet: Fleet,
    name: AgentName,
    message: Annotated[str | None, Field(description="Sent once it is ready.")] = None,
) -> dict[str, Any]:
    """Start a stopped or exited agent again in its own conversation (Claude --resume)."""
    return shown(fleet, fleet.resume(name, message))


def fork_agent(
    fleet: Fleet,
    name: AgentName,
    new: Annotated[str, Field(description="The fork's name: new and unique.")],
    message: Annotated[str | None, Field(description="Sent once it is ready.")] = None,
) -> dict[str, Any]:
    """Start a new agent from another's conversation (Claude --fork-session): it knows
    everything the source knew, and goes its own way from here."""
    return shown(fleet, fleet.fork(name, new, message))


def rename_agent(
    fleet: Fleet,
    name: AgentName,
    new: Annotated[str, Field(description="The new name: unused; letters, digits, . _ -")],
) -> dict[str, Any]:
    """Rename an agent everywhere: its record and history, its tmux window, its children's
    parent, its queued messages and locks. A running agent goes on under the new name."""
    return shown(fleet, renaming.rename(fleet, name, new))
