"""Writing an agent's state: a move, a hook event, a window gone. Each is one
transaction with the event row it records."""

from __future__ import annotations

import json

from tmuxorch.core import states
from tmuxorch.core.records import now
from tmuxorch.store.sqlite.connection import Connection
from tmuxorch.store.sqlite.errors import translated

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.core.vocab import EventKind, State, Writer


@translated
class AgentStates(Connection):
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
        """Move an agent to ``state`` as ``states.transition`` decides for
        ``writer``; record an event only when something changed.

        With ``expect``, only if the agent is still in that state: a decision
        made on an older reading must not undo what a hook or a delivery did
        since. Returns whether the state or detail changed.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, detail, ended_by FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None or (expect is not None and row["state"] != expect):
                return False
            decision = states.transition(writer, states.Row(**dict(row)), state, detail, event)
            self._persist(name, decision, fields, detail, data or {})
            return decision.changed

    def mark_lost(self, name: str, since: float) -> bool:
        """An agent whose window vanished, unless tmuxorch itself ended it
        (``ended_by`` is set before it kills anything): ``up`` brings it back.
        ``since`` is the agent's as the caller saw it without a window: one
        started since (spawned again after a remove, brought back by ``up``)
        has a window the caller did not see."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, detail, ended_by, exit_status, since FROM agents WHERE name = ?",
                (name,),
            ).fetchone()
            facts = dict(row) if row is not None else None
            if facts is None or facts.pop("since") != since:
                return False
            decision = states.lost(states.Row(**facts))
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
        """One Claude hook event in one transaction: fields, event row, state
        (as ``states.transition`` decides for ``writer``; the event row says
        none when the state stands).

        Returns False when the agent is unknown (a hook from a removed agent).
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, detail, ended_by FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return False
            decision = states.transition(writer, states.Row(**dict(row)), state, detail, event)
            self._persist(name, decision, fields, detail, data)
            return True

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
        assignments = [f"{k} = :{k}" for k in sets]
        if decision.turn:
            assignments.append("turns = turns + 1")
        if assignments:
            self.conn.execute(
                f"UPDATE agents SET {', '.join(assignments)} WHERE name = :_name",
                {**sets, "_name": name},
            )
        if decision.record:
            self._add_event(name, decision.event, decision.state, detail, data)
