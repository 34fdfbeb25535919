"""The event log (ids grow with time: the write lock hands them out in commit
order) and cost history: how far each transcript was read, its turns and the
usage of each API response (the rules are tmuxorch.claude.cost)."""

from __future__ import annotations

import json
from typing import Any

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import Event, MessageUsage, Turn
from tmuxorch.store.postgres.connection import Connection, translated

_USAGE_COLUMNS = "agent, key, turn, model, input, output, cache_read, cache_creation"


def _event(row: dict[str, Any]) -> Event:
    return Event(**{**row, "data": json.loads(row["data"] or "{}")})


def _turn(row: dict[str, Any]) -> Turn:
    return Turn(**{**row, "tools": json.loads(row["tools"] or "[]")})


@translated
class History(Connection):
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
        row = self.conn.execute("SELECT max(id) AS id FROM events").fetchone()
        return int(row["id"] or 0) if row else 0

    def events(
        self,
        *,
        agent: str | None = None,
        after: int = 0,
        limit: int | None = None,
        kind: str | None = None,
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE id > %s"
        args: list[Any] = [after]
        if agent is not None:
            sql += " AND agent = %s"
            args.append(agent)
        if kind is not None:
            sql += " AND event = %s"
            args.append(kind)
        if limit is not None:
            # The newest ``limit`` events, still returned oldest first.
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT %s) AS newest ORDER BY id"
            args.append(limit)
        else:
            sql += " ORDER BY id"
        return [_event(r) for r in self.conn.execute(sql, args)]

    def count_events(
        self, agent: str, kinds: tuple[str, ...], *, after: int = 0, since: float = 0.0
    ) -> int:
        row = self.conn.execute(
            "SELECT count(*) AS n FROM events WHERE agent = %s AND id > %s AND ts >= %s "
            "AND event = ANY(%s)",
            (agent, after, since, list(kinds)),
        ).fetchone()
        return int(row["n"]) if row else 0

    # -- cost and history ----------------------------------------------------------

    def transcript_positions(self, agent: str) -> dict[str, int]:
        """How far each of the agent's transcripts was read, in the order first seen."""
        rows = self.conn.execute(
            "SELECT path, position FROM transcripts WHERE agent = %s ORDER BY seq", (agent,)
        )
        return {r["path"]: int(r["position"]) for r in rows}

    def set_transcript_position(self, agent: str, path: str, position: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO transcripts (agent, path, position) VALUES (%s, %s, %s) "
                "ON CONFLICT (agent, path) DO UPDATE SET position = EXCLUDED.position",
                (agent, path, position),
            )

    def last_turn(self, agent: str) -> Turn | None:
        row = self.conn.execute(
            "SELECT * FROM turns WHERE agent = %s ORDER BY seq DESC LIMIT 1", (agent,)
        ).fetchone()
        return _turn(row) if row else None

    def turns(self, agent: str) -> list[Turn]:
        rows = self.conn.execute("SELECT * FROM turns WHERE agent = %s ORDER BY seq", (agent,))
        return [_turn(r) for r in rows]

    def put_turn(self, turn: Turn) -> None:
        values = {**asdict(turn), "tools": json.dumps(turn.tools)}
        columns = ", ".join(values)
        marks = ", ".join(f"%({c})s" for c in values)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in values if c not in ("agent", "seq"))
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO turns ({columns}) VALUES ({marks}) "
                f"ON CONFLICT (agent, seq) DO UPDATE SET {updates}",
                values,
            )

    def message_usages(self, agent: str, keys: list[str] | None = None) -> dict[str, MessageUsage]:
        """The agent's usage rows (only those of ``keys`` when given), by key."""
        sql = f"SELECT {_USAGE_COLUMNS} FROM message_usage WHERE agent = %s"
        args: list[Any] = [agent]
        if keys is not None:
            sql += " AND key = ANY(%s)"
            args.append(sorted(set(keys)))
        rows = self.conn.execute(sql + " ORDER BY seq", args)
        return {r["key"]: MessageUsage(**r) for r in rows}

    def put_message_usage(self, usage: MessageUsage) -> None:
        columns = _USAGE_COLUMNS.split(", ")
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO message_usage ({_USAGE_COLUMNS}) VALUES ("
                + ", ".join(f"%({c})s" for c in columns)
                + ") ON CONFLICT (agent, key) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:]),
                asdict(usage),
            )
