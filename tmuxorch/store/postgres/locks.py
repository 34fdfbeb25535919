"""File locks and their waiters (the rules are tmuxorch.locks.acquisition,
which calls these inside one transaction)."""

from __future__ import annotations

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import Lock, Waiter, now
from tmuxorch.store.common.tables import overlaps
from tmuxorch.store.postgres.connection import Connection, translated

_OVERLAPS = overlaps("%(p)s")
_LOCK_COLUMNS = "path, holder, agent, since, expires, reason, pid, pid_start"


@translated
class Locks(Connection):
    def locks_by_agent(self) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for row in self.conn.execute(
            "SELECT agent, path FROM locks WHERE agent IS NOT NULL ORDER BY path"
        ):
            held.setdefault(row["agent"], []).append(row["path"])
        return held

    def locks(self) -> list[Lock]:
        return [Lock(**r) for r in self.conn.execute("SELECT * FROM locks ORDER BY path")]

    def locks_overlapping(self, path: str) -> list[Lock]:
        rows = self.conn.execute(
            f"SELECT * FROM locks WHERE {_OVERLAPS} ORDER BY since, path", {"p": path}
        )
        return [Lock(**r) for r in rows]

    def put_lock(self, lock: Lock) -> None:
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO locks ({_LOCK_COLUMNS}) VALUES (%(path)s, %(holder)s, %(agent)s, "
                "%(since)s, %(expires)s, %(reason)s, %(pid)s, %(pid_start)s) "
                "ON CONFLICT (path) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in _LOCK_COLUMNS.split(", ")[1:]),
                asdict(lock),
            )

    def extend_lock(self, path: str, expires: float) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE locks SET expires = %s WHERE path = %s", (expires, path))

    def delete_lock(self, path: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM locks WHERE path = %s", (path,))

    def delete_locks_of(self, holder: str) -> list[str]:
        with self.transaction() as conn:
            rows = conn.execute("DELETE FROM locks WHERE holder = %s RETURNING path", (holder,))
            return sorted(r["path"] for r in rows)

    def waiters(self) -> list[Waiter]:
        rows = self.conn.execute("SELECT * FROM lock_waiters ORDER BY id")
        return [Waiter(**r) for r in rows]

    def waiters_overlapping(self, path: str) -> list[Waiter]:
        rows = self.conn.execute(
            f"SELECT * FROM lock_waiters WHERE {_OVERLAPS} ORDER BY id", {"p": path}
        )
        return [Waiter(**r) for r in rows]

    def add_waiter(self, path: str, holder: str, pid: int, wake: str) -> int:
        with self.transaction() as conn:
            row = conn.execute(
                "INSERT INTO lock_waiters (path, holder, pid, since, wake) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (path, holder, pid, now(), wake),
            ).fetchone()
        assert row is not None
        return int(row["id"])

    def delete_waiter(self, waiter_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM lock_waiters WHERE id = %s", (waiter_id,))
