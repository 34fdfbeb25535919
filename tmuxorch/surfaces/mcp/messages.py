"""The MCP tools between agents: messages, waits, locks, the event log and the hosts."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import Field

from tmuxorch.fleet import messaging, peers
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.hosts import host_views
from tmuxorch.fleet.views.locks import fleet_lock_views
from tmuxorch.fleet.views.messages import event_views, message_view
from tmuxorch.locks import manual as locks
from tmuxorch.locks.keys import agent_name, cli_holder, split_key
from tmuxorch.surfaces.mcp.common import AgentName, Mode, Until


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
    wait: Annotated[
        bool, Field(description="Return when the agent's turn on it ends, with its answer.")
    ] = False,
    timeout_s: Annotated[
        float | None, Field(description="With wait: give up after this many seconds.", gt=0)
    ] = None,
) -> dict[str, Any]:
    """Send a message to an agent as if typed at its prompt: a follow-up, a correction or an
    answer. Returns {id, to, mode, status}; status is delivered, queued or failed. With
    wait, also response: the agent's answer (its last response of that turn)."""
    sender = agent_name(fleet.store, os.environ)
    msg = messaging.send(fleet, name, message, mode=mode, sender=sender)
    if wait:
        messaging.wait_turn(fleet, msg.id, timeout=timeout_s)
        msg = fleet.store.get_message(msg.id) or msg  # removed with its agent: as sent
    return message_view(fleet, msg, waited=wait).to_json()


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
    me = agent_name(fleet.store, os.environ)
    targets = peers.broadcast_targets(fleet, me, scope)
    sent = messaging.broadcast(fleet, message, targets, mode=mode, sender=me)
    return {"messages": [message_view(fleet, m).to_json() for m in sent]}


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
    return dict(fleet.wait_for(names, until, any_=any, timeout=timeout_s))


def get_events(
    fleet: Fleet,
    agent: Annotated[str | None, Field(description="Only this agent's events.")] = None,
    limit: Annotated[int, Field(description="How many, most recent last.", ge=1)] = 50,
) -> dict[str, Any]:
    """The fleet's event log: state changes, messages, spawns, approvals, kills."""
    return {"events": [e.to_json() for e in event_views(fleet.store, agent, limit=limit)]}


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
        fleet.store, path, cwd=os.getcwd(), environ=os.environ, wait=wait_s,
        lease=fleet.config.locks.lease, reason=reason, host=fleet.lock_host,
        shared=fleet.config.locks.shared_roots,
    )  # fmt: skip
    holder = cli_holder(os.environ, agent_name(fleet.store, os.environ)).key
    return {"path": split_key(key)[1], "holder": holder}


def unlock(
    fleet: Fleet,
    path: Annotated[
        str | None, Field(description="What lock frees (default: the whole workspace).")
    ] = None,
    force: Annotated[bool, Field(description="Free it even if someone else holds it.")] = False,
) -> dict[str, Any]:
    """Release a lock taken with lock, so other agents may write there again; with force,
    also one held by someone else (e.g. a worker that no longer needs it)."""
    freed = locks.give_back(
        fleet.store, path, cwd=os.getcwd(), environ=os.environ, force=force,
        host=fleet.lock_host, shared=fleet.config.locks.shared_roots,
    )  # fmt: skip
    return {"path": split_key(freed.path)[1], "holder": freed.holder}


def list_hosts(fleet: Fleet) -> dict[str, Any]:
    """The fleet's hosts (one daemon each): {name, state (up|lost), last_seen, agents, version}."""
    return {"hosts": [view.to_json() for view in host_views(fleet)]}


def list_locks(fleet: Fleet) -> dict[str, Any]:
    """Every held lock: {path, holder, since, expires, reason, waiters, host}."""
    return {"locks": [view.to_json() for view in fleet_lock_views(fleet)]}
