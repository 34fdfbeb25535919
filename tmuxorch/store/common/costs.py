"""Cost history, for both backends: how far each transcript was read, its
turns and the usage of each API response (the rules are tmuxorch.claude.cost)."""

from __future__ import annotations

import json

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import MessageUsage, Turn
from tmuxorch.store.common.tables import Tables

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_USAGE_COLUMNS = "agent, key, turn, model, input, output, cache_read, cache_creation"
# Keys asked for at once: SQLite's variables per statement are limited.
_KEYS_AT_ONCE = 500


def _turn(row: Any) -> Turn:
    tools = json.loads(row["tools"] or "[]")
    return Turn(**{**dict(row), "tools": tools, "answered": bool(row["answered"])})


class CostTables(Tables):
    def transcript_positions(self, agent: str) -> dict[str, int]:
        rows = self.conn.execute(
            f"SELECT path, position FROM transcripts WHERE agent = {self.MARK} "
            f"ORDER BY {self.ROW_ORDER}",
            (agent,),
        )
        return {r["path"]: int(r["position"]) for r in rows}

    def last_turn(self, agent: str) -> Turn | None:
        row = self.conn.execute(
            f"SELECT * FROM turns WHERE agent = {self.MARK} ORDER BY seq DESC LIMIT 1", (agent,)
        ).fetchone()
        return _turn(row) if row else None

    def turns(self, agent: str) -> list[Turn]:
        rows = self.conn.execute(
            f"SELECT * FROM turns WHERE agent = {self.MARK} ORDER BY seq", (agent,)
        )
        return [_turn(r) for r in rows]

    def put_turn(self, turn: Turn) -> None:
        self._put("turns", {**asdict(turn), "tools": json.dumps(turn.tools)}, ("agent", "seq"))

    def message_usages(self, agent: str, keys: list[str] | None = None) -> dict[str, MessageUsage]:
        sql = f"SELECT {_USAGE_COLUMNS} FROM message_usage WHERE agent = {self.MARK}"
        order = f" ORDER BY {self.ROW_ORDER}"
        if keys is None:
            rows = self.conn.execute(sql + order, (agent,)).fetchall()
        else:
            unique, rows = sorted(set(keys)), []
            for start in range(0, len(unique), _KEYS_AT_ONCE):
                of_keys, args = self._any("key", unique[start : start + _KEYS_AT_ONCE])
                rows += self.conn.execute(f"{sql} AND {of_keys}{order}", (agent, *args))
        return {r["key"]: MessageUsage(**dict(r)) for r in rows}

    def put_message_usage(self, usage: MessageUsage) -> None:
        self._put("message_usage", asdict(usage), ("agent", "key"))
