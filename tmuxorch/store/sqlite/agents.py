"""The agents table and its state writes (tmuxorch.store.common.agents), and
finding an agent by the start (``TMUXORCH_LAUNCH``) its process came from."""

from __future__ import annotations

from tmuxorch.store.common.agents import AgentTable
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated


@translated
class Agents(AgentTable, Connection):
    def launched_as(self, launch: str) -> str | None:
        row = self.conn.execute(
            "SELECT name FROM agents WHERE json_extract(spec, '$.launch') = ?", (launch,)
        ).fetchone()
        return str(row[0]) if row else None
