"""The monitor's ears besides tmux's (``tmuxwake.py``): its pane logs, through
a watchdog observer, and the store's writes, through ``Store.changes()``
(whichever backend it is). Each puts an event on the monitor's queue; none
polls."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from tmuxorch.core import private
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.store.interface import Changes, Store
from tmuxorch.store.notify import start_observer

Events = queue.SimpleQueue[tuple[str, str]]
logger = logging.getLogger(__name__)
# The longest pause between two tries of a store that fails to wake us.
_RETRY_MAX = 30.0


class _LogWatch(FileSystemEventHandler):
    def __init__(self, events: Events) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = Path(str(event.src_path))
        if path.suffix == ".log":
            self.events.put(("log", path.stem))


def watch_logs(logs: Path, events: Events) -> Any:
    """A started observer putting ``("log", agent)`` on ``events`` when the
    pane log ``logs/<agent>.log`` changes."""
    private.private_dir(logs)
    try:
        return start_observer(_LogWatch(events), logs)
    except OSError as exc:
        raise TmuxorchError(f"cannot watch {logs}: {exc}") from None


class Backoff:
    """The pause before the next try of a store that fails: 1 s, doubled at
    each failure up to ``_RETRY_MAX``, 1 s again after a success."""

    def __init__(self) -> None:
        self.pause = 1.0

    def failed(self) -> float:
        pause, self.pause = self.pause, min(self.pause * 2, _RETRY_MAX)
        return pause

    def reset(self) -> None:
        self.pause = 1.0


class StoreWaker:
    """Puts a ``("store", "")`` event on ``events`` each time the store's
    changes waiter wakes (a write by any process, or the store's file going:
    the monitor then asks ``Store.replaced()``)."""

    def __init__(self, store: Store, events: Events) -> None:
        self.store = store
        self.events = events
        self.stopping = threading.Event()
        self.changes: Changes | None = None
        self.thread = threading.Thread(target=self._listen, daemon=True)

    def start(self) -> None:
        """Before the monitor's first read, so no write falls between."""
        try:
            self.changes = self.store.changes()
        except OSError as exc:
            raise TmuxorchError(f"cannot watch {self.store.path}: {exc}") from None
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.changes is not None:
            self.changes.close()  # wakes the blocked wait
            self.thread.join()

    def _listen(self) -> None:
        assert self.changes is not None
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                self.changes.wait(None)
            except TmuxorchError as exc:
                # A store that fails (a database server restarting): try again
                # with a growing pause (the backend's first wait once it is back
                # says changed, so the monitor reads afresh).
                pause = backoff.failed()
                logger.warning("store wake-ups: %s (again in %.0f s)", exc, pause)
                self.stopping.wait(pause)
                continue
            backoff.reset()
            # A return with no change (a backend's second look after one) is
            # passed on too: the monitor reads again and decides.
            if not self.stopping.is_set():
                self.events.put(("store", ""))
