"""The claim that makes a message's deliverer the only one, under BEGIN IMMEDIATE
(the rest of the queue is tmuxorch.store.common.messages)."""

from __future__ import annotations

from tmuxorch.core.records import Message, now
from tmuxorch.store.common.tables import MODE_ORDER
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated


@translated
class Claims(Connection):
    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        # BEGIN IMMEDIATE holds the write lock from the pick to the claim.
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM messages WHERE recipient = ? AND status = 'queued' "
                f"ORDER BY {MODE_ORDER}, id LIMIT 1",
                (recipient,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE messages SET status = 'delivering', claimed_at = ?, claimed_by = ?, "
                "claimed_start = ? WHERE id = ?",
                (now(), claimer, claimer_start, row[0]),
            )
            claimed = conn.execute("SELECT * FROM messages WHERE id = ?", (row[0],)).fetchone()
        return Message(**dict(claimed))
