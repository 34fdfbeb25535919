"""The agents table and the writes of an agent's state, for both backends:
what ``tmuxorch.core.states`` decides, persisted with the event row it
records, each in one transaction."""

from __future__ import annotations

import json

from tmuxorch.core import states
from tmuxorch.core.errors import AgentConflict, AgentError
from tmuxorch.core.records import Agent, now
from tmuxorch.store.common.tables import Tables

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.core.vocab import EventKind, State, Writer

_COLUMNS = (
    "name", "profile", "state", "detail", "since", "cwd", "created", "parent", "pane_id",
    "window_id", "pid", "session_id", "transcript_path", "exit_status", "ended_by", "task",
    "turns", "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation",
    "cost_usd", "spec", "host",
)  # fmt: skip

# Every column that names an agent. History moves too: the agent is one
# identity, and its events, turns and messages are shown under its name.
_RENAMED = (
    ("agents", "name"), ("agents", "parent"), ("messages", "recipient"),
    ("messages", "sender"), ("events", "agent"), ("locks", "holder"), ("locks", "agent"),
    ("lock_waiters", "holder"), ("watches", "watcher"), ("transcripts", "agent"),
    ("turns", "agent"), ("message_usage", "agent"), ("requests", "agent"),
)  # fmt: skip


def _agent(row: Any) -> Agent:
    return Agent(**{**dict(row), "spec": json.loads(row["spec"] or "{}")})


