"""Renaming an agent: every row keyed by its name, in one transaction, and
finding an agent by the start (``TMUXORCH_LAUNCH``) its process came from."""

from __future__ import annotations

import json

from tmuxorch.core.errors import AgentError
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

# Every column that names an agent. History moves too: the agent is one
# identity, and its events, turns and messages are shown under its name.
_MOVES = (
    "UPDATE agents SET name = :new WHERE name = :old",
    "UPDATE agents SET parent = :new WHERE parent = :old",
    "UPDATE messages SET recipient = :new WHERE recipient = :old",
    "UPDATE messages SET sender = :new WHERE sender = :old",
    "UPDATE events SET agent = :new WHERE agent = :old",
    "UPDATE locks SET holder = :new WHERE holder = :old",
    "UPDATE locks SET agent = :new WHERE agent = :old",
    "UPDATE lock_waiters SET holder = :new WHERE holder = :old",
    "UPDATE watches SET watcher = :new WHERE watcher = :old",
    "UPDATE transcripts SET agent = :new WHERE agent = :old",
    "UPDATE turns SET agent = :new WHERE agent = :old",
    "UPDATE message_usage SET agent = :new WHERE agent = :old",
)


@translated
class Renaming(Connection):
    def rename_agent(self, old: str, new: str) -> None:
        with self.transaction() as conn:

            def exists(sql: str, name: str) -> bool:
                return conn.execute(sql, (name,)).fetchone() is not None

            if not exists("SELECT 1 FROM agents WHERE name = ?", old):
                raise AgentError(f"no agent named {old!r}")
            if exists("SELECT 1 FROM agents WHERE name = ?", new):
                raise AgentError(f"an agent named {new!r} already exists")
            # Its deliverer waits for the agent's hooks under the old name.
            if exists("SELECT 1 FROM messages WHERE recipient = ? AND status = 'delivering'", old):
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
                    conn.execute("UPDATE watches SET targets = ? WHERE id = ?", (moved, row["id"]))
            self._add_event(new, "renamed", None, f"renamed from {old}", {"from": old})

    def launched_as(self, launch: str) -> str | None:
        row = self.conn.execute(
            "SELECT name FROM agents WHERE json_extract(spec, '$.launch') = ?", (launch,)
        ).fetchone()
        return str(row[0]) if row else None
