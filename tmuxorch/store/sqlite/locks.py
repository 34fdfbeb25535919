"""File locks and their waiters (the rules are tmuxorch.locks.acquisition,
which calls these inside one transaction)."""

from __future__ import annotations

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import Lock, Waiter, now
from tmuxorch.store.common.tables import overlaps
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

_OVERLAPS = overlaps(":p")


@translated
class Locks(Connection):
    def locks_by_agent(self) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for row in self.conn.execute(
            "SELECT agent, path FROM locks WHERE agent IS NOT NULL ORDER BY path"
        ):
            held.setdefault(row[0], []).append(row[1])
        return held

    def locks(self) -> list[Lock]:
        return [Lock(**dict(r)) for r in self.conn.execute("SELECT * FROM locks ORDER BY path")]

    def locks_overlapping(self, path: str) -> list[Lock]:
        rows = self.conn.execute(
            f"SELECT * FROM locks WHERE {_OVERLAPS} ORDER BY since, path", {"p": path}
        )
        return [Lock(**dict(r)) for r in rows]

    def put_lock(self, lock: Lock) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO locks (path, holder, agent, since, expires, reason, pid, "
            "pid_start) VALUES (:path, :holder, :agent, :since, :expires, :reason, :pid, "
            ":pid_start)",
            asdict(lock),
        )

    def extend_lock(self, path: str, expires: float) -> None:
        self.conn.execute("UPDATE locks SET expires = ? WHERE path = ?", (expires, path))

    def delete_lock(self, path: str) -> None:
        self.conn.execute("DELETE FROM locks WHERE path = ?", (path,))

    def delete_locks_of(self, holder: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT path FROM locks WHERE holder = ? ORDER BY path", (holder,)
        ).fetchall()
        self.conn.execute("DELETE FROM locks WHERE holder = ?", (holder,))
        return [r[0] for r in rows]

    def waiters(self) -> list[Waiter]:
        rows = self.conn.execute("SELECT * FROM lock_waiters ORDER BY id")
        return [Waiter(**dict(r)) for r in rows]

    def waiters_overlapping(self, path: str) -> list[Waiter]:
        rows = self.conn.execute(
            f"SELECT * FROM lock_waiters WHERE {_OVERLAPS} ORDER BY id", {"p": path}
        )
        return [Waiter(**dict(r)) for r in rows]

    def add_waiter(self, path: str, holder: str, pid: int, wake: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO lock_waiters (path, holder, pid, since, wake) VALUES (?, ?, ?, ?, ?)",
            (path, holder, pid, now(), wake),
        )
        return int(cur.lastrowid or 0)

    def delete_waiter(self, waiter_id: int) -> None:
        self.conn.execute("DELETE FROM lock_waiters WHERE id = ?", (waiter_id,))
