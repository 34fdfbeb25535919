"""The claim that makes a message's deliverer the only one, under a row lock
(the rest of the queue is tmuxorch.store.common.messages)."""

from __future__ import annotations

from tmuxorch.core.records import Message, now
from tmuxorch.store.common.tables import MODE_ORDER
from tmuxorch.store.postgres.connection import Connection, translated


@translated
class Claims(Connection):
    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        # The write lock already orders claimers; the row lock taken as it is
        # picked (rows another claimer holds are passed over) keeps the claim
        # exactly once on its own.
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE messages SET status = 'delivering', claimed_at = %s, claimed_by = %s, "
                "claimed_start = %s WHERE id = (SELECT id FROM messages "
                "WHERE recipient = %s AND status = 'queued' "
                f"ORDER BY {MODE_ORDER}, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
                (now(), claimer, claimer_start, recipient),
            ).fetchone()
        return Message(**row) if row else None
