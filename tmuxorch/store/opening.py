"""Opening a fleet's store: the one place that picks the backend.

On the hooks' import path: stdlib and the SQLite backend only (the Store
protocol is imported for the type checker alone, it needs typing).
"""

from __future__ import annotations

from tmuxorch.core.private import check_home
from tmuxorch.store.sqlite.store import SqliteStore

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.store.interface import Store


def ensure_home(home: Path | str) -> None:
    """Create the home 0700; refuse one that is not ours or not private."""
    check_home(home)


def open_store(home: Path | str, *, create: bool = True) -> Store:
    """The store of the fleet in ``home`` (made if missing, unless not
    ``create``: then StoreError "no fleet at HOME")."""
    return SqliteStore.open(home, create=create)
