"""The message queue (each message claimed by exactly one deliverer) and the
watches of ``wait --notify``."""

from __future__ import annotations

import json
from typing import Any

from tmuxorch.core.records import Message, Watch, now
from tmuxorch.core.vocab import DELIVERY_ORDER
from tmuxorch.store.postgres.connection import Connection, translated

# Delivery order (core.vocab): urgent interrupts, important goes ahead of sequential.
_MODE_ORDER = "CASE mode {} ELSE {} END".format(
    " ".join(f"WHEN '{mode}' THEN {rank}" for rank, mode in enumerate(DELIVERY_ORDER)),
    len(DELIVERY_ORDER),
)
_NEXT_QUEUED = (
    f"SELECT * FROM messages WHERE recipient = %s AND status = 'queued' ORDER BY {_MODE_ORDER}, id"
)


@translated
class Messages(Connection):
    def add_message(self, sender: str | None, recipient: str, mode: str, body: str) -> int:
        with self.transaction() as conn:
            row = conn.execute(
                "INSERT INTO messages (ts, sender, recipient, mode, body, status) "
                "VALUES (%s, %s, %s, %s, %s, 'queued') RETURNING id",
                (now(), sender, recipient, mode, body),
            ).fetchone()
        assert row is not None
        return int(row["id"])

    def get_message(self, message_id: int) -> Message | None:
        row = self.conn.execute("SELECT * FROM messages WHERE id = %s", (message_id,)).fetchone()
        return Message(**row) if row else None

    def fold_queued(self, message_ids: list[int], body: str) -> bool:
        """Replace still-queued messages by one: the first takes ``body`` (and
        keeps its place), the others go. False, changing nothing, if any of
        them left the queue meanwhile."""
        if not message_ids:
            return False
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM messages WHERE id = ANY(%s) AND status = 'queued'",
                (message_ids,),
            ).fetchone()
            if row is None or row["n"] != len(message_ids):
                return False
            first, *rest = sorted(message_ids)
            conn.execute("UPDATE messages SET body = %s WHERE id = %s", (body, first))
            conn.execute("DELETE FROM messages WHERE id = ANY(%s)", (rest,))
            return True

    def set_message_status(self, message_id: int, status: str, error: str | None = None) -> None:
        delivered = now() if status == "delivered" else None
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = %s, error = %s, delivered_at = %s WHERE id = %s",
                (status, error, delivered, message_id),
            )

    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        """Take the next queued message for ``recipient`` (urgent, then important,
        then sequential; oldest first) so that no other deliverer types it. The
        write lock already orders claimers; the row lock taken as it is picked
        (rows another claimer holds are passed over) keeps the claim exactly
        once on its own."""
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE messages SET status = 'delivering', claimed_at = %s, claimed_by = %s, "
                "claimed_start = %s WHERE id = (SELECT id FROM messages "
                "WHERE recipient = %s AND status = 'queued' "
                f"ORDER BY {_MODE_ORDER}, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
                (now(), claimer, claimer_start, recipient),
            ).fetchone()
        return Message(**row) if row else None

    def set_message_stage(self, message_id: int, stage: str, draft: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET stage = %s, draft = %s "
                "WHERE id = %s AND status = 'delivering'",
                (stage, draft or None, message_id),
            )

    def next_queued(self, recipient: str) -> Message | None:
        row = self.conn.execute(_NEXT_QUEUED + " LIMIT 1", (recipient,)).fetchone()
        return Message(**row) if row else None

    def recipients_with_queued(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT recipient FROM messages WHERE status = 'queued' ORDER BY recipient"
        )
        return [r["recipient"] for r in rows]

    def claimed_messages(self) -> list[Message]:
        rows = self.conn.execute("SELECT * FROM messages WHERE status = 'delivering' ORDER BY id")
        return [Message(**r) for r in rows]

    def requeue_message(self, message_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = 'queued', claimed_at = NULL, claimed_by = NULL, "
                "claimed_start = NULL, stage = NULL, draft = NULL "
                "WHERE id = %s AND status = 'delivering'",
                (message_id,),
            )

    def fail_queued(self, recipient: str, reason: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'failed', error = %s "
                "WHERE recipient = %s AND status = 'queued'",
                (reason, recipient),
            )
            return cur.rowcount

    def messages(self, recipient: str | None = None) -> list[Message]:
        sql, args = "SELECT * FROM messages", []
        if recipient is not None:
            sql, args = sql + " WHERE recipient = %s", [recipient]
        return [Message(**r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def pending_count(self, recipient: str) -> int:
        """Messages not yet taken by ``recipient``: queued or being typed."""
        row = self.conn.execute(
            "SELECT count(*) AS n FROM messages WHERE recipient = %s "
            "AND status IN ('queued', 'delivering')",
            (recipient,),
        ).fetchone()
        return int(row["n"]) if row else 0

    def queued_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT recipient, count(*) AS n FROM messages WHERE status = 'queued' "
            "GROUP BY recipient"
        )
        return {r["recipient"]: int(r["n"]) for r in rows}

    # -- watches (wait --notify) ---------------------------------------------------

    def add_watch(
        self, watcher: str, targets: list[str], until: str, any_of: bool, deadline: float | None
    ) -> int:
        with self.transaction() as conn:
            row = conn.execute(
                "INSERT INTO watches (watcher, targets, until, any_of, created, deadline) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (watcher, json.dumps(targets), until, any_of, now(), deadline),
            ).fetchone()
        assert row is not None
        return int(row["id"])

    def watches(self) -> list[Watch]:
        rows = self.conn.execute("SELECT * FROM watches ORDER BY id")
        return [Watch(**_watch(r)) for r in rows]

    def delete_watch(self, watch_id: int) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM watches WHERE id = %s", (watch_id,)).rowcount == 1


def _watch(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "targets": json.loads(row["targets"])}
