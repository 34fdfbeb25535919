"""An agent's session after it started: stop, kill, remove and clean up;
resume, fork and ``up`` start it again in its conversation."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from tmuxorch.core.errors import AgentConflict, AgentError, DeliveryError, TmuxError
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent, now
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import launching, prompting, routing
from tmuxorch.locks.acquisition import release_holder
from tmuxorch.tmux.server import check_version

if TYPE_CHECKING:
    from tmuxorch.fleet.lifecycle import Fleet


def kill(fleet: Fleet, name: str) -> Agent:
    """Force the agent's process down and close its window; keep the record."""
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "kill")
        return fleet.agent(name)
    fleet.store.update_agent(name, ended_by="kill")  # before the window goes: not "lost"
    terminate(fleet, agent)
    fleet.store.set_state(name, "exited", "killed", event="killed", ended_by="kill")
    fleet.store.fail_queued(name, f"agent {name!r} is exited")
    release_holder(fleet.store, name)
    return fleet.agent(name)


def terminate(fleet: Fleet, agent: Agent) -> None:
    pane = fleet.pane(agent)
    if pane is None:
        return
    fleet.save_screen(agent)
    if not pane.dead and pane.pid:
        # tmux makes each pane's process a session leader: kill its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pane.pid, signal.SIGKILL)
    fleet.tmux.kill_window(pane.window_id)


def remove(fleet: Fleet, name: str) -> list[str]:
    """Kill if running, then drop the record, logs and generated files;
    its worktree too when it is clean. Returns notes for the user."""
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        return list(routing.ask(fleet, host, name, "remove"))
    terminate(fleet, agent)
    notes = []
    if "worktree" in agent.spec:
        # Start-up cost: worktrees serves a few commands, not those that load this module.
        from tmuxorch.fleet import worktrees

        notes.append(worktrees.remove(worktrees.Worktree(**agent.spec["worktree"])))
    for path in (fleet.log_path(name), fleet.screen_path(name), fleet.settings_path(name)):
        path.unlink(missing_ok=True)
    fleet.store.delete_agent(name)
    return notes


def stop(fleet: Fleet, name: str, *, timeout: float = 15.0) -> Agent:
    """End the agent gracefully (the profile's quit command), keeping its
    record and conversation for ``resume``."""
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "stop", {"timeout": timeout}, longer=timeout)
        return fleet.agent(name)
    if agent.state in ENDED:
        raise AgentConflict(f"agent {name!r} is already {agent.state}")
    fleet.store.update_agent(name, ended_by="stop")
    quit_command = fleet.profile(agent.profile).quit_command
    pane = fleet.pane(agent)
    if quit_command and pane is not None and not pane.dead:
        with contextlib.suppress(DeliveryError, TmuxError):
            prompting.type_into(fleet, agent, quit_command, confirm=False)
    elif pane is not None and not pane.dead and pane.pid:
        # No quit command: SIGTERM is how such a program is asked to end (a
        # wait for nothing to happen was the whole timeout).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pane.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pane is not None and not pane.dead and time.monotonic() < deadline:
        time.sleep(0.1)
        pane = fleet.tmux.pane(pane.pane_id)
    status = pane.dead_status if pane is not None and pane.dead else None
    terminate(fleet, fleet.agent(name))
    fleet.store.set_state(
        name, "stopped", "stopped", event="stopped", exit_status=status, ended_by="stop"
    )
    fleet.store.fail_queued(name, f"agent {name!r} is stopped")
    release_holder(fleet.store, name)
    return fleet.agent(name)


def resume(fleet: Fleet, name: str, message: str | None = None) -> Agent:
    """Start a stopped or exited agent again, in its conversation."""
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "resume", {"message": message})
        return fleet.agent(name)
    if agent.state not in ENDED:
        raise AgentConflict(f"agent {name!r} is {agent.state}: only an ended agent resumes")
    profile = fleet.profile(agent.profile)
    launching.check_installed(profile)
    check_version()
    launching.launch(fleet, agent, profile, resume=_conversation(agent, profile))
    if message:
        fleet.store.add_message(None, name, "sequential", message)
    fleet.ensure_monitor()
    return fleet.agent(name)


