"""A batch's outcome as the JSON contract shows it (``batch --json``, ``batch_run``)."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import frozen
from tmuxorch.fleet.batch import Batch, Run


@frozen
class BatchView:
    """Whether every task completed, and each task's run."""

    ok: bool
    tasks: list[Run]

    @classmethod
    def of(cls, batch: Batch) -> BatchView:
        return cls(batch.ok(), list(batch.runs.values()))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "tasks": [run.to_json() for run in self.tasks]}
