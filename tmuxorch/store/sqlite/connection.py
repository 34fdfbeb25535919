"""A connection to one fleet's SQLite file, and what every table's methods
share: write transactions and the primitives of tmuxorch.store.common."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from tmuxorch.store.common.tables import Tables
from tmuxorch.store.sqlite.errors import store_error, translated
from tmuxorch.store.sqlite.schema import identity

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any


@translated
class Connection(Tables):
    """The connection and its file (methods raise StoreError naming the file
    for any error of the file: tmuxorch.store.sqlite.errors). The tables'
    methods are mixins on it, composed by ``SqliteStore``."""

    MARK = "?"
    NAMED = ":{}"
    ROW_ORDER = "rowid"
    SPEC_LAUNCH = "json_extract(spec, '$.launch')"
    conn: sqlite3.Connection

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

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        return int(self.conn.execute(sql, args).lastrowid or 0)

    def _any(self, column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
        listed = list(values)
        return f"{column} IN ({', '.join('?' * len(listed))})", listed

    def _upsert(self, table: str, columns: list[str], keys: tuple[str, ...]) -> str:
        marks = ", ".join(f":{c}" for c in columns)
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})"
