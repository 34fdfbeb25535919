"""Knowing a turn's cost is final: its end record has been read from the transcript.

Claude Code buffers transcript writes, so its Stop hook can run before the
turn's last records reach the file; a cost read at the Stop hook can miss the
turn's last responses (or all of them). The monitor reads again in the
background (:class:`Refresher`); a caller that returns a result (delegate,
batch) reads until the turn is counted, first (:func:`settle`).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from pathlib import Path

from tmuxorch.claude.cost import refresh_agent
from tmuxorch.claude.pricing import Pricing
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store

# After a turn ends, read again this long after it (seconds) until Claude's
# end-of-turn record has been read.
REREAD_DELAYS = (0.0, 0.2, 0.5, 1.0, 2.0, 5.0, 15.0)


def turn_counted(store: Store, name: str, ts: float) -> bool:
    """Has the turn that ended at ``ts`` (its Stop hook's time) been read to its
    end record (Claude's ``turn_duration``)?"""
    last = store.last_turn(name)
    return last is not None and last.duration is not None and (last.ended or 0.0) >= ts


def answer_written(store: Store, name: str, since: int) -> bool:
    """Has a turn after turn ``since`` (its seq) ended with its answer written
    to the transcript? Claude writes it there before its Stop hook runs."""
    last = store.last_turn(name)
    return last is not None and last.seq > since and last.answered


def settle(store: Store, name: str, table: Pricing, after: int) -> None:
    """Read the agent's transcript until the last turn that ended (Stop hook)
    after event id ``after`` is counted, re-reading at :data:`REREAD_DELAYS`;
    one read when no such turn ended (an agent without hooks, an interrupt)."""
    stops = store.events(agent=name, after=after, kind="hook:Stop", limit=1)
    start = time.monotonic()
    for delay in REREAD_DELAYS if stops else (0.0,):
        time.sleep(max(0.0, start + delay - time.monotonic()))
        refresh_agent(store, name, table)
        if stops and turn_counted(store, name, stops[0].ts):
            return


class Refresher:
    """Keeps agents' tokens and cost current for the monitor, off its loop.

    ``turn_ended(name, ts)`` reads the agent's transcript at once, then again
    at :data:`REREAD_DELAYS` until a ``turn_duration`` record written after
    ``ts`` (the hook's time) has been read. The thread has its own store
    connection and starts on first use.
    """

    def __init__(self, home: Path, table: Pricing, url: str | None = None) -> None:
        self.home = home
        self.table = table
        self.url = url  # config's store.url
        self.queue: queue.SimpleQueue[tuple[str, float | None]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def turn_ended(self, name: str, ts: float) -> None:
        self._put(name, ts)

    def read_now(self, name: str) -> None:
        """Read what is new once, in the middle of a turn (a cost cap watches it)."""
        self._put(name, None)

    def _put(self, name: str, ts: float | None) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="cost", daemon=True)
            self.thread.start()
        self.queue.put((name, ts))

    def _run(self) -> None:
        # name -> (monotonic time of the turn end, next delay index, hook's time)
        due: dict[str, tuple[float, int, float]] = {}
        try:
            store = open_store(self.home, create=False, url=self.url)
        except TmuxorchError:
            return
        with store:
            while True:
                wait = None
                if due:
                    wait = max(
                        0.0,
                        min(t + REREAD_DELAYS[i] for t, i, _ in due.values()) - time.monotonic(),
                    )
                with contextlib.suppress(queue.Empty):
                    name, when = self.queue.get(timeout=wait)
                    if when is None:
                        self._read(store, name, None)
                    else:
                        due[name] = (time.monotonic(), 0, when)
                for name, (ended, index, ts) in list(due.items()):
                    if ended + REREAD_DELAYS[index] > time.monotonic():
                        continue
                    del due[name]
                    if not self._read(store, name, ts) and index + 1 < len(REREAD_DELAYS):
                        due[name] = (ended, index + 1, ts)

    def _read(self, store: Store, name: str, ts: float | None) -> bool:
        """Read what is new; True once the turn that ended at ``ts`` is all read."""
        try:
            refresh_agent(store, name, self.table)
            return ts is not None and turn_counted(store, name, ts)
        except (TmuxorchError, sqlite3.Error):
            return False
