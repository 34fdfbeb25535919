"""What a person is told, and when: an event of the store (as ``events
--json`` shows it) becomes a :class:`Notice`, the same text for every
channel (the daemon's Apprise notifications, the Telegram bot). Pure: no
store, no tmux.

``notice_for(event, previous, kinds, screen="")`` gives the notice of one
event, or None: ``previous`` is the agent's state before the event (a turn
ends when it goes from busy or waiting to idle), ``kinds`` the kinds wanted
(config ``notify.on``), ``screen`` the agent's screen for a ``done`` that
carries no response (an agent without hooks: a shell's command ended).
``merge(notices)`` folds several notices of one agent into one.
"""

from __future__ import annotations

from collections.abc import Collection

from tmuxorch.core.records import Event, Notice
from tmuxorch.core.states import is_lost_detail
from tmuxorch.core.vocab import NoticeKind, State

# A notice's body stays readable on a phone's lock screen and in a chat.
BODY_LIMIT = 600
# The end of a screen that says how a command ended.
_SCREEN_LINES = 8
_TITLES: dict[NoticeKind, str] = {
    "waiting": "{agent} is waiting for you",
    "error": "{agent} failed",
    "done": "{agent} is done",
    "violation": "{agent} reached a limit",
    "lost": "{agent} is lost",
}
# A turn ended when the agent goes idle from one of these.
_IN_TURN: tuple[State, ...] = ("busy", "waiting")


def kind_of(event: Event, previous: State | None) -> NoticeKind | None:
    """Which notice the event is, if any."""
    if event.event == "violation":
        return "violation"
    state = event.state
    if state == "waiting":
        # Also waiting to waiting: an event then says the detail changed (the
        # screen read the prompt's own text after the hook's tool line).
        return "waiting"
    if state == "error" and previous != "error":
        return "error"
    if state == "idle" and (previous in _IN_TURN or event.event == "hook:Stop"):
        return "done"  # a Stop hook that set idle ended a turn, whatever was known before
    if state == "exited" and is_lost_detail(event.detail):
        return "lost"
    return None


def notice_for(
    event: Event, previous: State | None, kinds: Collection[str], screen: str = ""
) -> Notice | None:
    kind = kind_of(event, previous)
    if kind is None or kind not in kinds or not event.agent:
        return None
    if kind == "done":
        body = str(event.data.get("last") or "") or _tail(screen)
    elif kind == "lost":
        body = f"{event.detail}, unseen: `tmuxorch up` on its host brings it back"
    else:
        body = event.detail
    title = _TITLES[kind].format(agent=event.agent)
    return Notice(event.agent, kind, title, shorten(body), event.id)


def merge(notices: list[Notice]) -> Notice:
    """One notice for several about one agent (oldest first): the newest's
    kind and title, each one's title and body in order, so nothing is lost.
    Notices that all say the same (a hook's waiting, then the screen's
    question) are one, with each body."""
    last = notices[-1]
    if len(notices) == 1:
        return last
    if all(n.title == last.title for n in notices):
        bodies = [n.body for n in notices if n.body]
        body = "\n".join(b for i, b in enumerate(bodies) if b not in bodies[:i])
        return Notice(
            last.agent, last.kind, last.title, shorten(body, BODY_LIMIT * 2), last.event_id
        )
    parts = [f"{n.title}: {n.body}" if n.body else n.title for n in notices]
    title = f"{last.title} (+{len(notices) - 1} more)"
    return Notice(
        last.agent, last.kind, title, shorten("\n".join(parts), BODY_LIMIT * 2), last.event_id
    )


def shorten(text: str, limit: int = BODY_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _tail(screen: str) -> str:
    lines = [line.rstrip() for line in screen.strip().splitlines()]
    return "\n".join(lines[-_SCREEN_LINES:])
