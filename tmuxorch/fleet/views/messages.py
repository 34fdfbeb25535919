"""Messages and events as the JSON contract shows them (``send``/``broadcast``
/``events --json``, the MCP tools)."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Event, Message, iso
from tmuxorch.fleet import messaging
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.store.interface import Store


@frozen
class MessageView:
    """``{id, to, mode, status}``, ``note`` when ``send`` has something to
    say about a delivered message beyond its status, and ``response`` (the
    answer of the turn it started) when the sender waited for that turn."""

    id: int
    to: str
    mode: str
    status: str
    note: str = ""
    response: str | None = None

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        if not self.note:
            del shown["note"]
        if self.response is None:
            del shown["response"]
        return shown


def message_view(fleet: Fleet, message: Message, *, waited: bool = False) -> MessageView:
    """The view of ``message``; ``waited``: its turn is over, show its answer."""
    note = messaging.note(fleet, message)
    response = messaging.turn_response(fleet, message) if waited else None
    return MessageView(message.id, message.recipient, message.mode, message.status, note, response)


@frozen
class EventView:
    """One line of ``events --json``: the event as recorded, its time in ISO-8601."""

    event: Event

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.event), "ts": iso(self.event.ts)}


def event_views(
    store: Store, agent: str | None = None, *, limit: int | None = None, after: int = 0
) -> list[EventView]:
    """The event log, oldest first: the last ``limit`` events, or those after id ``after``."""
    return [EventView(e) for e in store.events(agent=agent, limit=limit, after=after)]
