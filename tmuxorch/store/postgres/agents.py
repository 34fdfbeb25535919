"""The agents table and the writes of an agent's state (a move, a hook event,
a window gone: each one transaction with the event row it records)."""

from __future__ import annotations

import json
from typing import Any

from tmuxorch.core import states
from tmuxorch.core.errors import AgentError
from tmuxorch.core.records import Agent, now
from tmuxorch.core.vocab import EventKind, State, Writer
from tmuxorch.store.postgres.connection import Connection, translated

_AGENT_COLUMNS = (
    "name", "profile", "state", "detail", "since", "cwd", "created", "parent", "pane_id",
    "window_id", "pid", "session_id", "transcript_path", "exit_status", "ended_by", "task",
    "turns", "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation",
    "cost_usd", "spec",
)  # fmt: skip


def _agent(row: dict[str, Any]) -> Agent:
    return Agent(**{**row, "spec": json.loads(row["spec"] or "{}")})


@translated
class Agents(Connection):
    def insert_agent(self, agent: Agent) -> None:
        values = {name: getattr(agent, name) for name in _AGENT_COLUMNS}
        values["spec"] = json.dumps(agent.spec)
        columns = ", ".join(values)
        marks = ", ".join(f"%({c})s" for c in values)
        with self.transaction() as conn:
            # Asked, not left to the primary key: a failed statement would
            # abort the caller's whole transaction (writers queue on the write
            # lock, so nobody takes the name in between).
            if conn.execute("SELECT 1 FROM agents WHERE name = %s", (agent.name,)).fetchone():
                raise AgentError(f"an agent named {agent.name!r} already exists")
            conn.execute(f"INSERT INTO agents ({columns}) VALUES ({marks})", values)

    def get_agent(self, name: str) -> Agent | None:
        row = self.conn.execute("SELECT * FROM agents WHERE name = %s", (name,)).fetchone()
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
        assignments = ", ".join(f"{k} = %({k})s" for k in fields)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE agents SET {assignments} WHERE name = %(_name)s", {**fields, "_name": name}
            )

    def delete_agent(self, name: str, *, record_event: bool = True) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM agents WHERE name = %s", (name,))
            conn.execute("DELETE FROM locks WHERE agent = %s", (name,))
            for table in ("transcripts", "turns", "message_usage"):
                conn.execute(f"DELETE FROM {table} WHERE agent = %s", (name,))
            conn.execute(
                "UPDATE messages SET status = 'failed', error = 'agent removed' "
                "WHERE recipient = %s AND status = 'queued'",
                (name,),
            )
            if record_event:
                self._add_event(name, "removed", None, "", {})

    def state_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) AS n FROM agents GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    def agent_liveness(self, name: str) -> tuple[str, int | None, str | None] | None:
        row = self.conn.execute(
            "SELECT state, pid, task FROM agents WHERE name = %s", (name,)
        ).fetchone()
        return (row["state"], row["pid"], row["task"]) if row else None

    # -- state: what tmuxorch.core.states decides, persisted ----------------------

    def set_state(
        self,
        name: str,
        state: State,
        detail: str = "",
        *,
        event: EventKind = "state",
        data: dict[str, Any] | None = None,
        expect: State | None = None,
        writer: Writer = states.FLEET,
        **fields: Any,
    ) -> bool:
        with self.transaction():
            row = self._state_row(name)
            if row is None or (expect is not None and row["state"] != expect):
                return False
            decision = states.transition(writer, states.Row(**row), state, detail, event)
            self._persist(name, decision, fields, detail, data or {})
            return decision.changed

    def mark_lost(self, name: str, since: float) -> bool:
        """As SQLite's: only an agent still started at ``since`` (one started
        again since has a window the caller did not see)."""
        with self.transaction():
            row = self._state_row(name, "exit_status", "since")
            if row is None or row.pop("since") != since:
                return False
            decision = states.lost(states.Row(**row))
            self._persist(name, decision, {}, decision.fields.get("detail", ""), {})
            return decision.changed

    def hook_event(
        self,
        name: str,
        event: EventKind,
        state: State | None,
        detail: str,
        data: dict[str, Any],
        fields: dict[str, Any],
        writer: Writer = states.HOOK,
    ) -> bool:
        with self.transaction():
            row = self._state_row(name)
            if row is None:
                return False
            decision = states.transition(writer, states.Row(**row), state, detail, event)
            self._persist(name, decision, fields, detail, data)
            return True

    def _state_row(self, name: str, *extra: str) -> dict[str, Any] | None:
        columns = ", ".join(("state", "detail", "ended_by", *extra))
        return self.conn.execute(
            f"SELECT {columns} FROM agents WHERE name = %s", (name,)
        ).fetchone()

    def _persist(
        self,
        name: str,
        decision: states.Decision,
        fields: dict[str, Any],
        detail: str,
        data: dict[str, Any],
    ) -> None:
        """Write what ``states`` decided, with the writer's own ``fields``, and
        its event (``detail`` and ``data`` are the event's). In a transaction."""
        sets = {**fields, **decision.fields}
        if decision.since:
            sets["since"] = now()
        if "spec" in sets:
            sets["spec"] = json.dumps(sets["spec"])
        assignments = [f"{k} = %({k})s" for k in sets]
        if decision.turn:
            assignments.append("turns = turns + 1")
        if assignments:
            self.conn.execute(
                f"UPDATE agents SET {', '.join(assignments)} WHERE name = %(_name)s",
                {**sets, "_name": name},
            )
        if decision.record:
            self._add_event(name, decision.event, decision.state, detail, data)
