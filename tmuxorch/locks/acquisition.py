"""Taking and freeing file locks, which serialise writes across agents.

A lock is a row in the store, taken inside one ``BEGIN IMMEDIATE``
transaction, so there is no check-then-write window between two acquirers.
Who holds it and what it covers: :mod:`tmuxorch.locks.keys`.

A conflicting request queues as a waiter row (first come, first served: a
free lock still goes to the oldest live waiter), woken by whoever frees an
overlapping lock (:mod:`tmuxorch.locks.wakeups`). Waiters still re-check
every ``LIVENESS_CHECK`` seconds, because a holder that dies frees nothing by
itself: any acquirer that finds a dead or expired holder deletes its lock.

This module is on the auto-lock hook's hot path: stdlib and the store only.
"""

from __future__ import annotations

import contextlib
import os
import time

from tmuxorch.core import procs
from tmuxorch.core.errors import LockError
from tmuxorch.core.frozen import frozen
from tmuxorch.core.records import Lock, now
from tmuxorch.core.vocab import ENDED
from tmuxorch.locks.keys import Holder, describe, overlaps, split_key
from tmuxorch.locks.wakeups import sleep_on, waiters_of, wake, wake_fifo

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.store.interface import Store

# How often a waiter re-checks the holder's liveness and lease. Releases wake
# waiters at once; this only bounds how long a dead holder goes unnoticed.
LIVENESS_CHECK = 0.25


@frozen
class Outcome:
    """The result of an acquisition: granted, or denied with a reason."""

    granted: bool
    path: str
    reason: str = ""
    blocker: str | None = None
    deadlock: bool = False


# -- liveness --------------------------------------------------------------------


def holder_gone(store: Store, lock: Lock, here: str | None = None) -> bool:
    """Has the lock's holder ended or died (so the lock is free to clear)?
    ``here``: this host, in a fleet of several, where only the processes of
    this host's locks can be seen (another host's ends with its agent)."""
    seen = here is None or split_key(lock.path)[0] == here
    if lock.agent:
        live = store.agent_liveness(lock.agent)
        if live is not None:
            state, pane_pid, _ = live
            if state in ENDED:
                return True
            return seen and pane_pid is not None and not procs.alive(pane_pid)
    return seen and lock.pid is not None and not procs.alive(lock.pid, lock.pid_start)


def _task(store: Store, lock: Lock) -> str | None:
    live = store.agent_liveness(lock.agent) if lock.agent else None
    return live[2] if live else None


# -- acquire / release -----------------------------------------------------------


# Who blocks an acquisition: (holder, their lock), the lock None when it is
# free but an earlier waiter is first in line. A tuple, not a dataclass: each
# class costs the hook's start-up time.
_Blocked = tuple[str, "Lock | None"]


def _attempt(
    store: Store, path: str, me: Holder, lease: float, reason: str, my_turn: int | None
) -> tuple[_Blocked | None, list[str]]:
    """One try inside a write transaction: take ``path`` or say who blocks it.

    Also returns the paths it freed from dead or expired holders (to wake).
    """
    stamp = now()
    freed: list[str] = []
    mine: Lock | None = None
    covered = False  # we already hold path or a directory above it
    for lock in store.locks_overlapping(path):
        if lock.holder == me.key:
            mine = lock if lock.path == path else mine
            covered = covered or lock.path == path or path.startswith(lock.path.rstrip("/") + "/")
            continue
        if lock.expires <= stamp or holder_gone(store, lock, me.host):
            store.delete_lock(lock.path)
            freed.append(lock.path)
            continue
        return (lock.holder, lock), freed
    if not covered:  # re-entry never queues; a new acquisition waits its turn
        for waiter in store.waiters_overlapping(path):
            if my_turn is not None and waiter.id >= my_turn:
                break
            if waiter.holder == me.key:
                continue
            if not procs.alive(waiter.pid):
                store.delete_waiter(waiter.id)
                continue
            return (waiter.holder, None), freed
    if mine is not None:
        store.extend_lock(path, stamp + lease)
    else:
        store.put_lock(
            Lock(
                path=path,
                holder=me.key,
                since=stamp,
                expires=stamp + lease,
                reason=reason,
                agent=me.agent,
                pid=me.pid,
                pid_start=me.pid_start,
            )
        )
    return None, freed