class AgentTable(Tables):
    def insert_agent(self, agent: Agent) -> None:
        values = {name: getattr(agent, name) for name in _COLUMNS}
        values["spec"] = json.dumps(agent.spec)
        marks = ", ".join(self._named(c) for c in values)
        with self.transaction() as conn:
            # Asked, not left to the primary key: a failed statement would
            # abort a PostgreSQL caller's whole transaction (writers queue on
            # the write lock, so nobody takes the name in between).
            if self._exists("agents", "name", agent.name):
                raise AgentConflict(f"an agent named {agent.name!r} already exists")
            conn.execute(f"INSERT INTO agents ({', '.join(values)}) VALUES ({marks})", values)

    def get_agent(self, name: str) -> Agent | None:
        row = self.conn.execute(f"SELECT * FROM agents WHERE name = {self.MARK}", (name,))
        row = row.fetchone()
        return _agent(row) if row else None

    def list_agents(self) -> list[Agent]:
        rows = self.conn.execute("SELECT * FROM agents ORDER BY created, name").fetchall()
        return [_agent(r) for r in rows]

    def update_agent(self, name: str, **fields: Any) -> None:
        unknown = set(fields) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown agent fields {sorted(unknown)}")
        if {"state", "detail", "since"} & set(fields):
            raise ValueError("an agent's state moves only through tmuxorch.core.states")
        with self.transaction():
            self._update(name, fields, [])

    def delete_agent(self, name: str, *, record_event: bool = True) -> None:
        with self.transaction() as conn:
            conn.execute(f"DELETE FROM agents WHERE name = {self.MARK}", (name,))
            for table in ("locks", "transcripts", "turns", "message_usage"):
                conn.execute(f"DELETE FROM {table} WHERE agent = {self.MARK}", (name,))
            conn.execute(
                "UPDATE messages SET status = 'failed', error = 'agent removed' "
                f"WHERE recipient = {self.MARK} AND status = 'queued'",
                (name,),
            )
            if record_event:
                self._add_event(name, "removed", None, "", {})

    def rename_agent(self, old: str, new: str) -> None:
        with self.transaction() as conn:
            if not self._exists("agents", "name", old):
                raise AgentError(f"no agent named {old!r}")
            if self._exists("agents", "name", new):
                raise AgentConflict(f"an agent named {new!r} already exists")
            # Its deliverer waits for the agent's hooks under the old name.
            if self._exists("messages", "recipient", old, "AND status = 'delivering'"):
                raise AgentError(
                    f"agent {old!r} is taking a message right now: "
                    "rename it once that delivery is over"
                )
            for table, column in _RENAMED:
                conn.execute(
                    f"UPDATE {table} SET {column} = {self.MARK} WHERE {column} = {self.MARK}",
                    (new, old),
                )
            for row in conn.execute("SELECT id, targets FROM watches").fetchall():
                targets = json.loads(row["targets"])
                if old in targets:
                    moved = json.dumps([new if t == old else t for t in targets])
                    conn.execute(
                        f"UPDATE watches SET targets = {self.MARK} WHERE id = {self.MARK}",
                        (moved, row["id"]),
                    )
            self._add_event(new, "renamed", None, f"renamed from {old}", {"from": old})

    def launched_as(self, launch: str) -> str | None:
        row = self.conn.execute(
            f"SELECT name FROM agents WHERE {self.SPEC_LAUNCH} = {self.MARK}", (launch,)
        ).fetchone()
        return str(row["name"]) if row else None

    def state_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) AS n FROM agents GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    def agent_liveness(self, name: str) -> tuple[str, int | None, str | None] | None:
        row = self._state_row(name, "pid", "task")
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
            row = self._state_row(name, "detail", "ended_by")
            if row is None or (expect is not None and row["state"] != expect):
                return False
            decision = states.transition(writer, states.Row(**row), state, detail, event)
            self._persist(name, decision, fields, detail, data or {})
            return decision.changed

    def mark_lost(self, name: str, since: float) -> bool:
        with self.transaction():
            row = self._state_row(name, "detail", "ended_by", "exit_status", "since")
            if row is None or row.pop("since") != since:
                return False
            decision = states.lost(states.Row(**row))
            self._persist(name, decision, {}, decision.fields.get("detail", ""), {})
            return decision.changed

    def lose_host(self, host: str, silent_since: float) -> dict[str, State] | None:
        with self.transaction() as conn:
            # The claim: of the daemons that find the host silent, one decides.
            claimed = conn.execute(
                f"UPDATE hosts SET state = 'lost' WHERE name = {self.MARK} AND state = 'up' "
                f"AND last_seen < {self.MARK}",
                (host, silent_since),
            ).rowcount
            if not claimed:
                return None
            rows = conn.execute(
                "SELECT name, state, detail, ended_by, exit_status FROM agents "
                f"WHERE host = {self.MARK} ORDER BY created, name",
                (host,),
            ).fetchall()
            lost: dict[str, State] = {}
            for row in map(dict, rows):
                name = row.pop("name")
                decision = states.lost(states.Row(**row), states.host_lost_detail(host))
                if decision.changed:
                    self._persist(name, decision, {}, decision.fields["detail"], {"host": host})
                    lost[name] = row["state"]
            self._add_event(None, "host-lost", None, states.host_lost_detail(host), {"host": host})
            return lost

    def adopt_agents(self, host: str) -> list[str]:
        with self.transaction() as conn:
            rows = conn.execute("SELECT name FROM agents WHERE host = '' ORDER BY name").fetchall()
            conn.execute(f"UPDATE agents SET host = {self.MARK} WHERE host = ''", (host,))
        return [r["name"] for r in rows]

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
            row = self._state_row(name, "detail", "ended_by")
            if row is None:
                return False
            decision = states.transition(writer, states.Row(**row), state, detail, event)
            self._persist(name, decision, fields, detail, data)
            return True

    def _state_row(self, name: str, *columns: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT state, {', '.join(columns)} FROM agents WHERE name = {self.MARK}", (name,)
        ).fetchone()
        return dict(row) if row is not None else None

    def _exists(self, table: str, column: str, value: str, more: str = "") -> bool:
        sql = f"SELECT 1 FROM {table} WHERE {column} = {self.MARK} {more}"
        return self.conn.execute(sql, (value,)).fetchone() is not None

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
        self._update(name, sets, ["turns = turns + 1"] if decision.turn else [])
        if decision.record:
            self._add_event(name, decision.event, decision.state, detail, data)

    def _update(self, name: str, sets: dict[str, Any], more: list[str]) -> None:
        """Set the agent's columns ``sets`` (and the ``more`` assignments)."""
        if "spec" in sets:
            sets["spec"] = json.dumps(sets["spec"])
        assignments = [f"{k} = {self._named(k)}" for k in sets] + more
        if assignments:
            self.conn.execute(
                f"UPDATE agents SET {', '.join(assignments)} WHERE name = {self._named('_name')}",
                {**sets, "_name": name},
            )
