"""Messages and events as the JSON contract shows them (``send``/``broadcast``
/``events --json``, the MCP tools)."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import Event, Message, iso
from tmuxorch.fleet import messaging
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.store.db import Store


@frozen
class MessageView:
    """``{id, to, mode, status}``, and ``note`` when ``send`` has something to
    say about a delivered message beyond its status."""

    id: int
    to: str
    mode: str
    status: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        if not self.note:
            del shown["note"]
        return shown


def message_view(fleet: Fleet, message: Message) -> MessageView:
    note = messaging.note(fleet, message)
    return MessageView(message.id, message.recipient, message.mode, message.status, note)


@frozen
class EventView:
    """One line of ``events --json``."""

    id: int
    ts: float
    agent: str | None
    event: str
    state: str | None
    detail: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventView:
        return cls(
            event.id, event.ts, event.agent, event.event, event.state, event.detail, event.data
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ts": iso(self.ts)}


def event_views(
    store: Store, agent: str | None = None, *, limit: int | None = None, after: int = 0
) -> list[EventView]:
    """The event log, oldest first: the last ``limit`` events, or those after id ``after``."""
    return [EventView.of(e) for e in store.events(agent=agent, limit=limit, after=after)]
