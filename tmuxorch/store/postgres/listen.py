"""The PostgreSQL backend's wake-ups: every write fires a trigger that
NOTIFYs the fleet's channel at commit (tmuxorch.store.postgres.schema), and
a waiter LISTENs on a connection of its own, sleeping in the server's socket
until a notification arrives: no polling."""

from __future__ import annotations

from typing import Any

import psycopg

from tmuxorch.store.postgres.connection import store_error
from tmuxorch.store.postgres.schema import CHANNEL


class Listen:
    """``PostgresStore.changes()``: sleep until any process commits a write to
    the fleet's database (or a timeout passes)."""

    def __init__(self, url: str, connect: Any) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] = connect(url)
        try:
            # Once this returns, every later commit is queued for this connection.
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            self._conn.close()
            raise store_error(exc, url) from exc

    def wait(self, timeout: float | None) -> bool:
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
