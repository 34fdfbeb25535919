"""Waking up when the fleet changes, without polling: waiters sleep on
``Store.changes()`` (each backend says how it learns of a change), and
watchdog observers serve the backends and the monitor that watch files.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from watchdog.events import FileSystemEventHandler

from tmuxorch.core.errors import TimeoutReached, TmuxorchError
from tmuxorch.store.interface import Store

T = TypeVar("T")
logger = logging.getLogger(__name__)
# Seconds a relay sleeps between looks at whether it should stop.
_RELAY_CHECK = 30.0


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
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with store.changes() as changes:
        while True:
            result = check()
            if result:
                return result
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutReached(timed_out())
            changes.wait(5.0 if left is None else min(left, 5.0))


def relay(store: Store, changed: Callable[[], None], stopping: threading.Event) -> None:
    """Call ``changed()`` (from a daemon thread) after each change of the store
    until ``stopping`` is set: how a loop that waits on a queue of its own (the
    monitor) hears of a store that no file watch of its sees. While the store
    fails (a server restarting), it tries again with a growing pause."""
    changes = store.changes()  # here: listening before the caller reads

    def run() -> None:
        pause = 1.0
        with changes:
            while not stopping.is_set():
                try:
                    # Not a poll: a bound on how long a stopped relay lingers.
                    woken = changes.wait(_RELAY_CHECK)
                except TmuxorchError as exc:
                    logger.warning("store wake-ups: %s (again in %.0f s)", exc, pause)
                    stopping.wait(pause)
                    pause = min(pause * 2, _RELAY_CHECK)
                    continue
                pause = 1.0
                if woken and not stopping.is_set():
                    changed()

    threading.Thread(target=run, name="store-changes", daemon=True).start()
