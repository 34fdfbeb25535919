"""Held locks as the JSON contract shows them (``locks --json``, ``list_locks``)."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import iso
from tmuxorch.locks.manual import held
from tmuxorch.store.interface import Store


@frozen
class LockView:
    path: str
    holder: str
    since: float
    expires: float
    reason: str
    # The holders waiting for it.
    waiters: list[str]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "since": iso(self.since), "expires": iso(self.expires)}


def lock_views(store: Store) -> list[LockView]:
    """Every live lock (dead or expired holders cleared first)."""
    return [
        LockView(lock.path, lock.holder, lock.since, lock.expires, lock.reason, waiters)
        for lock, waiters in held(store)
    ]
