"""The notifications' outbox, for both backends: a row per notice and target
until it is sent (tmuxorch.daemon.notifier sends them), so a notice the
daemon wrote survives its crash and a failing target's wait. A row's
``origin`` is the host whose daemon added it first, and only that host's
daemon sends it: on a fleet of several hosts, each of them reads every event."""

from __future__ import annotations

from tmuxorch.core.records import Notice, Outgoing, now
from tmuxorch.store.common.tables import Tables

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Seconds a sent notice's row is kept.
_KEEP_SENT = 86400.0


def _outgoing(row: Any) -> Outgoing:
    notice = Notice(row["agent"], row["kind"], row["title"], row["body"], row["event_id"])
    return Outgoing(
        row["id"], notice, row["target"], row["created"], row["attempts"], row["next_try"],
        row["error"],
    )  # fmt: skip


class NoticeTable(Tables):
    def add_notice(self, notice: Notice, targets: list[str], origin: str) -> int:
        added = 0
        created = now()
        with self.transaction() as conn:
            for target in targets:
                # Once per event, kind and target: a second daemon reading the
                # same event (another host's) adds nothing.
                added += conn.execute(
                    "INSERT INTO notices (event_id, agent, kind, title, body, target, origin, "
                    f"created, next_try) VALUES ({self._marks(9)}) "
                    "ON CONFLICT (event_id, kind, target) DO NOTHING",
                    (
                        notice.event_id, notice.agent, notice.kind, notice.title, notice.body,
                        target, origin, created, created,
                    ),
                ).rowcount  # fmt: skip
        return added

    def unsent_notices(self, origin: str) -> list[Outgoing]:
        rows = self.conn.execute(
            f"SELECT * FROM notices WHERE sent IS NULL AND origin = {self.MARK} ORDER BY id",
            (origin,),
        )
        return [_outgoing(row) for row in rows]

    def notices_sent(self, ids: list[int]) -> None:
        where, args = self._any("id", ids)
        with self.transaction() as conn:
            conn.execute(f"UPDATE notices SET sent = {self.MARK} WHERE {where}", [now(), *args])
            # Sent rows stay a while only to keep a late reader of the same
            # event (another host's daemon) from adding it again.
            conn.execute(f"DELETE FROM notices WHERE sent < {self.MARK}", (now() - _KEEP_SENT,))

    def notices_failed(self, ids: list[int], attempts: int, next_try: float, error: str) -> None:
        where, args = self._any("id", ids)
        self._write(
            f"UPDATE notices SET attempts = {self.MARK}, next_try = {self.MARK}, "
            f"error = {self.MARK} WHERE {where}",
            [attempts, next_try, error, *args],
        )

    def notice_cursor(self, origin: str) -> int | None:
        row = self.conn.execute(
            f"SELECT event_id FROM notice_cursors WHERE origin = {self.MARK}", (origin,)
        ).fetchone()
        return None if row is None else int(row["event_id"])

    def set_notice_cursor(self, origin: str, event_id: int | None) -> None:
        if event_id is None:
            self._write(f"DELETE FROM notice_cursors WHERE origin = {self.MARK}", (origin,))
        else:
            self._put("notice_cursors", {"origin": origin, "event_id": event_id}, ("origin",))
