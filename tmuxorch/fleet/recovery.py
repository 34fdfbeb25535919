"""Recovery of the claims of a deliverer that died mid-delivery (a monitor
killed, even by -9): each claimed message is decided by how far its delivery
got and by what the agent's screen shows, so that none arrives twice or is
lost, and none is retyped when nobody can tell whether it arrived."""

from __future__ import annotations

import os
from collections.abc import Callable

from tmuxorch.core.errors import DeliveryError, TmuxorchError
from tmuxorch.core.records import Message
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import delivery
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.prompting import POSTING


def recover_claims(fleet: Fleet, alive: Callable[[int, int | None], bool]) -> None:
    """After a deliverer died mid-delivery, decide each of its claims by how far
    it got: taken by the agent (its UserPromptSubmit carries the text, or the
    screen shows it submitted) is delivered; never submitted is queued again,
    its leftovers cleared from the input line; when the screen cannot tell,
    failed, with the reason, rather than retyped behind the user's back."""
    for message in fleet.store.claimed_messages():
        if message.claimed_by is not None and alive(message.claimed_by, message.claimed_start):
            continue
        recipient = fleet.store.get_agent(message.recipient)
        if recipient is not None and not fleet.mine(recipient):
            continue  # its deliverer is on its host, whose processes are not seen here
        _recover(fleet, message)


def recover_stranded(fleet: Fleet, recipient: str) -> None:
    """The claims this process left for ``recipient`` when the store could not
    be reached mid-delivery (its deliverer, the one for that agent, is gone),
    decided as those of a deliverer that died."""
    me = os.getpid()
    for message in fleet.store.claimed_messages():
        if message.recipient == recipient and message.claimed_by == me:
            _recover(fleet, message)


def _recover(fleet: Fleet, message: Message) -> None:
    if _taken(fleet, message):
        fleet.store.set_message_status(message.id, "delivered")
    elif message.stage is None:  # nothing typed yet
        fleet.store.requeue_message(message.id)
    elif message.stage == POSTING:
        # Its frame may sit in the agent's inbox, unread yet: no screen
        # tells, and posting again could deliver it twice.
        _fail(fleet, message, "the deliverer died while posting it to the agent's inbox")
    else:
        _recover_typed(fleet, message, message.stage)


def _recover_typed(fleet: Fleet, message: Message, stage: str) -> None:
    agent = fleet.store.get_agent(message.recipient)
    try:
        if agent is None or agent.state in ENDED or not agent.pane_id:
            raise DeliveryError(f"agent {message.recipient!r} is gone")
        profile = fleet.profile(agent.profile)
        draft = message.draft or ""
        taken = delivery.recover(fleet.tmux, agent.pane_id, message.body, profile, stage, draft)
    except TmuxorchError as exc:
        _fail(
            fleet,
            message,
            f"the deliverer died while {stage}, and the screen cannot tell more: {exc}",
        )
        return
    if taken:
        fleet.store.set_message_status(message.id, "delivered")
        fleet.store.add_event(message.recipient, "message", None, f"#{message.id} recovered")
    else:
        fleet.store.requeue_message(message.id)


def _fail(fleet: Fleet, message: Message, reason: str) -> None:
    fleet.store.set_message_status(message.id, "failed", reason)
    fleet.store.add_event(message.recipient, "message-failed", None, f"#{message.id}: {reason}")


def _taken(fleet: Fleet, message: Message) -> bool:
    for event in fleet.store.events(agent=message.recipient, kind="hook:UserPromptSubmit"):
        if event.ts >= (message.claimed_at or 0) and message.body.strip() in str(
            event.data.get("prompt", "")
        ):
            return True
    return False
