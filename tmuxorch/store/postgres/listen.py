"""The PostgreSQL backend's wake-ups: every write fires a trigger that
NOTIFYs the fleet's channel at commit (tmuxorch.store.postgres.schema), and
a waiter LISTENs on a connection of its own, sleeping in the server's socket
until a notification arrives: no polling."""

from __future__ import annotations

from typing import Any

import psycopg

from tmuxorch.store.postgres.connection import connect, store_error
from tmuxorch.store.postgres.schema import CHANNEL


class Listen:
    """``PostgresStore.changes()``: sleep until any process commits a write to
    the fleet's database (or a timeout passes)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn = self._listening()

    def _listening(self) -> psycopg.Connection[Any]:
        conn = connect(self._url)
        try:
            # Once this returns, every later commit is queued for this connection.
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            conn.close()
            raise store_error(exc, self._url) from exc
        return conn

    def wait(self, timeout: float | None) -> bool:
        if self._conn.broken:
            # The server dropped the last one (that wait said so): listen
            # again, and say changed, since some may have come in between.
            lost, self._conn = self._conn, self._listening()  # still broken if this fails
            lost.close()
            return True
        try:
            changed = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            # Fold the notifications already here into this wake-up.
            while changed and any(True for _ in self._conn.notifies(timeout=0, stop_after=1)):
                pass
        except psycopg.Error as exc:
            raise store_error(exc, self._url) from exc
        return changed

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Listen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
