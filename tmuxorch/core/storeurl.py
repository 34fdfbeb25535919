"""Where a fleet's store lives: ``store.url`` in config, ``TMUXORCH_STORE`` in
the environment (which wins), else the home's SQLite file. Config checks the
URL with ``problem``; ``tmuxorch.store.opening`` picks the backend from it.
Stdlib only: this is on the hooks' path."""

from __future__ import annotations

import os

ENV = "TMUXORCH_STORE"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def chosen(config_url: str | None) -> str | None:
    """The store URL in effect: the environment's, else config's; None for SQLite."""
    return os.environ.get(ENV) or config_url


def state_present(home: str) -> bool:
    """Whether there may be a fleet's state to open, asked before importing
    the store (Claude's hooks, on every call): a store the environment names
    (spawn passes it on to its agents), or the home's SQLite file."""
    return bool(os.environ.get(ENV)) or os.path.exists(os.path.join(home, "state.db"))


def problem(url: str) -> str | None:
    """Why ``url`` names no store tmuxorch can open, or None."""
    if not url.startswith(POSTGRES_SCHEMES) or len(url) == len(url.split("//", 1)[0]) + 2:
        return (
            f"{url!r} is not a postgresql://USER@HOST/DB URL "
            "(leave it unset for the home's SQLite file)"
        )
    return None
