"""The base of the tables both backends share: the primitives each backend
gives them (placeholders, a new row's id, an upsert) and what is built on
those alone. Stdlib only: this is on the hooks' import path."""

from __future__ import annotations

import json
import types

from tmuxorch.core.records import now

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from contextlib import AbstractContextManager
    from typing import Any, TypeVar

    C = TypeVar("C", bound=type)


class Tables:
    """The base of the shared mixins and of each backend's ``Connection``,
    which gives the primitives below; SQL here uses ``MARK`` and ``_named``."""

    MARK = ""  # a positional placeholder: "?" or "%s"
    NAMED = ""  # a named one, formatted with its name: ":{}" or "%({})s"
    SPEC_LAUNCH = ""  # the launch token in an agent's spec (JSON text)
    PICK_LOCK = ""  # what a claim's pick of a row adds to lock it, if anything
    ROW_ORDER = ""  # the column rows are in the order written by: "rowid" or "seq"

    if TYPE_CHECKING:
        conn: Any

        def transaction(self) -> AbstractContextManager[Any]: ...

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        """Run an INSERT; the new row's id."""
        raise NotImplementedError

    def _any(self, column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: the condition and its arguments."""
        raise NotImplementedError

    def _upsert(self, table: str, columns: list[str], keys: tuple[str, ...]) -> str:
        """The statement that inserts a row of ``columns`` (named
        placeholders), or replaces the one with the same ``keys``."""
        raise NotImplementedError

    def _named(self, name: str) -> str:
        return self.NAMED.format(name)

    def _add_event(
        self, agent: str | None, event: str, state: str | None, detail: str, data: dict[str, Any]
    ) -> int:
        return self._insert(
            f"INSERT INTO events (ts, agent, event, state, detail, data) VALUES ({self._marks(6)})",
            (now(), agent, event, state, detail, json.dumps(data)),
        )

    def _put(self, table: str, values: dict[str, Any], keys: tuple[str, ...]) -> None:
        """Insert the row ``values``, or replace the one with the same ``keys``."""
        with self.transaction() as conn:
            conn.execute(self._upsert(table, list(values), keys), values)

    def _write(self, sql: str, args: Sequence[Any]) -> int:
        """One write statement in its own transaction; the rows it changed."""
        with self.transaction() as conn:
            return int(conn.execute(sql, args).rowcount)

    def _marks(self, count: int) -> str:
        return ", ".join([self.MARK] * count)


def wrap_methods(cls: C, wrap: Callable[[Any], Any]) -> C:
    """Wrap every method of ``cls``: its own and those it takes from the shared
    mixins among its direct bases (wrapped on ``cls``, never on the mixin,
    which the other backend uses too). The backends' error translation."""
    found: dict[str, object] = {}
    for base in reversed(cls.__bases__):
        if base.__module__.startswith(__package__ or ""):
            found.update(vars(base))
    for name, value in {**found, **vars(cls)}.items():
        if isinstance(value, types.FunctionType) and not name.startswith("__"):
            setattr(cls, name, wrap(value))
    return cls