def _conversation(agent: Agent, profile: Profile) -> str | None:
    """The Claude conversation to resume, when there is one on disk."""
    if not profile.hooks or not agent.session_id:
        return None
    if agent.transcript_path and not Path(agent.transcript_path).exists():
        return None  # never got a turn: nothing to resume, start afresh
    return agent.session_id if agent.transcript_path else None


def fork(fleet: Fleet, name: str, new: str, message: str | None = None) -> Agent:
    """A new agent from the same conversation (``--fork-session``): same
    profile, cwd, settings and parent; its own session id (from its hooks)."""
    source = fleet.agent(name)
    launching.check_name(new)
    if (host := routing.elsewhere(fleet, source)) is not None:
        # Its conversation is on its host's disk: the fork starts there.
        routing.ask(fleet, host, name, "fork", {"new": new, "message": message})
        return fleet.agent(new)
    profile = fleet.profile(source.profile)
    if profile.hooks and not source.session_id:
        raise AgentError(f"agent {name!r} has no conversation to fork")
    launching.check_installed(profile)
    check_version()
    spec = {k: v for k, v in source.spec.items() if k != "worktree"}
    conversation = _conversation(source, profile)
    stamp = now()
    agent = Agent(
        name=new, profile=source.profile, state="starting", cwd=source.cwd,
        created=stamp, since=stamp, parent=source.parent, spec=spec,
        # No conversation to fork (a shell, a Claude that never had a
        # turn): a fresh start, with a session id of its own.
        session_id=str(uuid.uuid4()) if profile.hooks and conversation is None else None,
    )  # fmt: skip
    fleet.store.insert_agent(agent)
    try:
        launching.launch(fleet, agent, profile, resume=conversation, fork=True)
    except BaseException:
        fleet.store.delete_agent(new, record_event=False)
        raise
    if conversation is not None:
        # A resumed conversation keeps its first system prompt, which names
        # the source agent: tell the fork who it is now.
        note = f"[tmuxorch] You are now agent {new!r}, forked from {name!r}."
        message = f"{note}\n\n{message}" if message else note
    if message:
        fleet.store.add_message(None, new, "sequential", message)
    fleet.ensure_monitor()
    return fleet.agent(new)


def up(fleet: Fleet) -> list[str]:
    """After a reboot or a lost tmux server: bring back every agent of this
    host that was not stopped, killed or removed, resuming Claude
    conversations. Idempotent; returns the names brought back."""
    check_version()
    fleet.reap_strays()  # a Claude left over would hold the conversation it resumes
    panes = fleet.tmux.panes()
    restored = []
    for agent in fleet.store.list_agents():
        if not fleet.mine(agent):
            continue  # its host's tmux server, and `up` there
        pane = fleet.own(agent, panes.get(agent.pane_id or ""))
        if agent.ended_by in ("stop", "kill") or (pane is not None and not pane.dead):
            continue
        if pane is not None:  # its process died while nobody looked
            if agent.state not in ENDED or agent.exit_status is None:
                fleet.mark_exited(agent, pane.dead_status)
            continue
        ended = agent.ended_by != "lost" and agent.state in ENDED
        if ended and not fleet.store.mark_lost(agent.name, agent.since):
            continue  # it had ended on its own before the server went
        profile = fleet.profile(agent.profile)
        launching.launch(fleet, agent, profile, resume=_conversation(agent, profile))
        restored.append(agent.name)
    fleet.ensure_monitor()
    return restored


def cleanup(fleet: Fleet, days: float) -> list[str]:
    """Remove agents that ended more than ``days`` days ago."""
    cutoff = now() - days * 86400
    names = [a.name for a in fleet.store.list_agents() if a.state in ENDED and a.since < cutoff]
    for name in names:
        remove(fleet, name)
    return names
