"""Renaming an agent: every row keyed by its name, in one transaction, and
finding an agent by the start (``TMUXORCH_LAUNCH``) its process came from.
The same rows move as in SQLite's (tmuxorch.store.sqlite.renaming)."""

from __future__ import annotations

import json

from tmuxorch.core.errors import AgentError
from tmuxorch.store.postgres.connection import Connection, translated

# Every column that names an agent. History moves too: the agent is one
# identity, and its events, turns and messages are shown under its name.
_MOVES = tuple(
    f"UPDATE {table} SET {column} = %(new)s WHERE {column} = %(old)s"
    for table, column in (
        ("agents", "name"), ("agents", "parent"), ("messages", "recipient"),
        ("messages", "sender"), ("events", "agent"), ("locks", "holder"), ("locks", "agent"),
        ("lock_waiters", "holder"), ("watches", "watcher"), ("transcripts", "agent"),
        ("turns", "agent"), ("message_usage", "agent"),
    )
)  # fmt: skip


@translated
class Renaming(Connection):
    def rename_agent(self, old: str, new: str) -> None:
        with self.transaction() as conn:

            def exists(sql: str, name: str) -> bool:
                return conn.execute(sql, (name,)).fetchone() is not None

            if not exists("SELECT 1 FROM agents WHERE name = %s", old):
                raise AgentError(f"no agent named {old!r}")
            if exists("SELECT 1 FROM agents WHERE name = %s", new):
                raise AgentError(f"an agent named {new!r} already exists")
            # Its deliverer waits for the agent's hooks under the old name.
            if exists("SELECT 1 FROM messages WHERE recipient = %s AND status = 'delivering'", old):
                raise AgentError(
                    f"agent {old!r} is taking a message right now: "
                    "rename it once that delivery is over"
                )
            for sql in _MOVES:
                conn.execute(sql, {"old": old, "new": new})
            for row in conn.execute("SELECT id, targets FROM watches").fetchall():
                targets = json.loads(row["targets"])
                if old in targets:
                    moved = json.dumps([new if t == old else t for t in targets])
                    conn.execute(
                        "UPDATE watches SET targets = %s WHERE id = %s", (moved, row["id"])
                    )
            self._add_event(new, "renamed", None, f"renamed from {old}", {"from": old})

    def launched_as(self, launch: str) -> str | None:
        # spec is JSON text, as in SQLite: read as jsonb only here.
        row = self.conn.execute(
            "SELECT name FROM agents WHERE spec::jsonb ->> 'launch' = %s", (launch,)
        ).fetchone()
        return str(row["name"]) if row else None
