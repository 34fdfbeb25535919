"""Driving an agent's pane by hand: keys, answers to its prompts, interrupt,
clear, and reading its screen (live, saved, or the end of its pane log)."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from tmuxorch.core import private, screen
from tmuxorch.core.errors import AgentConflict, AgentError, DeliveryError
from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import delivery, routing
from tmuxorch.fleet.lifecycle import Fleet

logger = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|\r")


def _plain(text: str) -> str:
    """Terminal output without escape sequences and carriage returns."""
    return _ANSI.sub("", text)


def _tail(path: Path, size: int) -> str:
    with os.fdopen(private.open_file(path, os.O_RDONLY), "rb") as handle:
        handle.seek(max(0, os.fstat(handle.fileno()).st_size - size))
        return handle.read().decode("utf-8", errors="replace")


def press(fleet: Fleet, name: str, keys: list[str]) -> None:
    """Send key names (Escape, Enter, 1, ...) to the agent's pane."""
    agent = fleet.agent(name)
    if agent.state in ENDED or not agent.pane_id:
        raise AgentConflict(f"agent {name!r} is {agent.state}")
    fleet.tmux.leave_mode(agent.pane_id)
    fleet.tmux.send_keys(agent.pane_id, *keys)


def approve(fleet: Fleet, name: str, *, always: bool = False) -> None:
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "approve", {"always": always})
        return
    agent = _waiting(fleet, agent)
    profile = fleet.profile(agent.profile)

    def keys() -> list[str]:
        chosen = profile.approve_always_keys if always else profile.approve_keys
        if not always and profile.approve_option and agent.pane_id:
            menu = fleet.tmux.capture(agent.pane_id)
            chosen = screen.menu_moves(menu, profile.approve_option) + chosen
        return chosen

    _answer(fleet, agent, keys)
    fleet.store.add_event(name, "approved", None, agent.detail)


def deny(fleet: Fleet, name: str, *, reason: str | None = None) -> None:
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "deny", {"reason": reason})
        return
    agent = _waiting(fleet, agent)
    _answer(fleet, agent, lambda: fleet.profile(agent.profile).deny_keys)
    fleet.store.add_event(name, "denied", None, reason or agent.detail)
    if reason:
        fleet.wait_for([name], "done", timeout=fleet.config.delivery.ready_timeout)
        fleet.type_into(fleet.agent(name), reason)


def _answer(fleet: Fleet, agent: Agent, keys: Callable[[], list[str]]) -> None:
    """Press ``keys`` on the prompt and see it go; pressed once more if nothing
    at all happened (a prompt drawn a moment before it takes keys drops them:
    seen on Claude Code when Claude's own session file tells of it first).
    Only for an agent with hooks: they report any step after the answer, so
    a second prompt that came at once is never taken for the first one."""
    profile = fleet.profile(agent.profile)
    for _ in range(2):
        mark = fleet.store.last_event_id()
        press(fleet, agent.name, keys())
        if not (profile.hooks and profile.waiting and agent.pane_id) or delivery.poll(
            functools.partial(_answered, fleet, agent, mark), fleet.config.delivery.verify_timeout
        ):
            return
        logger.info("the prompt of %s took no answer: pressing again", agent.name)
    raise DeliveryError(f"agent {agent.name!r}: its prompt did not take the answer")


def _answered(fleet: Fleet, agent: Agent, mark: int) -> bool:
    """Did the agent go on after the press: a state other than waiting (a
    hook's PostToolUse says busy at once), or a screen without the prompt?"""
    events = fleet.store.events(agent=agent.name, after=mark)
    if any(e.state is not None and e.state != "waiting" for e in events):
        return True
    now = fleet.store.get_agent(agent.name)
    if now is None or now.state != "waiting" or not now.pane_id or now.pane_id != agent.pane_id:
        return True
    return not _prompt_shown(fleet, agent, now.pane_id)


def _prompt_shown(fleet: Fleet, agent: Agent, pane_id: str) -> bool:
    """Does the pane show a prompt the agent's profile knows?"""
    reading = screen.classify(fleet.profile(agent.profile), fleet.tmux.capture(pane_id))
    return reading.state == "waiting"


def _waiting(fleet: Fleet, agent: Agent) -> Agent:
    """The agent, once its prompt is on screen: a hook can report the prompt
    before the TUI draws it, and keys sent then would go nowhere."""
    if agent.state != "waiting":
        raise AgentConflict(f"agent {agent.name!r} is {agent.state}, not waiting for an answer")
    if fleet.profile(agent.profile).waiting and agent.pane_id:
        shown = functools.partial(_prompt_shown, fleet, agent, agent.pane_id)
        delivery.poll(shown, fleet.config.delivery.verify_timeout)
    return agent


def interrupt(fleet: Fleet, name: str) -> None:
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "interrupt")
        return
    if agent.state in ENDED or not agent.pane_id:
        raise AgentConflict(f"agent {name!r} is {agent.state}")
    profile = fleet.profile(agent.profile)
    settings = fleet.config.delivery
    delivery.interrupt(fleet.tmux, agent.pane_id, profile, agent.task or "", settings)
    fleet.store.add_event(name, "interrupted", None, "")


def clear(fleet: Fleet, name: str) -> None:
    """Reset the conversation (``/clear`` for Claude) and come back idle."""
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        routing.ask(fleet, host, name, "clear")
        return
    command = fleet.profile(agent.profile).clear_command
    if not command:
        raise AgentError(f"profile {agent.profile} has no clear command")
    fleet.type_into(agent, command, confirm=False)
    fleet.store.add_event(name, "cleared", None, "")
    fleet.wait_for([name], "idle", timeout=fleet.config.delivery.ready_timeout)


# -- reading --------------------------------------------------------------------


def output(
    fleet: Fleet, name: str, *, lines: int | None = None, full: bool = False, raw: bool = False
) -> str:
    agent = fleet.agent(name)
    if (host := routing.elsewhere(fleet, agent)) is not None:
        return str(
            routing.ask(fleet, host, name, "output", {"lines": lines, "full": full, "raw": raw})
        )
    pane = fleet.pane(agent)
    if pane is not None:
        start: int | str | None = "-" if full else (-lines if lines else None)
        text = fleet.tmux.capture(pane.pane_id, start=start, escapes=raw)
    elif fleet.screen_path(name).exists():
        text = private.read_text(fleet.screen_path(name)).rstrip("\n")
    elif fleet.log_path(name).exists():
        # Lost with its server (no last screen): the end of its pane log.
        text = _plain(_tail(fleet.log_path(name), 64 * 1024)).rstrip("\n")
    else:
        raise AgentError(f"agent {name!r} has no window, saved screen or log")
    if lines:
        text = "\n".join(text.split("\n")[-lines:])
    return text
