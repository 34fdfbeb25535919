"""Process identity: is the process that took something still the same one?

A pid alone is not an identity: the kernel reuses pids. Whoever records a
pid (a lock holder, a message's deliverer) also records the process's start
time from /proc, and a pid whose start time differs is another process.

Stdlib only: the auto-lock hook imports this.
"""

from __future__ import annotations

import os


def stat(pid: int) -> tuple[str, int, int] | None:
    """``(comm, ppid, start time)`` from /proc, or None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    comm, _, rest = data.rpartition(")")
    fields = rest.split()
    try:
        return comm.partition("(")[2], int(fields[1]), int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    found = stat(pid)
    return found[2] if found else None


def alive(pid: int, started: int | None = None) -> bool:
    """Does ``pid`` run, and (when ``started`` is known) is it still the same process?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if started is not None:
        found = stat(pid)
        if found is not None and found[2] != started:
            return False  # the pid was reused by another process
    return True
