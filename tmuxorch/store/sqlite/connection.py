"""A connection to one fleet's SQLite file, and what every table's methods
share: write transactions and the event row a write records."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator

from tmuxorch.core.records import now
from tmuxorch.store.sqlite.errors import store_error, translated
from tmuxorch.store.sqlite.schema import identity

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@translated
class Connection:
    """The connection and its file (methods raise StoreError naming the file
    for any error of the file: tmuxorch.store.sqlite.errors). The tables'
    methods are mixins on it, composed by ``SqliteStore``."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.identity = identity(path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front."""
        if self.conn.in_transaction:  # nested: join the outer one
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise store_error(exc, self.path) from exc

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            # The error that ended the transaction is the one to report.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _add_event(
        self, agent: str | None, event: str, state: str | None, detail: str, data: dict[str, Any]
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO events (ts, agent, event, state, detail, data) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), agent, event, state, detail, json.dumps(data)),
        )
        return int(cur.lastrowid or 0)
