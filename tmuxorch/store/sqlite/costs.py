"""How far each transcript was read (the rest of cost history is
tmuxorch.store.common.costs)."""

from __future__ import annotations

from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated


@translated
class Costs(Connection):
    def set_transcript_position(self, agent: str, path: str, position: int) -> None:
        # The row keeps its rowid: transcripts are listed in the order first seen.
        self.conn.execute(
            "INSERT OR REPLACE INTO transcripts (rowid, agent, path, position) VALUES ("
            "(SELECT rowid FROM transcripts WHERE agent = ? AND path = ?), ?, ?, ?)",
            (agent, path, agent, path, position),
        )
