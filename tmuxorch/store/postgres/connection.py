"""A connection to one fleet's PostgreSQL database, and what every table's
methods share: write transactions, the event row a write records, and
psycopg's errors as one-line StoreErrors naming the database (never its
password)."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.rows import dict_row

from tmuxorch.core.errors import StoreError, StoreUnreachable
from tmuxorch.store.common.tables import Tables, wrap_methods

C = TypeVar("C", bound=type)

# Every write transaction takes this transaction-level advisory lock first:
# writers queue one after another as under SQLite's BEGIN IMMEDIATE, which the
# lock rules (read the locks, then write one) and the message folds rely on,
# and event ids are handed out in commit order, so ``events(after=id)`` never
# misses one that commits late. The number is arbitrary ("tmuxorch" in ASCII).
WRITE_LOCK = 0x746D75786F726368

_IN_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

# What the server or libpq says (a part of it) -> what the user can do about it.
_ADVICE: tuple[tuple[str, str], ...] = (
    ("password authentication failed", "check the user and password in store.url"),
    ("does not exist", "check the user and database in store.url"),
    ("Connection refused", "is the server running, and on that host and port?"),
    ("No such file or directory", "is the server running, with its socket there?"),
    ("timeout expired", "is the server reachable from this host?"),
    ("failed to resolve host", "check the host and port in store.url"),
    ('missing "="', "store.url must be a postgresql://USER@HOST/DB URL"),
    ("invalid", "store.url must be a postgresql://USER@HOST/DB URL"),
)


def redacted(url: str) -> str:
    """``url`` without its password (``USER:PASSWORD@`` or ``?password=``),
    as messages show it."""
    url = re.sub(r"^(\w+://[^:/@?]*):[^@/?]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def store_error(exc: psycopg.Error, url: str) -> StoreError:
    """``exc`` as one line: the database, the server's reason, what to do."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    # libpq prefixes "connection failed: connection to server at ... failed:".
    reason = re.sub(r"^connection (failed|is bad): ", "", reason)
    reason = re.sub(r"\s+", " ", reason)
    advice = next((a for needle, a in _ADVICE if needle in reason), "")
    # The connection's failures (server gone, restarting) may pass; a query's do not.
    cls = StoreUnreachable if isinstance(exc, psycopg.OperationalError) else StoreError
    return cls(f"fleet database {redacted(url)}: {reason}" + (f": {advice}" if advice else ""))


# Seconds to reach the server before saying it is unreachable.
CONNECT_TIMEOUT = 10


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    """A connection in autocommit (transactions are explicit), rows as dicts."""
    try:
        return psycopg.connect(
            url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT
        )
    except psycopg.Error as exc:
        raise store_error(exc, url) from exc


def _reconnect_if_lost(store: Any) -> None:
    """A connection the server dropped (a restart, a network cut) failed the
    call that met it with a StoreError; the next call, outside a transaction,
    runs on a new one. Nothing is retried: whether a write that met the break
    committed is for the caller to read."""
    if store.conn.broken and not store._writing:
        lost, store.conn = store.conn, connect(store.url)  # still broken if this fails
        lost.close()


def _translating(method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            _reconnect_if_lost(self)
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise store_error(exc, self.url) from exc

    return call


def translated(cls: C) -> C:
    """Class decorator: every method of ``cls`` (which has a ``url``) raises a
    StoreError naming the database instead of a psycopg error."""
    return wrap_methods(cls, _translating)


@translated
class Connection(Tables):
    """The connection (autocommit outside ``transaction()``, rows as dicts).
    The tables' methods are mixins on it, composed by ``PostgresStore``."""

    MARK = "%s"
    NAMED = "%({})s"
    # spec is JSON text, as in SQLite: read as jsonb only here.
    PICK_LOCK = " FOR UPDATE SKIP LOCKED"
    ROW_ORDER = "seq"
    SPEC_LAUNCH = "spec::jsonb ->> 'launch'"
    conn: psycopg.Connection[dict[str, Any]]

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], url: str, home: str) -> None:
        self.conn = conn
        self.url = url
        self._home = home
        self._writing = False  # in a transaction() of ours

    @property
    def path(self) -> str:
        return redacted(self.url)

    @property
    def home(self) -> str:
        return self._home

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A write transaction that waits for the fleet's write lock up front."""
        if self.conn.info.transaction_status in _IN_TRANSACTION:
            yield self.conn  # nested: join the outer one
            return
        try:
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        except psycopg.Error as exc:
            self._rollback()
            raise store_error(exc, self.url) from exc
        self._writing = True
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            self._rollback()
            raise store_error(exc, self.url) from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self._writing = False

    def _rollback(self) -> None:
        if self.conn.info.transaction_status in _IN_TRANSACTION:
            # The error that ended the transaction is the one to report.
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        row = self.conn.execute(sql + " RETURNING id", args).fetchone()
        assert row is not None
        return int(row["id"])

    def _any(self, column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(%s)", [list(values)]

    def _upsert(self, table: str, columns: list[str], keys: tuple[str, ...]) -> str:
        marks = ", ".join(f"%({c})s" for c in columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
