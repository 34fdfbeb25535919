"""The SQLite backend of the Store protocol (tmuxorch.store.interface).

One database per home, WAL mode so readers never block the writer, a busy
timeout so concurrent CLI calls queue instead of failing, and writes inside
``BEGIN IMMEDIATE`` so a read-modify-write can never interleave with another.
Every SQL statement of this backend lives in this subpackage, one module per
group of tables.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time

from tmuxorch.core.errors import StoreError
from tmuxorch.core.private import check_entry, check_home
from tmuxorch.store.common.agents import AgentTable
from tmuxorch.store.common.costs import CostTables
from tmuxorch.store.common.hosts import HostTable
from tmuxorch.store.common.locks import LockTable
from tmuxorch.store.common.messages import MessageQueue
from tmuxorch.store.common.notices import NoticeTable
from tmuxorch.store.common.requests import RequestQueue
from tmuxorch.store.sqlite.costs import Costs
from tmuxorch.store.sqlite.errors import store_error, translated
from tmuxorch.store.sqlite.schema import DB_NAME, MIGRATIONS, identity

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.store.sqlite.wal import WalWatch


def _create(path: str) -> None:
    """A new database, set up under a temporary name and linked into place
    whole: nobody ever opens a half-made (zero-length) ``state.db``."""
    tmp = os.path.join(
        os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.{time.monotonic_ns()}"
    )
    try:
        with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            SqliteStore(conn, tmp)._migrate()
        with contextlib.suppress(FileExistsError):  # a concurrent call made it first
            os.link(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from exc
    finally:
        for name in (tmp, tmp + "-wal", tmp + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


@translated
class SqliteStore(
    AgentTable, MessageQueue, RequestQueue, LockTable, CostTables, NoticeTable, Costs, HostTable
):
    """A connection to one fleet's database: the tables of tmuxorch.store.common
    over this backend's connection, and what it does its own way."""

    @classmethod
    def open(cls, home: Path | str, *, create: bool = True) -> SqliteStore:
        # os.path, not pathlib: Claude's hooks open the store on every tool call.
        path = os.path.join(home, DB_NAME)
        if create:
            check_home(home)
        elif not os.path.exists(path):
            raise StoreError(f"no fleet at {home}")
        else:
            check_home(home, create=False)
        old_umask = os.umask(0o077)  # the db, its WAL and shm files are 0600
        try:
            if create and not os.path.lexists(path):
                _create(path)
            identity(path)  # SQLite would follow a link, or take an empty file
            for journal in (path + "-wal", path + "-shm"):
                if os.path.islink(journal):  # SQLite would write through it
                    check_entry(journal, os.lstat(journal), stat.S_IFREG)
            conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, path) from exc
        finally:
            os.umask(old_umask)
        conn.row_factory = sqlite3.Row
        try:
            store = cls(conn, path)
            store._prepare()
        except BaseException:  # raw sqlite errors and Ctrl-C too: never a leaked connection
            conn.close()
            raise
        return store

    def _prepare(self) -> None:
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self._use_wal()
        self._migrate()
        self.conn.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self.conn.close()

    @property
    def home(self) -> str:
        return os.path.dirname(self.path)

    def changes(self) -> WalWatch:
        # Here, not at the top: watchdog is never on the hooks' path.
        from tmuxorch.store.sqlite.wal import WalWatch

        return WalWatch(self.home)

    def replaced(self) -> bool:
        """Was the database file deleted or replaced since it was opened?
        This connection then reads and writes a file nobody else sees."""
        try:
            return identity(self.path) != self.identity
        except StoreError:
            return True

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _use_wal(self) -> None:
        """Switch a new database to WAL (persistent, so once per file). The
        switch does not wait on the busy timeout: when connections race on a
        fresh file, the losers retry until they see WAL."""
        for attempt in range(300):
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.005 * (attempt + 1), 0.1))
        raise StoreError(f"cannot switch {self.path} to WAL: the database stays locked")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
