"""The agents table and its state writes (tmuxorch.store.common.agents), and
finding an agent by the start (``TMUXORCH_LAUNCH``) its process came from."""

from __future__ import annotations

from tmuxorch.store.common.agents import AgentTable
from tmuxorch.store.postgres.connection import Connection, translated


@translated
class Agents(AgentTable, Connection):
    def launched_as(self, launch: str) -> str | None:
        # spec is JSON text, as in SQLite: read as jsonb only here.
        row = self.conn.execute(
            "SELECT name FROM agents WHERE spec::jsonb ->> 'launch' = %s", (launch,)
        ).fetchone()
        return str(row["name"]) if row else None