def _cycle(store: Store, me: str, path: str) -> list[tuple[str, str, str]] | None:
    """The wait-for cycle that waiting for ``path`` would close, as
    ``(waiter, path, holder)`` steps, or None."""
    locks = store.locks()
    waiting: dict[str, list[str]] = {}
    for waiter in store.waiters():
        if waiter.holder != me and procs.alive(waiter.pid):
            waiting.setdefault(waiter.holder, []).append(waiter.path)

    def blockers(who: str, wanted: str) -> list[tuple[str, str, str]]:
        return [
            (who, lock.path, lock.holder)
            for lock in locks
            if lock.holder != who and overlaps(lock.path, wanted)
        ]

    stack = [[step] for step in blockers(me, path)]
    seen: set[str] = set()
    while stack:
        chain = stack.pop()
        holder = chain[-1][2]
        if holder == me:
            return chain
        if holder in seen:
            continue
        seen.add(holder)
        for wanted in waiting.get(holder, []):
            stack.extend([*chain, step] for step in blockers(holder, wanted))
    return None


def _deny_reason(store: Store, path: str, blocked: _Blocked, waited: float | None) -> str:
    who = describe(blocked[0])
    lock = blocked[1]
    if lock is None:
        return f"{path} is about to be written by {who}, who asked for it first; retry later"
    task = _task(store, lock)
    held = lock.path if lock.path == path else f"{lock.path} (which contains {path})"
    text = f"{held} is locked by {who}"
    if task:
        text += f", working on: {task}"
    if lock.reason:
        text += f" (reason: {lock.reason})"
    text += f"; held for {now() - lock.since:.0f}s"
    if waited is not None:
        text += f", still held after waiting {waited:.1f}s"
    return text


def acquire(
    store: Store,
    path: str,
    holder: Holder,
    *,
    wait: float = 0.0,
    lease: float = 1800.0,
    reason: str = "",
) -> Outcome:
    """Take the lock on ``path`` for ``holder``, waiting up to ``wait`` seconds.

    Re-entrant (a holder's repeat acquisition extends the lease). A wait that
    would close a cycle of holders waiting for each other is denied at once.
    """
    started = time.monotonic()
    deadline = started + wait
    turn: int | None = None  # our waiter row, once queued
    with contextlib.ExitStack() as stack:
        fifo: tuple[str, int] | None = None
        try:
            while True:
                cycle = None
                with store.transaction():
                    blocked, freed = _attempt(store, path, holder, lease, reason, turn)
                    expired = time.monotonic() >= deadline
                    if (blocked is None or expired) and turn is not None:
                        store.delete_waiter(turn)
                        turn = None
                    elif blocked is not None and fifo is not None and turn is None:
                        cycle = _cycle(store, holder.key, path)
                        if cycle is None:
                            turn = store.add_waiter(path, holder.key, os.getpid(), fifo[0])
                    to_wake = waiters_of(store, freed) if freed else []
                wake(store, to_wake)
                if blocked is None:
                    return Outcome(True, path)
                if expired:
                    waited = time.monotonic() - started if wait > 0 else None
                    text = _deny_reason(store, path, blocked, waited)
                    return Outcome(False, path, text, blocked[0])
                if cycle is not None:
                    return _deadlock(path, cycle)
                if fifo is None:
                    # Listen before queueing, so no release can slip by unheard.
                    fifo = stack.enter_context(wake_fifo(store))
                    continue
                sleep_on(fifo[1], min(deadline - time.monotonic(), LIVENESS_CHECK))
        finally:
            if turn is not None:
                with store.transaction():
                    store.delete_waiter(turn)
    raise AssertionError("unreachable")  # pragma: no cover


def _deadlock(path: str, cycle: list[tuple[str, str, str]]) -> Outcome:
    steps = ", ".join(f"{describe(w)} waits for {p} held by {describe(h)}" for w, p, h in cycle)
    reason = f"deadlock: waiting for {path} would close a cycle ({steps})"
    return Outcome(False, path, reason, cycle[0][2], deadlock=True)


def release(store: Store, path: str, holder: str, *, force: bool = False) -> Lock | None:
    """Free ``path`` (held by ``holder``, or by anyone with ``force``).

    Returns the freed lock, or None if nothing was locked there; raises
    LockError if someone else holds it and ``force`` is not set.
    """
    with store.transaction():
        lock = next((lk for lk in store.locks_overlapping(path) if lk.path == path), None)
        if lock is None:
            return None
        if lock.holder != holder and not force:
            raise LockError(
                f"{path} is locked by {describe(lock.holder)}, not you (--force frees it)"
            )
        store.delete_lock(path)
        to_wake = waiters_of(store, [path])
    wake(store, to_wake)
    return lock


def release_holder(store: Store, holder: str) -> int:
    """Free every lock of ``holder`` (its turn ended or it exited); returns how many."""
    with store.transaction():
        paths = store.delete_locks_of(holder)
        to_wake = waiters_of(store, paths) if paths else []
    wake(store, to_wake)
    return len(paths)
