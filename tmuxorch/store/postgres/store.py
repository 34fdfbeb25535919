"""The PostgreSQL backend of the Store protocol (tmuxorch.store.interface):
one database per fleet, which every host of the fleet shares.

Writes run in transactions that take the fleet's write lock first
(``connection.WRITE_LOCK``), so a read-modify-write never interleaves with
another, as under SQLite's BEGIN IMMEDIATE; every SQL statement of this
backend lives in this subpackage.
"""

from __future__ import annotations

import uuid
from typing import Any

from tmuxorch.core.errors import StoreError
from tmuxorch.core.private import check_home
from tmuxorch.core.records import now
from tmuxorch.store.common.agents import AgentTable
from tmuxorch.store.common.costs import CostTables
from tmuxorch.store.common.hosts import HostTable
from tmuxorch.store.common.locks import LockTable
from tmuxorch.store.common.messages import MessageQueue
from tmuxorch.store.common.notices import NoticeTable
from tmuxorch.store.common.requests import RequestQueue
from tmuxorch.store.postgres.connection import WRITE_LOCK, connect, translated
from tmuxorch.store.postgres.costs import Costs
from tmuxorch.store.postgres.listen import Listen
from tmuxorch.store.postgres.schema import FLEET_TABLE, MIGRATIONS


@translated
class PostgresStore(
    AgentTable, MessageQueue, RequestQueue, LockTable, CostTables, NoticeTable, Costs, HostTable
):
    """A connection to one fleet's database: the tables of tmuxorch.store.common
    over this backend's connection, and what it does its own way."""

    fleet_id = ""

    @classmethod
    def open(cls, url: str, home: str, *, create: bool = True) -> PostgresStore:
        check_home(home, create=create)  # lock waiters' FIFOs stay on this host
        store = cls(connect(url), url, home)
        try:
            store.fleet_id = store._prepare(create)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, create: bool) -> str:
        """The fleet's id, once its schema is this tmuxorch's (made or migrated)."""
        fleet = self._fleet()
        if fleet is not None and fleet["version"] == len(MIGRATIONS):
            return str(fleet["id"])  # every open but the first: no write, no lock
        # Made or migrated under the write lock taken before its transaction
        # begins: one that began before another process made the tables would
        # not see them (PostgreSQL refreshes its catalog caches as a transaction
        # starts, not as an advisory lock is granted).
        self.conn.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        try:
            return self._make(create)
        finally:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))

    def _make(self, create: bool) -> str:
        fleet = self._fleet()
        if fleet is None:
            others = self.conn.execute(
                "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchone()
            if others and others["n"]:
                raise StoreError(
                    f"{self.path} holds other tables, not a database of a tmuxorch fleet: "
                    "name an empty database in store.url"
                )
            if not create:
                raise StoreError(f"no fleet at {self.path}")
        with self.transaction() as conn:
            fleet = self._fleet()
            if fleet is None:
                conn.execute(FLEET_TABLE)
                fleet = {"id": uuid.uuid4().hex, "version": 0}
                conn.execute(
                    "INSERT INTO fleet (id, version, created) VALUES (%s, 0, %s)",
                    (fleet["id"], now()),
                )
            version = int(fleet["version"])
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"fleet database {self.path} has schema version {version}, newer than this "
                    f"tmuxorch's {len(MIGRATIONS)}: upgrade tmuxorch on this host"
                )
            for migration in MIGRATIONS[version:]:
                conn.execute(migration)
            conn.execute("UPDATE fleet SET version = %s", (len(MIGRATIONS),))
        return str(fleet["id"])

    def _fleet(self) -> dict[str, Any] | None:
        if self.conn.execute("SELECT to_regclass('fleet') AS t").fetchone() == {"t": None}:
            return None
        return self.conn.execute("SELECT id, version FROM fleet").fetchone()

    def close(self) -> None:
        self.conn.close()

    def changes(self) -> Listen:
        return Listen(self.url)

    def replaced(self) -> bool:
        """Were the fleet's tables dropped or made anew since this connection
        opened them? A server that cannot be reached is not a replaced fleet."""
        try:
            fleet = self._fleet()
        except StoreError:
            return False
        return fleet is None or fleet["id"] != self.fleet_id

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
