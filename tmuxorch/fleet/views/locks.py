"""Held locks as the JSON contract shows them (``locks --json``, ``list_locks``)."""

from __future__ import annotations

from typing import Any

from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.records import iso
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.locks.keys import split_key
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
    # The host whose path it is; None: fleet-wide (under locks.shared_roots).
    host: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "since": iso(self.since), "expires": iso(self.expires)}


def lock_views(store: Store, here: str | None = None, alone: str | None = None) -> list[LockView]:
    """Every live lock (dead or expired holders cleared first; ``here``: see
    ``holder_gone``); ``alone``, the host of a fleet of one, is the host of
    every path."""
    views = []
    for lock, waiters in held(store, here):
        host, path = split_key(lock.path)
        views.append(
            LockView(
                path, lock.holder, lock.since, lock.expires, lock.reason, waiters, host or alone
            )
        )
    return views


def fleet_lock_views(fleet: Fleet) -> list[LockView]:
    """Every live lock of the fleet, each with its host."""
    here = fleet.lock_host
    return lock_views(fleet.store, here, None if here else fleet.host)
