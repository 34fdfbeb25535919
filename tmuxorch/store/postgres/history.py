"""Cost history (the event log is tmuxorch.store.common.messages: the write
lock hands its ids out in commit order): how far each transcript was read, its turns and the
usage of each API response (the rules are tmuxorch.claude.cost)."""

from __future__ import annotations

import json
from typing import Any

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import MessageUsage, Turn
from tmuxorch.store.common.tables import turn_record
from tmuxorch.store.postgres.connection import Connection, translated

_USAGE_COLUMNS = "agent, key, turn, model, input, output, cache_read, cache_creation"


@translated
class History(Connection):
    def transcript_positions(self, agent: str) -> dict[str, int]:
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
        return turn_record(row) if row else None

    def turns(self, agent: str) -> list[Turn]:
        rows = self.conn.execute("SELECT * FROM turns WHERE agent = %s ORDER BY seq", (agent,))
        return [turn_record(r) for r in rows]

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
