"""Waking up when the fleet changes, without polling.

Every write to the store commits into the SQLite WAL file, so an inotify
watch on the home (through watchdog) fires on any state change by any
process: a hook, the monitor or another CLI call. Waiters sleep on it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tmuxorch.store import DB_NAME


class _Handler(FileSystemEventHandler):
    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def on_any_event(self, event: FileSystemEvent) -> None:
        if Path(str(event.src_path)).name.startswith(DB_NAME):
            self.flag.set()


class StoreWaker:
    """Sleep until the store changes (or a timeout passes)."""

    def __init__(self, home: Path) -> None:
        self._flag = threading.Event()
        self._recent = False
        self._observer = Observer()
        self._observer.schedule(_Handler(self._flag), str(home), recursive=False)
        self._observer.daemon = True
        self._observer.start()

    def wait(self, timeout: float | None) -> bool:
        # inotify fires on the WAL write, which can come before the commit is
        # visible to readers: after a wake-up, the next wait is a short one.
        if self._recent:
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        changed = self._flag.wait(timeout)
        self._flag.clear()
        self._recent = changed
        return changed

    def close(self) -> None:
        self._observer.stop()

    def __enter__(self) -> StoreWaker:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
