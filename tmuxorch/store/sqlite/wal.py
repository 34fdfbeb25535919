"""The SQLite backend's wake-ups: every write commits into the WAL file, so a
watch on the home (watchdog: inotify, else polling) fires on any change by
any process: a hook, the monitor or another command."""

from __future__ import annotations

import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from tmuxorch.store.notify import start_observer
from tmuxorch.store.sqlite.schema import DB_NAME


class _Handler(FileSystemEventHandler):
    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def on_any_event(self, event: FileSystemEvent) -> None:
        # dest_path: a file moved onto the database replaces it.
        for path in (event.src_path, event.dest_path):
            if Path(str(path)).name.startswith(DB_NAME):
                self.flag.set()


class WalWatch:
    """``SqliteStore.changes()``: sleep until the database in ``home`` changes
    (or a timeout passes)."""

    def __init__(self, home: Path | str) -> None:
        self._flag = threading.Event()
        self._recent = False
        self._closed = False
        self._observer = start_observer(_Handler(self._flag), home)

    def wait(self, timeout: float | None) -> bool:
        if self._closed:
            return False
        # inotify fires on the WAL write, which can come before the commit is
        # visible to readers: after a wake-up, the next wait is a short one.
        if self._recent:
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        changed = self._flag.wait(timeout)
        self._flag.clear()
        self._recent = changed
        return changed

    def close(self) -> None:
        self._closed = True
        self._observer.stop()
        self._flag.set()  # a wait blocked in another thread returns

    def __enter__(self) -> WalWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
