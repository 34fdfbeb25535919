"""The agents table: one row per agent (its state is written by
``agentstates``)."""

from __future__ import annotations

import json
import sqlite3

from tmuxorch.core.errors import AgentConflict
from tmuxorch.core.records import Agent
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_AGENT_COLUMNS = (
    "name", "profile", "state", "detail", "since", "cwd", "created", "parent", "pane_id",
    "window_id", "pid", "session_id", "transcript_path", "exit_status", "ended_by", "task",
    "turns", "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation",
    "cost_usd", "spec",
)  # fmt: skip


# A lock on a directory covers everything below it, so two lock paths conflict
# when equal or when one is a directory prefix of the other (``:p`` is the


def _agent(row: sqlite3.Row) -> Agent:
    values = dict(row)
    values["spec"] = json.loads(values["spec"] or "{}")
    return Agent(**values)


@translated
class Agents(Connection):
    def insert_agent(self, agent: Agent) -> None:
        values = {name: getattr(agent, name) for name in _AGENT_COLUMNS}
        values["spec"] = json.dumps(agent.spec)
        columns = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        with self.transaction() as conn:
            try:
                conn.execute(f"INSERT INTO agents ({columns}) VALUES ({marks})", values)
            except sqlite3.IntegrityError:
                raise AgentConflict(f"an agent named {agent.name!r} already exists") from None

    def get_agent(self, name: str) -> Agent | None:
        row = self.conn.execute("SELECT * FROM agents WHERE name = ?", (name,)).fetchone()
        return _agent(row) if row else None

    def list_agents(self) -> list[Agent]:
        rows = self.conn.execute("SELECT * FROM agents ORDER BY created, name").fetchall()
        return [_agent(r) for r in rows]

    def update_agent(self, name: str, **fields: Any) -> None:
        unknown = set(fields) - set(_AGENT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown agent fields {sorted(unknown)}")
        if {"state", "detail", "since"} & set(fields):
            raise ValueError("an agent's state moves only through tmuxorch.core.states")
        if "spec" in fields:
            fields["spec"] = json.dumps(fields["spec"])
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE agents SET {assignments} WHERE name = :_name", {**fields, "_name": name}
            )

    def delete_agent(self, name: str, *, record_event: bool = True) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM agents WHERE name = ?", (name,))
            conn.execute("DELETE FROM locks WHERE agent = ?", (name,))
            for table in ("transcripts", "turns", "message_usage"):
                conn.execute(f"DELETE FROM {table} WHERE agent = ?", (name,))
            conn.execute(
                "UPDATE messages SET status = 'failed', error = 'agent removed' "
                "WHERE recipient = ? AND status = 'queued'",
                (name,),
            )
            if record_event:
                self._add_event(name, "removed", None, "", {})

    def state_counts(self) -> dict[str, int]:
        """How many agents are in each state (the status line's one query)."""
        rows = self.conn.execute("SELECT state, count(*) FROM agents GROUP BY state").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def agent_liveness(self, name: str) -> tuple[str, int | None, str | None] | None:
        """``(state, pane pid, task)`` of an agent, or None if there is no such agent."""
        row = self.conn.execute(
            "SELECT state, pid, task FROM agents WHERE name = ?", (name,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None
