"""File locks that serialise writes across agents.

A lock is a row in the store, taken inside one ``BEGIN IMMEDIATE``
transaction, so there is no check-then-write window between two acquirers.
The holder is a string: an agent's name, ``pane:%N@SOCKET`` for a tmux pane
outside the fleet, ``session:ID`` for a bare Claude session, or ``user`` for
a manual lock taken outside any pane. A lock on a directory covers everything
below it (``lock`` with no path locks the whole workspace).

A conflicting request queues as a waiter row (first come, first served: a
free lock still goes to the oldest live waiter). Each waiter blocks on its
own FIFO in the home, and whoever frees a lock writes a byte to the FIFO of
every waiter on an overlapping path after committing, so the hand-off costs
one wake-up, not a poll. Waiters still re-check every ``LIVENESS_CHECK``
seconds, because a holder that dies frees nothing by itself: any acquirer
that finds a dead or expired holder deletes its lock.

This module is on the auto-lock hook's hot path: stdlib and the store only.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping

from tmuxorch.core import procs
from tmuxorch.core.frozen import frozen
from tmuxorch.core.private import private_dir
from tmuxorch.core.records import Lock, Waiter, now
from tmuxorch.core.vocab import ENDED

# How often a waiter re-checks the holder's liveness and lease. Releases wake
# waiters at once; this only bounds how long a dead holder goes unnoticed.
LIVENESS_CHECK = 0.25
# Processes between the hook and the long-lived program that ran it.
_WRAPPERS = frozenset(
    {"sh", "bash", "dash", "zsh", "fish", "ksh", "env", "timeout", "nice", "nohup", "tmuxorch"}
)

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    pass

    from tmuxorch.store.interface import Store


@frozen
class Holder:
    """Who takes a lock, and the process whose death frees it (if any)."""

    key: str
    agent: str | None = None
    pid: int | None = None
    pid_start: int | None = None


@frozen
class Outcome:
    """The result of an acquisition: granted, or denied with a reason."""

    granted: bool
    path: str
    reason: str = ""
    blocker: str | None = None
    deadlock: bool = False


# -- identities ------------------------------------------------------------------


def owner_process(start: int | None = None) -> tuple[int, int | None]:
    """The long-lived process that ran us: walk up past shells and Python
    wrappers (Claude runs hooks as ``sh -c CMD``) to the first other program,
    i.e. the Claude Code (node) process. Returns ``(pid, start time)``."""
    pid = os.getppid() if start is None else start
    for _ in range(32):
        stat = procs.stat(pid)
        if stat is None:
            break
        comm, ppid, started = stat
        if comm not in _WRAPPERS and not comm.startswith("python"):
            return pid, started
        if ppid <= 1:
            break
        pid = ppid
    parent = os.getppid()
    return parent, procs.start_time(parent)


def _pane_key(environ: Mapping[str, str]) -> str | None:
    pane = environ.get("TMUX_PANE")
    if not pane:
        return None
    # Pane ids repeat across tmux servers; the socket path tells them apart.
    socket = environ.get("TMUX", "").split(",")[0]
    return f"pane:{pane}@{socket}" if socket else f"pane:{pane}"


def hook_holder(environ: Mapping[str, str], session_id: str | None) -> Holder | None:
    """The holder for a hook call: the agent, else the pane, else the session."""
    agent = environ.get("TMUXORCH_AGENT") or None
    key = agent or _pane_key(environ) or (f"session:{session_id}" if session_id else None)
    if key is None:
        return None
    pid, started = owner_process()
    return Holder(key=key, agent=agent, pid=pid, pid_start=started)


def cli_holder(environ: Mapping[str, str]) -> Holder:
    """The holder for a manual ``lock``: the agent, else the pane, else ``user``.

    A manual lock outside an agent is tied to no process: it lasts until
    ``unlock`` or its lease ends, not until the shell that took it exits.
    """
    agent = environ.get("TMUXORCH_AGENT") or None
    return Holder(key=agent or _pane_key(environ) or "user", agent=agent)


def describe(holder: str) -> str:
    kind, sep, rest = holder.partition(":")
    if not sep:
        return "the user (a manual lock)" if holder == "user" else f"agent {holder}"
    if kind == "pane":
        return f"tmux pane {rest.partition('@')[0]}"
    return f"Claude session {rest}"


# -- paths -----------------------------------------------------------------------


def workspace_of(path: str) -> str:
    """The git top level containing ``path`` (found by walking up to ``.git``,
    a directory or, in worktrees and submodules, a file), else ``path``."""
    current = path
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return path
        current = parent


def lock_key(path: str, cwd: str, scope: str = "file") -> str:
    """The real absolute path that names the lock for ``path``."""
    real = os.path.realpath(os.path.join(cwd, os.path.expanduser(path)))
    if scope == "workspace":
        return workspace_of(real if os.path.isdir(real) else os.path.dirname(real))
    return real


def overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


# -- liveness --------------------------------------------------------------------


def _holder_gone(store: Store, lock: Lock) -> bool:
    if lock.agent:
        live = store.agent_liveness(lock.agent)
        if live is not None:
            state, pane_pid, _ = live
            if state in ENDED:
                return True
            return pane_pid is not None and not procs.alive(pane_pid)
    return lock.pid is not None and not procs.alive(lock.pid, lock.pid_start)


def _task(store: Store, lock: Lock) -> str | None:
    live = store.agent_liveness(lock.agent) if lock.agent else None
    return live[2] if live else None


# -- waking ----------------------------------------------------------------------


def _wake_dir(store: Store) -> str:
    return os.path.join(store.home, "lockwait")


def _wake(store: Store, waiters: list[Waiter]) -> None:
    """Poke each waiter's FIFO (after the commit that freed something)."""
    for waiter in waiters:
        try:
            fd = os.open(
                os.path.join(_wake_dir(store), waiter.wake),
                os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW,
            )
        except OSError:
            continue  # gone, or not listening: it re-checks on its own
        try:
            os.write(fd, b"!")
        except OSError:
            pass  # the FIFO is full, so it has been woken already
        finally:
            os.close(fd)


