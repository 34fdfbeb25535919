"""The hosts of a fleet, for both backends: each daemon's heartbeat (the
decision that a silent host is lost, its agents with it, is a state write:
``AgentTable.lose_host``)."""

from __future__ import annotations

from tmuxorch.core.records import Host, now
from tmuxorch.store.common.tables import Tables

_COLUMNS = ("name", "last_seen", "started", "version", "pid", "state")


class HostTable(Tables):
    def heartbeat(self, name: str, version: str, pid: int, started: float) -> bool:
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT state FROM hosts WHERE name = {self.MARK}", (name,)
            ).fetchone()
            values = {"name": name, "last_seen": now(), "started": started, "version": version,
                      "pid": pid, "state": "up"}  # fmt: skip
            conn.execute(self._upsert("hosts", list(values), ("name",)), values)
            return row is not None and row["state"] != "up"

    def hosts(self) -> list[Host]:
        rows = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM hosts ORDER BY name")
        return [Host(**dict(r)) for r in rows]
