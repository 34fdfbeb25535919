"""Manual locks and the lock table: the ``lock``/``unlock``/``locks``
commands and MCP tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tmuxorch.core import procs
from tmuxorch.core.errors import LockError, TimeoutReached
from tmuxorch.core.records import Lock, now
from tmuxorch.locks.acquisition import acquire, holder_gone, release
from tmuxorch.locks.keys import agent_name, cli_holder, lock_key, overlaps, split_key
from tmuxorch.locks.wakeups import waiters_of, wake
from tmuxorch.store.interface import Store


def held(store: Store, here: str | None = None) -> list[tuple[Lock, list[str]]]:
    """Every live lock with the holders waiting for it (oldest first); dead or
    expired holders are cleared first (``here``: see ``holder_gone``)."""
    with store.transaction():
        stamp = now()
        freed = []
        for lock in store.locks():
            if lock.expires <= stamp or holder_gone(store, lock, here):
                store.delete_lock(lock.path)
                freed.append(lock.path)
        locks = store.locks()
        waiters = [w for w in store.waiters() if procs.alive(w.pid)]
        to_wake = waiters_of(store, freed) if freed else []
    wake(store, to_wake)
    return [(lock, [w.holder for w in waiters if overlaps(w.path, lock.path)]) for lock in locks]


def manual_key(
    path: str | None, cwd: str, host: str | None = None, shared: Sequence[str] = ()
) -> str:
    """The lock key for a manual lock: ``path``, or with none the whole
    workspace (the git top level containing ``cwd``, else ``cwd``), on
    ``host`` as ``lock_key`` says."""
    if path is None:
        return lock_key(".", cwd, "workspace", host, shared)
    return lock_key(path, cwd, "file", host, shared)


def take(
    store: Store,
    path: str | None,
    *,
    cwd: str,
    environ: Mapping[str, str],
    wait: float = 0.0,
    lease: float = 1800.0,
    reason: str = "",
    host: str | None = None,
    shared: Sequence[str] = (),
) -> str:
    """Take a manual lock for the caller (see :func:`cli_holder`) on ``host``
    (None: the fleet has one host); returns its key.

    Raises LockError when denied, TimeoutReached when a wait ran out.
    """
    key = manual_key(path, cwd, host, shared)
    holder = cli_holder(environ, agent_name(store, environ), host)
    outcome = acquire(store, key, holder, wait=wait, lease=lease, reason=reason)
    if not outcome.granted:
        raise (TimeoutReached if wait > 0 and not outcome.deadlock else LockError)(outcome.reason)
    return key


def give_back(
    store: Store,
    path: str | None,
    *,
    cwd: str,
    environ: Mapping[str, str],
    force: bool = False,
    host: str | None = None,
    shared: Sequence[str] = (),
) -> Lock:
    """Release the caller's manual lock (anyone's with ``force``); returns the freed lock."""
    key = manual_key(path, cwd, host, shared)
    freed = release(store, key, cli_holder(environ, agent_name(store, environ)).key, force=force)
    if freed is None:
        raise LockError(f"{split_key(key)[1]} is not locked")
    return freed
