"""The event log: state changes, hooks, messages, spawns; ids grow with time."""

from __future__ import annotations

import json
import sqlite3

from tmuxorch.core.records import Event
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _event(row: sqlite3.Row) -> Event:
    values = dict(row)
    values["data"] = json.loads(values["data"] or "{}")
    return Event(**values)


@translated
class Events(Connection):
    def add_event(
        self,
        agent: str | None,
        event: str,
        state: str | None = None,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        with self.transaction():
            return self._add_event(agent, event, state, detail, data or {})

    def last_event_id(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM events").fetchone()
        return int(row[0] or 0)

    def events(
        self,
        *,
        agent: str | None = None,
        after: int = 0,
        limit: int | None = None,
        kind: str | None = None,
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE id > ?"
        args: list[Any] = [after]
        if agent is not None:
            sql += " AND agent = ?"
            args.append(agent)
        if kind is not None:
            sql += " AND event = ?"
            args.append(kind)
        if limit is not None:
            # The newest ``limit`` events, still returned oldest first.
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id"
            args.append(limit)
        else:
            sql += " ORDER BY id"
        return [_event(r) for r in self.conn.execute(sql, args).fetchall()]

    def count_events(
        self, agent: str, kinds: tuple[str, ...], *, after: int = 0, since: float = 0.0
    ) -> int:
        """How many of the agent's events of these kinds came after event id
        ``after`` and at or after time ``since``."""
        marks = ", ".join("?" * len(kinds))
        row = self.conn.execute(
            f"SELECT count(*) FROM events WHERE agent = ? AND id > ? AND ts >= ? "
            f"AND event IN ({marks})",
            (agent, after, since, *kinds),
        ).fetchone()
        return int(row[0])
