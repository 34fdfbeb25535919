"""The PostgreSQL backend's wake-ups: every write fires a trigger that
NOTIFYs the fleet's channel at commit (tmuxorch.store.postgres.schema), and
a waiter LISTENs on a connection of its own, sleeping in the server's socket
until a notification arrives: no polling. A pipe beside the socket lets
``close`` from another thread wake a wait with no timeout (the monitor's)."""

from __future__ import annotations

import os
import select
import threading
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
        self._closed = threading.Event()
        self._wake_r, self._wake_w = os.pipe()

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
        if self._closed.is_set():
            return False
        if self._conn.broken:
            # The server dropped the last one (that wait said so): listen
            # again, and say changed, since some may have come in between.
            lost, self._conn = self._conn, self._listening()  # still broken if this fails
            lost.close()
            return True
        try:
            changed = self._drain()  # notifications psycopg read already
            if not changed:
                ready, _, _ = select.select([self._conn.fileno(), self._wake_r], [], [], timeout)
                changed = bool(ready) and not self._closed.is_set() and self._drain()
        except psycopg.Error as exc:
            if self._closed.is_set():
                return False
            raise store_error(exc, self._url) from exc
        except (OSError, ValueError):
            if self._closed.is_set():
                return False  # closed under the wait: its descriptors are gone
            raise
        return changed

    def _drain(self) -> bool:
        """Fold every notification already here into one wake-up."""
        changed = False
        while any(True for _ in self._conn.notifies(timeout=0, stop_after=1)):
            changed = True
        return changed

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        os.write(self._wake_w, b"x")  # a wait blocked in another thread returns
        self._conn.close()
        os.close(self._wake_w)
        os.close(self._wake_r)

    def __enter__(self) -> Listen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
