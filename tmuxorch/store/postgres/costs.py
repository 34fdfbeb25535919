"""How far each transcript was read (the rest of cost history is
tmuxorch.store.common.costs)."""

from __future__ import annotations

from tmuxorch.store.postgres.connection import Connection, translated


@translated
class Costs(Connection):
    def set_transcript_position(self, agent: str, path: str, position: int) -> None:
        # An upsert keeps the row's seq: transcripts are listed in the order first seen.
        self._put(
            "transcripts", {"agent": agent, "path": path, "position": position}, ("agent", "path")
        )
