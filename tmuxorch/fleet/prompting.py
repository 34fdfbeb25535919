"""Typing a prompt into an agent's pane, and knowing that the agent took it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tmuxorch.claude.hooks import PROMPT_KEPT
from tmuxorch.core.errors import DeliveryError, TimeoutReached
from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import ENDED

if TYPE_CHECKING:
    from tmuxorch.claude.inbox import Priority
    from tmuxorch.fleet.delivery import Progress
    from tmuxorch.fleet.lifecycle import Fleet


def type_into(
    fleet: Fleet,
    agent: Agent,
    text: str,
    *,
    confirm: bool = True,
    progress: Progress | None = None,
) -> None:
    """Type ``text`` and submit it. For agents with hooks, ``confirm`` waits
    for the UserPromptSubmit hook: the agent itself says it took the text."""
    if agent.state in ENDED or not agent.pane_id:
        raise DeliveryError(f"agent {agent.name!r} is {agent.state}")
    # Start-up cost: ``list --json`` loads this module with Fleet; delivery and
    # notify (watchdog) serve only the commands that type.
    from tmuxorch.fleet import delivery
    from tmuxorch.store.notify import wait_until

    profile = fleet.profile(agent.profile)
    settings = fleet.config.delivery
    # A slash command runs inside Claude Code and fires no UserPromptSubmit:
    # the screen alone (the text left the input line) says it was taken.
    if not (confirm and profile.hooks) or delivery.slash_command(text):
        delivery.type_message(fleet.tmux, agent.pane_id, text, profile, settings, progress)
        return
    mark = fleet.store.last_event_id()
    delivery.type_message(fleet.tmux, agent.pane_id, text, profile, settings, progress)
    try:
        wait_until(
            fleet.store,
            lambda: fleet.store.events(agent=agent.name, after=mark, kind="hook:UserPromptSubmit"),
            settings.verify_timeout,
            lambda: "",
        )
    except TimeoutReached:
        raise DeliveryError("the agent never reported the prompt (UserPromptSubmit)") from None


# The stage a delivery through the inbox records before its frame goes out.
POSTING = "posting"


def post_into(
    fleet: Fleet, agent: Agent, text: str, sender: str, priority: Priority, progress: Progress
) -> bool:
    """Deliver ``text`` through the agent's own inbox (Claude's messaging
    socket) and wait until its UserPromptSubmit carries exactly this text.
    False when the agent has no inbox or nobody answers there: type it then."""
    path = agent.spec.get("inbox")
    if agent.state in ENDED or not path:
        return False
    # Start-up cost: as in ``type_into``.
    from tmuxorch.claude import inbox
    from tmuxorch.store.notify import wait_until

    mark = fleet.store.last_event_id()
    progress(POSTING, "")
    if not inbox.post(Path(path), text, sender, priority):
        return False

    def reported() -> bool:
        events = fleet.store.events(agent=agent.name, after=mark, kind="hook:UserPromptSubmit")
        return any(e.data.get("prompt") == text[:PROMPT_KEPT] for e in events)

    try:
        wait_until(fleet.store, reported, fleet.config.delivery.verify_timeout, lambda: "")
    except TimeoutReached:
        raise DeliveryError(
            "the agent's inbox took the message but the agent never reported it (UserPromptSubmit)"
        ) from None
    return True
