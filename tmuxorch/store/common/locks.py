"""File locks and their waiters, for both backends (the rules are
tmuxorch.locks.acquisition, which calls these inside one transaction)."""

from __future__ import annotations

from tmuxorch.core.frozen import asdict
from tmuxorch.core.records import Lock, Waiter, now
from tmuxorch.store.common.tables import Tables


def _overlaps(p: str) -> str:
    """A lock on a directory covers everything below it, so two lock paths
    conflict when equal or when one is a directory prefix of the other (``p``
    is the placeholder of the path asked for; substr, unlike LIKE, has no
    wildcard characters to escape)."""
    return (
        f"(path = {p} OR substr({p}, 1, length(path) + 1) = path || '/' "
        f"OR substr(path, 1, length({p}) + 1) = {p} || '/')"
    )


class LockTable(Tables):
    def locks_by_agent(self) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for row in self.conn.execute(
            "SELECT agent, path FROM locks WHERE agent IS NOT NULL ORDER BY path"
        ):
            held.setdefault(row["agent"], []).append(row["path"])
        return held

    def locks(self) -> list[Lock]:
        return [Lock(**dict(r)) for r in self.conn.execute("SELECT * FROM locks ORDER BY path")]

    def locks_overlapping(self, path: str) -> list[Lock]:
        rows = self.conn.execute(
            f"SELECT * FROM locks WHERE {_overlaps(self._named('p'))} ORDER BY since, path",
            {"p": path},
        )
        return [Lock(**dict(r)) for r in rows]

    def put_lock(self, lock: Lock) -> None:
        self._put("locks", asdict(lock), ("path",))

    def extend_lock(self, path: str, expires: float) -> None:
        self._write(
            f"UPDATE locks SET expires = {self.MARK} WHERE path = {self.MARK}", (expires, path)
        )

    def delete_lock(self, path: str) -> None:
        self._write(f"DELETE FROM locks WHERE path = {self.MARK}", (path,))

    def delete_locks_of(self, holder: str) -> list[str]:
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT path FROM locks WHERE holder = {self.MARK} ORDER BY path", (holder,)
            ).fetchall()
            conn.execute(f"DELETE FROM locks WHERE holder = {self.MARK}", (holder,))
        return [r["path"] for r in rows]

    def waiters(self) -> list[Waiter]:
        rows = self.conn.execute("SELECT * FROM lock_waiters ORDER BY id")
        return [Waiter(**dict(r)) for r in rows]

    def waiters_overlapping(self, path: str) -> list[Waiter]:
        rows = self.conn.execute(
            f"SELECT * FROM lock_waiters WHERE {_overlaps(self._named('p'))} ORDER BY id",
            {"p": path},
        )
        return [Waiter(**dict(r)) for r in rows]

    def add_waiter(self, path: str, holder: str, pid: int, wake: str) -> int:
        with self.transaction():
            return self._insert(
                "INSERT INTO lock_waiters (path, holder, pid, since, wake) "
                f"VALUES ({self._marks(5)})",
                (path, holder, pid, now(), wake),
            )

    def delete_waiter(self, waiter_id: int) -> None:
        self._write(f"DELETE FROM lock_waiters WHERE id = {self.MARK}", (waiter_id,))
