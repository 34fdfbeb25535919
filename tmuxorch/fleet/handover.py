"""Handing a claimed message to its agent: through a Claude agent's own inbox
(its messaging socket) when config and the message allow, else typed."""

from __future__ import annotations

from tmuxorch.core.records import Agent, Message
from tmuxorch.fleet import control, delivery, prompting
from tmuxorch.fleet.delivery import Progress
from tmuxorch.fleet.lifecycle import Fleet

# What starts a note from tmuxorch itself (``messaging.notify``).
NOTE = "[tmuxorch] "


def through_inbox(policy: str, message: Message) -> bool:
    """Does config ``delivery.inbox`` send this message through a Claude
    agent's own inbox? The model reads what comes that way as another
    session's words, "not typed by your user": right for other agents and
    tmuxorch's notices (``peers``); a person's own ``send`` is typed unless
    ``all``. A slash command is always typed: only the composer runs it."""
    if policy == "never" or delivery.slash_command(message.body):
        return False
    return policy == "all" or message.sender is not None or message.body.startswith(NOTE)


def cuts_turn(fleet: Fleet, agent: Agent, message: Message) -> bool:
    """Does this urgent message end the busy agent's turn through its inbox
    (priority ``now``: Claude stops the turn itself, no key is pressed and
    the composer is left alone) rather than the interrupt keys?"""
    return (
        message.mode == "urgent"
        and agent.state == "busy"
        and bool(agent.spec.get("inbox"))
        and through_inbox(fleet.config.delivery.inbox, message)
    )


def hand_over(fleet: Fleet, agent: Agent, message: Message, progress: Progress) -> bool:
    """Deliver ``message`` (claimed) to ``agent``; raises DeliveryError when
    it was not taken. False when an urgent one meant to cut a busy turn found
    no inbox answering: it is queued again and the agent interrupted with the
    keys, to be delivered once idle, as an urgent message always was."""
    urgent = message.mode == "urgent"
    if through_inbox(fleet.config.delivery.inbox, message) and prompting.post_into(
        fleet, agent, message.body, f"tmuxorch-{message.id}", "now" if urgent else "next", progress
    ):
        return True
    if urgent and agent.state == "busy":
        fleet.store.requeue_message(message.id)
        control.interrupt(fleet, agent.name)
        return False
    fleet.type_into(agent, message.body, progress=progress)
    return True
