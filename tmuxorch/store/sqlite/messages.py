"""The message queue (each message claimed by exactly one deliverer) and the
watches of ``wait --notify``."""

from __future__ import annotations

import json

from tmuxorch.core.records import Message, Watch, now
from tmuxorch.core.vocab import DELIVERY_ORDER
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

# Delivery order (core.vocab): urgent interrupts, important goes ahead of sequential.
_MODE_ORDER = "CASE mode {} ELSE {} END".format(
    " ".join(f"WHEN '{mode}' THEN {rank}" for rank, mode in enumerate(DELIVERY_ORDER)),
    len(DELIVERY_ORDER),
)


@translated
class Messages(Connection):
    def add_message(self, sender: str | None, recipient: str, mode: str, body: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO messages (ts, sender, recipient, mode, body, status) "
                "VALUES (?, ?, ?, ?, ?, 'queued')",
                (now(), sender, recipient, mode, body),
            )
            return int(cur.lastrowid or 0)

    def get_message(self, message_id: int) -> Message | None:
        row = self.conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return Message(**dict(row)) if row else None

    def fold_queued(self, message_ids: list[int], body: str) -> bool:
        """Replace still-queued messages by one: the first takes ``body`` (and
        keeps its place), the others go. False, changing nothing, if any of
        them left the queue meanwhile."""
        if not message_ids:
            return False
        with self.transaction() as conn:
            marks = ", ".join("?" * len(message_ids))
            queued = conn.execute(
                f"SELECT count(*) FROM messages WHERE id IN ({marks}) AND status = 'queued'",
                message_ids,
            ).fetchone()[0]
            if queued != len(message_ids):
                return False
            first, *rest = sorted(message_ids)
            conn.execute("UPDATE messages SET body = ? WHERE id = ?", (body, first))
            for message_id in rest:
                conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            return True

    def set_message_status(self, message_id: int, status: str, error: str | None = None) -> None:
        delivered = now() if status == "delivered" else None
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = ?, error = ?, delivered_at = ? WHERE id = ?",
                (status, error, delivered, message_id),
            )

    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        """Take the next queued message for ``recipient`` (urgent, then important,
        then sequential; oldest first) so that no other deliverer types it."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM messages WHERE recipient = ? AND status = 'queued' "
                f"ORDER BY {_MODE_ORDER}, id LIMIT 1",
                (recipient,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE messages SET status = 'delivering', claimed_at = ?, claimed_by = ?, "
                "claimed_start = ? WHERE id = ?",
                (now(), claimer, claimer_start, row[0]),
            )
        return self.get_message(int(row[0]))

    def set_message_stage(self, message_id: int, stage: str, draft: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET stage = ?, draft = ? WHERE id = ? AND status = 'delivering'",
                (stage, draft or None, message_id),
            )

    def next_queued(self, recipient: str) -> Message | None:
        row = self.conn.execute(
            "SELECT * FROM messages WHERE recipient = ? AND status = 'queued' "
            f"ORDER BY {_MODE_ORDER}, id LIMIT 1",
            (recipient,),
        ).fetchone()
        return Message(**dict(row)) if row else None

    def recipients_with_queued(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT recipient FROM messages WHERE status = 'queued'"
        ).fetchall()
        return [r[0] for r in rows]

    def claimed_messages(self) -> list[Message]:
        rows = self.conn.execute(
            "SELECT * FROM messages WHERE status = 'delivering' ORDER BY id"
        ).fetchall()
        return [Message(**dict(r)) for r in rows]

    def requeue_message(self, message_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = 'queued', claimed_at = NULL, claimed_by = NULL, "
                "claimed_start = NULL, stage = NULL, draft = NULL "
                "WHERE id = ? AND status = 'delivering'",
                (message_id,),
            )

    def fail_queued(self, recipient: str, reason: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'failed', error = ? "
                "WHERE recipient = ? AND status = 'queued'",
                (reason, recipient),
            )
            return cur.rowcount

    def messages(self, recipient: str | None = None) -> list[Message]:
        sql, args = "SELECT * FROM messages", []
        if recipient is not None:
            sql, args = sql + " WHERE recipient = ?", [recipient]
        return [Message(**dict(r)) for r in self.conn.execute(sql + " ORDER BY id", args)]

    # -- watches (wait --notify) ---------------------------------------------------

    def add_watch(
        self, watcher: str, targets: list[str], until: str, any_of: bool, deadline: float | None
    ) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO watches (watcher, targets, until, any_of, created, deadline) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (watcher, json.dumps(targets), until, int(any_of), now(), deadline),
            )
            return int(cur.lastrowid or 0)

    def watches(self) -> list[Watch]:
        rows = self.conn.execute("SELECT * FROM watches ORDER BY id").fetchall()
        return [
            Watch(**{**dict(r), "targets": json.loads(r["targets"]), "any_of": bool(r["any_of"])})
            for r in rows
        ]

    def delete_watch(self, watch_id: int) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,)).rowcount == 1

    def pending_count(self, recipient: str) -> int:
        """Messages not yet taken by ``recipient``: queued or being typed."""
        row = self.conn.execute(
            "SELECT count(*) FROM messages WHERE recipient = ? "
            "AND status IN ('queued', 'delivering')",
            (recipient,),
        ).fetchone()
        return int(row[0])

    def queued_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT recipient, count(*) FROM messages WHERE status = 'queued' GROUP BY recipient"
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}
