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


@translated
class AgentStates(Connection):
    def set_state(
        self,
        name: str,
        state: str,
        detail: str = "",
        *,
        event: str = "state",
        data: dict[str, Any] | None = None,
        expect: str | None = None,
        writer: str = states.FLEET,
        **fields: Any,
    ) -> bool:
        """Move an agent to ``state`` (as ``states.moves`` allows ``writer``);
        record an event only when something changed.

        With ``expect``, only if the agent is still in that state: a decision
        made on an older reading must not undo what a hook or a delivery did
        since. Returns whether the state or detail changed.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, detail FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None or (expect is not None and row["state"] != expect):
                return False
            moved = states.moves(writer, row["state"], state)
            changed = moved or (row["state"] == state and row["detail"] != detail)
            sets = dict(fields)
            if changed:
                sets.update(state=state, detail=detail)
            if moved:
                sets["since"] = now()
            if sets:
                if "spec" in sets:
                    sets["spec"] = json.dumps(sets["spec"])
                assignments = ", ".join(f"{k} = :{k}" for k in sets)
                conn.execute(
                    f"UPDATE agents SET {assignments} WHERE name = :_name", {**sets, "_name": name}
                )
            if changed:
                self._add_event(name, event, state, detail, data or {})
            return changed

    def mark_lost(self, name: str) -> bool:
        """An agent whose window vanished, unless tmuxorch itself ended it
        (``ended_by`` is set before it kills anything): ``up`` brings it back."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE agents SET state = 'exited', detail = 'window gone', ended_by = 'lost', "
                "since = ? WHERE name = ? AND ended_by IS NULL "
                "AND state NOT IN ('exited', 'stopped')",
                (now(), name),
            ).rowcount
            if changed:
                self._add_event(name, "exited", "exited", "window gone", {})
            return bool(changed)

    def hook_event(
        self,
        name: str,
        event: str,
        state: str | None,
        detail: str,
        data: dict[str, Any],
        fields: dict[str, Any],
        writer: str = states.HOOK,
    ) -> bool:
        """One Claude hook event in one transaction: fields, event row, state
        (as ``states.moves`` allows ``writer``; the event row says none when
        the state stands).

        Returns False when the agent is unknown (a hook from a removed agent).
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, ended_by FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return False
            if state == "exited" and row["ended_by"] == "stop":
                state = "stopped"  # the session ended because `stop` asked it to
            if event == "hook:UserPromptSubmit":
                fields = {**fields, "turns": None}
            sets = dict(fields)
            if state is not None and states.moves(writer, row["state"], state):
                sets.update(state=state, detail=detail, since=now())
            elif state is not None and state == row["state"]:
                sets["detail"] = detail
            else:
                state = None
            if sets:
                assignments = ", ".join(
                    "turns = turns + 1" if k == "turns" else f"{k} = :{k}" for k in sets
                )
                conn.execute(
                    f"UPDATE agents SET {assignments} WHERE name = :_name", {**sets, "_name": name}
                )
            self._add_event(name, event, state, detail, data)
            return True
