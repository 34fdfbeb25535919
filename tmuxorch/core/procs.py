"""Process identity: is the process that took something still the same one?

A pid alone is not an identity: the kernel reuses pids. Whoever records a
pid (a lock holder, a message's deliverer) also records the process's start
time from /proc, and a pid whose start time differs is another process.

Stdlib only: the auto-lock hook imports this.
"""

from __future__ import annotations

import os


def _fields(pid: int) -> tuple[str, list[str]] | None:
    """The command name and the fields after it (state first) of /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    comm, _, rest = data.rpartition(")")
    return comm.partition("(")[2], rest.split()


def stat(pid: int) -> tuple[str, int, int] | None:
    """``(comm, ppid, start time)`` from /proc, or None if unreadable."""
    found = _fields(pid)
    if found is None:
        return None
    comm, fields = found
    try:
        return comm, int(fields[1]), int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    found = stat(pid)
    return found[2] if found else None


def alive(pid: int, started: int | None = None) -> bool:
    """Does ``pid`` run, and (when ``started`` is known) is it still the same process?

    A zombie does not: it has ended, and only waits for a parent (or an init
    that never reaps, as in many containers) to collect its status.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    found = _fields(pid)
    if found is None:
        return True  # no /proc to ask: the signal said it exists
    fields = found[1]
    if fields[:1] in (["Z"], ["X"]):
        return False
    # A different start time: the pid was reused by another process.
    return started is None or len(fields) <= 19 or fields[19] == str(started)
