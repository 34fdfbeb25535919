"""The message queue (each message claimed by exactly one deliverer), the
watches of ``wait --notify`` and the event log, for both backends."""

from __future__ import annotations

import json

from tmuxorch.core.records import Event, Message, Watch, now
from tmuxorch.core.vocab import DELIVERY_ORDER
from tmuxorch.store.common.tables import Tables

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Delivery order (core.vocab): urgent interrupts, important goes ahead of sequential.
_MODE_ORDER = "CASE mode {} ELSE {} END".format(
    " ".join(f"WHEN '{mode}' THEN {rank}" for rank, mode in enumerate(DELIVERY_ORDER)),
    len(DELIVERY_ORDER),
)


def _event(row: Any) -> Event:
    return Event(**{**dict(row), "data": json.loads(row["data"] or "{}")})


def _watch(row: Any) -> Watch:
    targets = json.loads(row["targets"])
    return Watch(**{**dict(row), "targets": targets, "any_of": bool(row["any_of"])})


class MessageQueue(Tables):
    def add_message(self, sender: str | None, recipient: str, mode: str, body: str) -> int:
        with self.transaction():
            return self._insert(
                "INSERT INTO messages (ts, sender, recipient, mode, body, status) "
                f"VALUES ({self._marks(5)}, 'queued')",
                (now(), sender, recipient, mode, body),
            )

    def get_message(self, message_id: int) -> Message | None:
        return self._message(f"SELECT * FROM messages WHERE id = {self.MARK}", (message_id,))

    def fold_queued(self, message_ids: list[int], body: str) -> bool:
        if not message_ids:
            return False
        with self.transaction() as conn:
            ids, args = self._any("id", message_ids)
            row = conn.execute(
                f"SELECT count(*) AS n FROM messages WHERE {ids} AND status = 'queued'", args
            ).fetchone()
            if row["n"] != len(message_ids):
                return False
            first, *rest = sorted(message_ids)
            conn.execute(
                f"UPDATE messages SET body = {self.MARK} WHERE id = {self.MARK}", (body, first)
            )
            if rest:
                ids, args = self._any("id", rest)
                conn.execute(f"DELETE FROM messages WHERE {ids}", args)
            return True

    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        # The write lock orders claimers; PostgreSQL's row lock (rows another
        # claimer holds are passed over) keeps the claim exactly once on its own.
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT id FROM messages WHERE recipient = {self.MARK} AND status = 'queued' "
                f"ORDER BY {_MODE_ORDER}, id LIMIT 1{self.PICK_LOCK}",
                (recipient,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                f"UPDATE messages SET status = 'delivering', claimed_at = {self.MARK}, "
                f"claimed_by = {self.MARK}, claimed_start = {self.MARK} WHERE id = {self.MARK}",
                (now(), claimer, claimer_start, row["id"]),
            )
            return self.get_message(int(row["id"]))

    def set_message_status(self, message_id: int, status: str, error: str | None = None) -> None:
        delivered = now() if status == "delivered" else None
        self._write(
            f"UPDATE messages SET status = {self.MARK}, error = {self.MARK}, "
            f"delivered_at = {self.MARK} WHERE id = {self.MARK}",
            (status, error, delivered, message_id),
        )

    def set_message_stage(self, message_id: int, stage: str, draft: str) -> None:
        self._write(
            f"UPDATE messages SET stage = {self.MARK}, draft = {self.MARK} "
            f"WHERE id = {self.MARK} AND status = 'delivering'",
            (stage, draft or None, message_id),
        )

    def next_queued(self, recipient: str) -> Message | None:
        return self._message(
            f"SELECT * FROM messages WHERE recipient = {self.MARK} AND status = 'queued' "
            f"ORDER BY {_MODE_ORDER}, id LIMIT 1",
            (recipient,),
        )

    def recipients_with_queued(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT recipient FROM messages WHERE status = 'queued' ORDER BY recipient"
        )
        return [r["recipient"] for r in rows]

    def claimed_messages(self) -> list[Message]:
        return self._messages(status="delivering")

    def requeue_message(self, message_id: int) -> None:
        self._write(
            "UPDATE messages SET status = 'queued', claimed_at = NULL, claimed_by = NULL, "
            "claimed_start = NULL, stage = NULL, draft = NULL "
            f"WHERE id = {self.MARK} AND status = 'delivering'",
            (message_id,),
        )

    def fail_queued(self, recipient: str, reason: str) -> int:
        return self._write(
            f"UPDATE messages SET status = 'failed', error = {self.MARK} "
            f"WHERE recipient = {self.MARK} AND status = 'queued'",
            (reason, recipient),
        )

    def messages(self, recipient: str | None = None) -> list[Message]:
        return self._messages(recipient=recipient)

    def _messages(self, **where: str | None) -> list[Message]:
        """Oldest first, those whose columns have the values not None in ``where``."""
        conditions = [f"{k} = {self.MARK}" for k, v in where.items() if v is not None]
        sql = "SELECT * FROM messages" + "".join(
            f" {'AND' if i else 'WHERE'} {c}" for i, c in enumerate(conditions)
        )
        args = [v for v in where.values() if v is not None]
        return [Message(**dict(r)) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def pending_count(self, recipient: str) -> int:
        row = self.conn.execute(
            f"SELECT count(*) AS n FROM messages WHERE recipient = {self.MARK} "
            "AND status IN ('queued', 'delivering')",
            (recipient,),
        ).fetchone()
        return int(row["n"])

    def queued_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT recipient, count(*) AS n FROM messages WHERE status = 'queued' "
            "GROUP BY recipient"
        )
        return {r["recipient"]: int(r["n"]) for r in rows}

    def _message(self, sql: str, args: tuple[Any, ...]) -> Message | None:
        row = self.conn.execute(sql, args).fetchone()
        return Message(**dict(row)) if row else None

    # -- watches (wait --notify) ---------------------------------------------------

    def add_watch(
        self, watcher: str, targets: list[str], until: str, any_of: bool, deadline: float | None
    ) -> int:
        with self.transaction():
            return self._insert(
                "INSERT INTO watches (watcher, targets, until, any_of, created, deadline) "
                f"VALUES ({self._marks(6)})",
                (watcher, json.dumps(targets), until, any_of, now(), deadline),
            )

    def watches(self) -> list[Watch]:
        return [_watch(r) for r in self.conn.execute("SELECT * FROM watches ORDER BY id")]

    def delete_watch(self, watch_id: int) -> bool:
        return self._write(f"DELETE FROM watches WHERE id = {self.MARK}", (watch_id,)) == 1

    # -- the event log (ids grow with time) -----------------------------------------

    def add_event(
        self,
        agent: str | None,
        event: str,
        state: str | None = None,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        with self.transaction():
            return self._add_event(agent, event, state, detail, data or {})

    def last_event_id(self) -> int:
        return int(self.conn.execute("SELECT max(id) AS id FROM events").fetchone()["id"] or 0)

    def events(
        self,
        *,
        agent: str | None = None,
        after: int = 0,
        limit: int | None = None,
        kind: str | None = None,
    ) -> list[Event]:
        sql = f"SELECT * FROM events WHERE id > {self.MARK}"
        args: list[Any] = [after]
        for column, value in (("agent", agent), ("event", kind)):
            if value is not None:
                sql += f" AND {column} = {self.MARK}"
                args.append(value)
        if limit is not None:
            # The newest ``limit`` events, still returned oldest first.
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {self.MARK}) AS newest ORDER BY id"
            args.append(limit)
        else:
            sql += " ORDER BY id"
        return [_event(r) for r in self.conn.execute(sql, args).fetchall()]

    def count_events(
        self, agent: str, kinds: tuple[str, ...], *, after: int = 0, since: float = 0.0
    ) -> int:
        of_kinds, args = self._any("event", kinds)
        row = self.conn.execute(
            f"SELECT count(*) AS n FROM events WHERE agent = {self.MARK} AND id > {self.MARK} "
            f"AND ts >= {self.MARK} AND {of_kinds}",
            (agent, after, since, *args),
        ).fetchone()
        return int(row["n"])
