"""Requests from one host to another's daemon (spawn, typing, approve, stop,
output...), for both backends: each claimed by exactly one daemon of the
target host, its result written back for the asking command to read."""

from __future__ import annotations

import json

from tmuxorch.core.records import Request, now
from tmuxorch.store.common.tables import Tables

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _request(row: Any) -> Request:
    result = row["result"]
    return Request(
        **{
            **dict(row),
            "args": json.loads(row["args"]),
            "result": None if result is None else json.loads(result),
        }
    )


class RequestQueue(Tables):
    def add_request(self, host: str, agent: str, op: str, args: dict[str, Any]) -> int:
        with self.transaction():
            return self._insert(
                "INSERT INTO requests (ts, host, agent, op, args, status) "
                f"VALUES ({self._marks(5)}, 'queued')",
                (now(), host, agent, op, json.dumps(args)),
            )

    def get_request(self, request_id: int) -> Request | None:
        row = self.conn.execute(
            f"SELECT * FROM requests WHERE id = {self.MARK}", (request_id,)
        ).fetchone()
        return _request(row) if row else None

    def requests(self, host: str | None = None) -> list[Request]:
        sql, args = "SELECT * FROM requests", []
        if host is not None:
            sql, args = f"{sql} WHERE host = {self.MARK}", [host]
        return [_request(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def claim_request(self, host: str, claimer: int) -> Request | None:
        # A read first: a daemon asks on every wake-up, and most find nothing
        # (no write lock taken for that).
        if (
            self.conn.execute(
                f"SELECT id FROM requests WHERE host = {self.MARK} AND status = 'queued' LIMIT 1",
                (host,),
            ).fetchone()
            is None
        ):
            return None
        # As claim_next: the write lock orders claimers, PostgreSQL's row lock
        # passes over a row another claimer holds.
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT id FROM requests WHERE host = {self.MARK} AND status = 'queued' "
                f"ORDER BY id LIMIT 1{self.PICK_LOCK}",
                (host,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                f"UPDATE requests SET status = 'working', claimed_at = {self.MARK}, "
                f"claimed_by = {self.MARK} WHERE id = {self.MARK}",
                (now(), claimer, row["id"]),
            )
            return self.get_request(int(row["id"]))

    def finish_request(self, request_id: int, result: Any = None, error: str | None = None) -> bool:
        return (
            self._write(
                f"UPDATE requests SET status = {self.MARK}, result = {self.MARK}, "
                f"error = {self.MARK}, finished_at = {self.MARK} "
                f"WHERE id = {self.MARK} AND status = 'working'",
                (
                    "done" if error is None else "failed",
                    json.dumps(result),
                    error,
                    now(),
                    request_id,
                ),
            )
            == 1
        )

    def cancel_request(self, request_id: int, error: str) -> bool:
        return (
            self._write(
                f"UPDATE requests SET status = 'failed', error = {self.MARK}, "
                f"finished_at = {self.MARK} WHERE id = {self.MARK} AND status = 'queued'",
                (error, now(), request_id),
            )
            == 1
        )
