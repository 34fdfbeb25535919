"""Waking up when the fleet changes, without polling: waiters sleep on
``Store.changes()`` (each backend says how it learns of a change), and
watchdog observers serve the backends and the monitor that watch files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from watchdog.events import FileSystemEventHandler

from tmuxorch.core.errors import StoreUnreachable, TimeoutReached
from tmuxorch.store.interface import Store

T = TypeVar("T")


# watchdog logs an *error* when an event reaches an emitter being stopped (a
# waiter closing its watch: harmless); with no logging set up, Python prints it
# to the stderr of whatever command was waiting, whose one line it would spoil.
logging.getLogger("watchdog").setLevel(logging.CRITICAL)


def start_observer(handler: FileSystemEventHandler, *paths: Path | str) -> Any:
    """A started watchdog observer on ``paths`` (not recursive): inotify, else
    polling when inotify is unavailable (instance or watch limits reached,
    odd filesystems). A failed attempt is stopped, so it leaks no fd or thread."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    error: OSError | None = None
    for cls in (Observer, PollingObserver):
        observer = None
        try:
            observer = cls()  # inotify's instance is made here, or at start
            for path in paths:
                observer.schedule(handler, str(path), recursive=False)
            observer.daemon = True
            observer.start()
        except OSError as exc:
            error = exc
            if observer is not None:
                observer.stop()
            continue
        return observer
    assert error is not None
    raise error


def wait_until(
    store: Store, check: Callable[[], T | None], timeout: float | None, timed_out: Callable[[], str]
) -> T:
    """Sleep on store changes until ``check()`` returns something truthy.

    ``check`` runs once the watch is up, so no change can fall between the two;
    after ``timeout`` seconds, TimeoutReached with the message ``timed_out()``.
    A database server that cannot be reached meanwhile (a restart) is asked
    again, after a growing pause, until it answers or the time is up.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _PAUSE
    with store.changes() as changes:
        while True:
            try:
                result = check()
            except StoreUnreachable:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                result, pause = None, _unreachable(pause, deadline)
            if result:
                return result
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutReached(timed_out())
            try:
                changes.wait(5.0 if left is None else min(left, 5.0))
                pause = _PAUSE
            except StoreUnreachable:
                pause = _unreachable(pause, deadline)


def until_reachable(call: Callable[[], T], timeout: float) -> T:
    """``call()``, made again after a growing pause while the database server
    cannot be reached (a restart), for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = _PAUSE
    while True:
        try:
            return call()
        except StoreUnreachable:
            if time.monotonic() >= deadline:
                raise
            pause = _unreachable(pause, deadline)


# The first and the longest pause before asking an unreachable server again.
_PAUSE, _PAUSE_MAX = 0.2, 5.0


def _unreachable(pause: float, deadline: float | None) -> float:
    """Sleep ``pause`` (not past ``deadline``); the next pause."""
    left = pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic()))
    time.sleep(left)
    return min(pause * 2, _PAUSE_MAX)
