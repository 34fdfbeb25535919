"""Cost and history: how far each transcript was read, its turns and the
usage of each API response (the rules are tmuxorch.claude.cost)."""

from __future__ import annotations

import json

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import MessageUsage, Turn
from tmuxorch.store.common.tables import turn_record
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated


@translated
class Costs(Connection):
    def transcript_positions(self, agent: str) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT path, position FROM transcripts WHERE agent = ? ORDER BY rowid", (agent,)
        )
        return {r[0]: int(r[1]) for r in rows}

    def set_transcript_position(self, agent: str, path: str, position: int) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO transcripts (rowid, agent, path, position) VALUES ("
            "(SELECT rowid FROM transcripts WHERE agent = ? AND path = ?), ?, ?, ?)",
            (agent, path, agent, path, position),
        )

    def last_turn(self, agent: str) -> Turn | None:
        row = self.conn.execute(
            "SELECT * FROM turns WHERE agent = ? ORDER BY seq DESC LIMIT 1", (agent,)
        ).fetchone()
        return turn_record(row) if row else None

    def turns(self, agent: str) -> list[Turn]:
        rows = self.conn.execute("SELECT * FROM turns WHERE agent = ? ORDER BY seq", (agent,))
        return [turn_record(r) for r in rows]

    def put_turn(self, turn: Turn) -> None:
        values = asdict(turn)
        values["tools"] = json.dumps(turn.tools)
        columns = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        self.conn.execute(f"INSERT OR REPLACE INTO turns ({columns}) VALUES ({marks})", values)

    def message_usages(self, agent: str, keys: list[str] | None = None) -> dict[str, MessageUsage]:
        if keys is None:
            rows = self.conn.execute(
                "SELECT * FROM message_usage WHERE agent = ? ORDER BY rowid", (agent,)
            ).fetchall()
        else:
            unique, rows = sorted(set(keys)), []
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows += self.conn.execute(
                    f"SELECT * FROM message_usage WHERE agent = ? AND key IN ({marks})",
                    (agent, *chunk),
                ).fetchall()
        return {r["key"]: MessageUsage(**dict(r)) for r in rows}

    def put_message_usage(self, usage: MessageUsage) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO message_usage (agent, key, turn, model, input, output, "
            "cache_read, cache_creation) VALUES (:agent, :key, :turn, :model, :input, :output, "
            ":cache_read, :cache_creation)",
            asdict(usage),
        )
