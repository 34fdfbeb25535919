"""SQLite's errors as StoreErrors that name the database file and say what to do.

The store is the boundary: no sqlite3 error leaves it raw, so the CLI, the
MCP server and Claude's hooks each turn it into one line like any other
TmuxorchError. Stdlib only: this is on the hooks' import path.
"""

from __future__ import annotations

import functools
import sqlite3

from tmuxorch.core.errors import StoreError
from tmuxorch.store.common.tables import wrap_methods

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, TypeVar

    C = TypeVar("C", bound=type)

# What SQLite says (a part of its message) -> what the user can do about it.
_ADVICE: tuple[tuple[str, str], ...] = (
    ("readonly", "make the file, its -wal and -shm files and the home writable"),
    ("disk is full", "free some disk space, then retry"),
    ("disk I/O error", "check the disk (free space, errors in the kernel log), then retry"),
    ("malformed", "move the file and its -wal and -shm aside to start a new fleet state"),
    ("not a database", "move the file and its -wal and -shm aside to start a new fleet state"),
    ("unable to open", "check that the home exists, is a directory and is writable"),
    ("locked", "another process holds it: retry when it is done"),
)


def store_error(exc: sqlite3.Error, path: Path | str) -> StoreError:
    """``exc`` as one line: the file, SQLite's reason, and what to do."""
    reason = str(exc) or type(exc).__name__
    advice = next((a for needle, a in _ADVICE if needle in reason), "")
    return StoreError(f"fleet database {path}: {reason}" + (f": {advice}" if advice else ""))


def _translating(method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # tmuxorch's own logic or a bug, not the file's state
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from exc

    return call


def translated(cls: C) -> C:
    """Class decorator: every method of ``cls`` (which has a ``path``)
    raises a StoreError naming that path instead of a sqlite3 error."""
    return wrap_methods(cls, _translating)
