"""What the bot writes about an agent, and how it finds the agent again in it.

A message of the bot about one agent (a ``waiting`` notice, an answer to
/status, /new, /stop, /kill) begins with ``MARK NAME``: a reply to it, or a
button under it, names its agent by that text alone, so the bot keeps no
table of its messages and a restart loses none of them.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from tmuxorch.fleet import notices
from tmuxorch.fleet.views.agents import AgentView

MARK = "🤖"
# Telegram refuses a longer message (characters).
MAX_TEXT = 4096
# ... and a longer answer to a button's press.
ALERT_TEXT = 200
# What a notice shows of the prompt's text: the question, not a screenful.
DETAIL_CHARS = 1500
_HEAD = re.compile(rf"\A{MARK} ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})(?=\s|\Z)")

APPROVE = "approve"
DENY = "deny"
# The data of the button that replaces Approve and Deny once answered.
ANSWERED = "answered"


def fit(text: str, limit: int = MAX_TEXT) -> str:
    return notices.shorten(text, limit)


def about(text: str | None) -> str | None:
    """The agent a message of the bot is about, or None."""
    match = _HEAD.match(text or "")
    return match[1] if match else None


def waiting_notice(name: str, detail: str) -> str:
    """The notice of an agent that waits for an answer, with the prompt's text."""
    prompt = fit(detail.strip(), DETAIL_CHARS) or "(the prompt's text is not known)"
    reply = f"Reply to this message to send {name} a message."
    return f"{MARK} {name} is waiting for an answer:\n{prompt}\n\n{reply}"


def answer_buttons(event_id: int) -> InlineKeyboardMarkup:
    """Approve and Deny, naming the event that made the notice: a press on an
    old notice cannot answer a newer prompt."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Approve", callback_data=f"{APPROVE} {event_id}"),
                InlineKeyboardButton("Deny", callback_data=f"{DENY} {event_id}"),
            ]
        ]
    )


def outcome(label: str) -> InlineKeyboardMarkup:
    """One button in place of Approve and Deny that says what became of them."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=ANSWERED)]])


def pressed(data: str | None) -> tuple[str, int] | None:
    """The action and the event id of an Approve or Deny button's data."""
    action, _, event = (data or "").partition(" ")
    if action not in (APPROVE, DENY) or not event.isdigit():
        return None
    return action, int(event)


def agent_line(view: AgentView) -> str:
    """One agent in /list."""
    detail = f": {fit(' '.join(view.detail.split()), 80)}" if view.detail else ""
    return f"{view.name} · {view.profile} · {view.state}{detail}"


def agent_text(view: AgentView) -> str:
    """One agent in detail (/status, and what /new, /stop, /kill leave)."""
    lines = [f"{MARK} {view.name} · {view.state}"]
    if view.detail:
        lines.append(fit(view.detail.strip(), DETAIL_CHARS))
    lines.append(f"profile {view.profile} · cwd {view.cwd}")
    if view.parent:
        lines.append(f"parent {view.parent}")
    lines.append(f"turns {view.turns} · cost ${view.cost_usd:.2f} · queued {view.queued}")
    if view.locks:
        lines.append("locks: " + ", ".join(view.locks))
    return fit("\n".join(lines))