def _waiters_of(store: Store, paths: list[str]) -> list[Waiter]:
    found: dict[int, Waiter] = {}
    for path in paths:
        for waiter in store.waiters_overlapping(path):
            found[waiter.id] = waiter
    return list(found.values())


@contextlib.contextmanager
def _wake_fifo(store: Store) -> Iterator[tuple[str, int]]:
    """A private FIFO opened read-write: a reader and a writer always exist, so
    ``select`` reports it readable only when someone wrote a byte."""
    directory = _wake_dir(store)
    private_dir(directory)
    name = f"{os.getpid()}-{os.urandom(4).hex()}"
    path = os.path.join(directory, name)
    os.mkfifo(path, 0o600)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW)
    except BaseException:
        _unlink(path)
        raise
    try:
        yield name, fd
    finally:
        os.close(fd)
        _unlink(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sleep_on(fd: int, timeout: float) -> None:
    import select  # here: only a waiting acquisition sleeps, and the hook pays for each import

    if timeout > 0:
        select.select([fd], [], [], timeout)
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass


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
        if lock.expires <= stamp or _holder_gone(store, lock):
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
                    to_wake = _waiters_of(store, freed) if freed else []
                _wake(store, to_wake)
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
                    fifo = stack.enter_context(_wake_fifo(store))
                    continue
                _sleep_on(fifo[1], min(deadline - time.monotonic(), LIVENESS_CHECK))
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
    from tmuxorch.core.errors import LockError

    with store.transaction():
        lock = next((lk for lk in store.locks_overlapping(path) if lk.path == path), None)
        if lock is None:
            return None
        if lock.holder != holder and not force:
            raise LockError(
                f"{path} is locked by {describe(lock.holder)}, not you (--force frees it)"
            )
        store.delete_lock(path)
        to_wake = _waiters_of(store, [path])
    _wake(store, to_wake)
    return lock


def release_holder(store: Store, holder: str) -> int:
    """Free every lock of ``holder`` (its turn ended or it exited); returns how many."""
    with store.transaction():
        paths = store.delete_locks_of(holder)
        to_wake = _waiters_of(store, paths) if paths else []
    _wake(store, to_wake)
    return len(paths)


def held(store: Store) -> list[tuple[Lock, list[str]]]:
    """Every live lock with the holders waiting for it (oldest first); dead or
    expired holders are cleared first."""
    with store.transaction():
        stamp = now()
        freed = []
        for lock in store.locks():
            if lock.expires <= stamp or _holder_gone(store, lock):
                store.delete_lock(lock.path)
                freed.append(lock.path)
        locks = store.locks()
        waiters = [w for w in store.waiters() if procs.alive(w.pid)]
        to_wake = _waiters_of(store, freed) if freed else []
    _wake(store, to_wake)
    return [(lock, [w.holder for w in waiters if overlaps(w.path, lock.path)]) for lock in locks]


# -- manual locks (the ``lock``/``unlock``/``locks`` commands and MCP tools) --------


def manual_key(path: str | None, cwd: str) -> str:
    """The lock key for a manual lock: ``path``, or with none the whole
    workspace (the git top level containing ``cwd``, else ``cwd``)."""
    return lock_key(".", cwd, "workspace") if path is None else lock_key(path, cwd)


def take(
    store: Store,
    path: str | None,
    *,
    cwd: str,
    environ: Mapping[str, str],
    wait: float = 0.0,
    lease: float = 1800.0,
    reason: str = "",
) -> str:
    """Take a manual lock for the caller (see :func:`cli_holder`); returns its key.

    Raises LockError when denied, TimeoutReached when a wait ran out.
    """
    from tmuxorch.core.errors import LockError, TimeoutReached

    key = manual_key(path, cwd)
    outcome = acquire(store, key, cli_holder(environ), wait=wait, lease=lease, reason=reason)
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
) -> Lock:
    """Release the caller's manual lock (anyone's with ``force``); returns the freed lock."""
    from tmuxorch.core.errors import LockError

    key = manual_key(path, cwd)
    freed = release(store, key, cli_holder(environ).key, force=force)
    if freed is None:
        raise LockError(f"{key} is not locked")
    return freed
