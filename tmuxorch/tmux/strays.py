"""Processes of this fleet's agents that outlived their panes.

tmux ends a pane by hanging up its terminal; a program that ignores SIGHUP,
or a job it put in the background, lives on (reparented to init) after its
window or the whole server is gone. Each agent's processes carry its name
and the fleet's home and socket in their environment, which is how they are
found again.

A stray is asked to end (SIGTERM) before it is killed: Claude Code queues
its transcript lines, writes them out every 100 ms, and flushes the queue as
it exits. Killed outright just after its server went, it left a transcript
without its last turn, and ``claude --resume`` at ``up`` found no
conversation and ended at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tmuxorch.core import procs

_KEYS = (b"TMUXORCH_AGENT", b"TMUXORCH_HOME", b"TMUXORCH_SOCKET")
# How long strays have to end on SIGTERM before SIGKILL; Claude exits in
# well under a second (its SessionEnd hooks included), more on a loaded machine.
GRACE = 10.0
_POLL = 0.05


def _fleet_vars(pid: int) -> dict[bytes, bytes]:
    """The TMUXORCH_ variables ``pid`` was started with ({} when unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            data = handle.read()
    except OSError:
        return {}
    found: dict[bytes, bytes] = {}
    for item in data.split(b"\0"):
        key, _, value = item.partition(b"=")
        if key in _KEYS:
            found[key] = value
    return found


def agent_processes(home: Path, socket: str) -> dict[int, str]:
    """Every process started in a pane of this fleet, by pid: its agent's name."""
    want = {b"TMUXORCH_HOME": os.fsencode(str(home)), b"TMUXORCH_SOCKET": os.fsencode(socket)}
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        env = _fleet_vars(int(entry))
        if b"TMUXORCH_AGENT" in env and all(env.get(k) == v for k, v in want.items()):
            found[int(entry)] = os.fsdecode(env[b"TMUXORCH_AGENT"])
    return found


def reap(
    home: Path, socket: str, live: Callable[[], set[str]], grace: float = GRACE
) -> dict[int, str]:
    """End this fleet's processes whose agent has no live pane; returns them.

    ``live`` names the agents with a running pane. It is asked after the
    processes are listed: a process started meanwhile is not looked at, one
    started before has its pane listed. Strays get SIGTERM, and SIGKILL if
    still there after ``grace`` seconds (the wait for them blocks the caller).
    """
    found = agent_processes(home, socket)
    if not found:
        return {}
    running = live()
    strays = {pid: name for pid, name in found.items() if name not in running}
    # Start times, so that a pid reused while we wait is never signalled.
    started = {pid: procs.start_time(pid) for pid in strays}
    _signal(started.items(), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        started = {pid: t for pid, t in started.items() if procs.alive(pid, t)}
        if not started or time.monotonic() >= deadline:
            break
        time.sleep(_POLL)
    _signal(started.items(), signal.SIGKILL)
    return strays


def _signal(pids: Iterable[tuple[int, int | None]], signum: int) -> None:
    for pid, started in pids:
        if procs.alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
