"""Opening a fleet's store: the one place that picks the backend.

On the hooks' import path: stdlib and the SQLite backend only (the Store
protocol is imported for the type checker alone, it needs typing; the
PostgreSQL backend only when the URL names it).
"""

from __future__ import annotations

import os

from tmuxorch.core import storeurl
from tmuxorch.core.errors import StoreError
from tmuxorch.store.sqlite.store import SqliteStore

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.store.interface import Store


def open_store(home: Path | str, *, create: bool = True, url: str | None = None) -> Store:
    """The store of the fleet in ``home`` (made if missing, unless not
    ``create``: then StoreError "no fleet at ..."): on the PostgreSQL server
    that ``TMUXORCH_STORE``, else ``url`` (config's ``store.url``) names, else
    the home's SQLite file."""
    where = storeurl.chosen(url)
    if not where:
        return SqliteStore.open(home, create=create)
    problem = storeurl.problem(where)
    if problem is not None:
        source = storeurl.ENV if os.environ.get(storeurl.ENV) else "store.url"
        raise StoreError(f"{source}: {problem}")
    # Here, not at the top: psycopg is never on the hooks' path of a SQLite fleet.
    from tmuxorch.store.postgres.store import PostgresStore

    return PostgresStore.open(where, os.fspath(home), create=create)
