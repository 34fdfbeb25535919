"""The daemon's notifications (config ``notify``), off the monitor's path.

The monitor's loop only writes: an event worth telling (tmuxorch.fleet.notices)
becomes a row per target in the store's outbox, in the monitor's thread, and
pokes the sender. The sender, a thread of its own with its own connection,
sends through Apprise what is due, oldest first, and marks it sent; a target
that fails or hangs (Apprise's timeouts: 4 s to connect, 4 s to read, ``?cto=``
and ``?rto=`` in the URL) is tried again after a pause that doubles, while the
notices wait in the store: a daemon killed meanwhile leaves them to the next.

Notices about one agent go to a target at most once per ``min_interval``:
what comes sooner waits, and goes merged into one (never dropped). A first
notice waits ``_HOLD`` for what follows at once (the hook's waiting and then
the screen's prompt text are one thing to tell).

Apprise is imported only here, by the daemon: never on a hook's or a short
command's path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

import apprise

from tmuxorch.core.config import NotifySettings, Settings
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.core.records import Event, Notice, Outgoing
from tmuxorch.core.vocab import State
from tmuxorch.fleet import notices
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store

logger = logging.getLogger(__name__)

# Tries after a failure: 2 s, then twice as long each time, at most 5 minutes.
_FIRST_RETRY = 2.0
_MAX_RETRY = 300.0
# How long a first notice waits for what follows at once (see above).
_HOLD = 1.0
# A daemon's start tells what happened since the last one read events, up to
# this many seconds back (older news is stale), reading this many events
# before to know each agent's state then.
_CATCH_UP = 3600.0
_PRIME = 1000
# The sender's pause while the store itself fails.
_STORE_RETRY = 5.0


def target_of(url: str) -> str:
    """The outbox's name for a URL: a digest, since the URL may hold a token."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure in a row."""
    return float(min(_FIRST_RETRY * 2 ** (attempts - 1), _MAX_RETRY))


def due_at(
    group: list[Outgoing], last_sent: float | None, min_interval: float, tried: Collection[int] = ()
) -> float:
    """When one agent's unsent notices to one target go out (as one): not
    before the oldest has waited ``_HOLD``, the pause after a failure of this
    sender's (ids ``tried``) has passed, and ``min_interval`` since the last
    one sent there. What a previous daemon failed to send goes at once: its
    user may have restarted it for a target now fixed."""
    spaced = 0.0 if last_sent is None else last_sent + min_interval
    paused = max((o.next_try for o in group if o.id in tried), default=0.0)
    return max(min(o.created for o in group) + _HOLD, paused, spaced)


class Notifier:
    """``seen`` from the monitor's thread; the sender is a thread of its own."""

    def __init__(self, settings: Settings, notify: Callable[[], NotifySettings]) -> None:
        self.settings = settings
        self.store_url = settings.config.store.url  # the monitor's, for the daemon's life
        # This host's name (host.name): it sends the notices it queued first.
        self.origin = settings.host
        self.notify = notify  # config.yaml's as the monitor last read it
        self.poke = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self.last_sent: dict[tuple[str, str], float] = {}
        self.tried: set[int] = set()  # outbox rows this sender failed to send
        self.reading = False  # keeps a cursor of the events read (notify.urls set)
        self.saved = 0  # the cursor as last kept
        self.plugins: dict[str, Any] = {}
        # Apprise's own lines may name a URL's secrets at debug level: its
        # failures reach the log through this module's lines only.
        logging.getLogger("apprise").propagate = False

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Not waiting on a send in flight: its notices stay unsent for the next daemon."""
        self.stopping.set()
        self.poke.set()
        if self.thread.is_alive():  # the monitor may end before it started it
            self.thread.join(timeout=1.0)

    # -- the monitor's side --------------------------------------------------

    def seen(
        self,
        store: Store,
        event: Event,
        previous: State | None,
        screen: Callable[[str], str | None],
    ) -> None:
        """Queue the notice of ``event`` (the agent was ``previous`` before
        it), if one is wanted; ``screen`` reads the agent's screen for a
        ``done`` without a response."""
        config = self.notify()
        if not config.urls:
            if self.reading:  # off: a later start must not tell what happened meanwhile
                store.set_notice_cursor(self.origin, None)
                self.reading = False
            return
        self.reading = True
        notice = notices.notice_for(event, previous, config.on)
        if notice is not None and notice.kind == "done" and not notice.body:
            shown = screen(notice.agent)
            if shown is None:
                return  # another host's agent: its own daemon reads the screen and tells
            notice = notices.notice_for(event, previous, config.on, shown)
        if notice is None:
            if event.id - self.saved >= _PRIME:  # a start then reads few events again
                store.set_notice_cursor(self.origin, event.id)
                self.saved = event.id
            return
        with store.transaction():
            added = store.add_notice(notice, [target_of(u) for u in config.urls], self.origin)
            store.set_notice_cursor(self.origin, event.id)
        self.saved = event.id
        if added:
            self.poke.set()

    def catch_up(self, store: Store, upto: int, screen: Callable[[str], str | None]) -> None:
        """At the daemon's start: tell what happened since the last daemon
        read events for notices (hooks and commands write with no daemon
        running), up to event ``upto``, from ``_CATCH_UP`` seconds at most.
        What was told already is not told again (the outbox adds an event's
        notice once); the states before are read from the events before."""
        urls = self.notify().urls
        cursor = store.notice_cursor(self.origin)
        if urls and cursor is not None:
            self._replay(store, cursor, upto, screen)
        self.reading = bool(urls)
        if urls or cursor is not None:
            store.set_notice_cursor(self.origin, upto if urls else None)
        self.saved = upto

    def _replay(
        self, store: Store, cursor: int, upto: int, screen: Callable[[str], str | None]
    ) -> None:
        states: dict[str, State] = {}
        oldest = time.time() - _CATCH_UP
        for event in store.events(after=max(0, cursor - _PRIME)):
            if event.id > upto or not event.agent:
                continue
            if event.id > cursor and event.ts >= oldest:
                self.seen(store, event, states.get(event.agent), screen)
            if event.state:
                states[event.agent] = event.state

    # -- the sender -------------------------------------------------------------

    def _run(self) -> None:
        store: Store | None = None
        failing = False
        while not self.stopping.is_set():
            self.poke.clear()
            if not self.notify().urls:  # off: no connection of its own until a notice comes
                self.poke.wait()
                continue
            try:
                if store is None:
                    store = open_store(self.settings.home, create=False, url=self.store_url)
                wait = self._send_due(store)
                failing = False
            except TmuxorchError as exc:  # the store failed: its rows wait there
                if not failing:  # once while it lasts: a database down would fill the log
                    logger.warning("notifications wait for the store: %s", exc)
                failing, wait = True, _STORE_RETRY
                _closed(store)  # a connection that failed may stay broken: open anew
                store = None
            self.poke.wait(wait)
        _closed(store)

    def _send_due(self, store: Store) -> float | None:
        """Send what is due; seconds until the next is, or None."""
        config = self.notify()
        urls = {target_of(url): (index, url) for index, url in enumerate(config.urls)}
        groups: dict[tuple[str, str], list[Outgoing]] = {}
        for outgoing in store.unsent_notices(self.origin):
            groups.setdefault((outgoing.notice.agent, outgoing.target), []).append(outgoing)
        wake: float | None = None
        for key, group in groups.items():
            if self.stopping.is_set():
                break
            ids = [o.id for o in group]
            if key[1] not in urls:
                logger.info(
                    "%d notice(s) about %s dropped: their URL left notify.urls", len(ids), key[0]
                )
                store.notices_sent(ids)
                self.tried.difference_update(ids)
                continue
            due = due_at(group, self.last_sent.get(key), config.min_interval, self.tried)
            if due > time.time():
                wake = due if wake is None else min(wake, due)
                continue
            index, url = urls[key[1]]
            failure = self._send(url, notices.merge([o.notice for o in group]))
            if failure is None:
                store.notices_sent(ids)
                self.tried.difference_update(ids)
                self.last_sent[key] = time.time()
                continue
            self.tried.update(ids)
            attempts = max(o.attempts for o in group) + 1
            pause = backoff(attempts)
            store.notices_failed(ids, attempts, time.time() + pause, failure)
            logger.warning(
                "notify.urls[%d] (%s): a notice about %s failed (%d in a row), next in %.0f s: %s",
                index, self._shown(url), key[0], attempts, pause, failure,
            )  # fmt: skip
            retry = time.time() + pause
            wake = retry if wake is None else min(wake, retry)
        return None if wake is None else max(0.0, wake - time.time())

    def _send(self, url: str, notice: Notice) -> str | None:
        """Send one notice; None when it went, else why not (one line)."""
        plugin = self._plugin(url)
        if plugin is None:
            return "not an Apprise URL Apprise can use"
        capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as said:
            try:
                sent = plugin.notify(title=notice.title, body=notice.body)
            except Exception as exc:  # a plugin's own bug must not end the sender
                # Its type only: its text may quote the URL, secrets and all.
                return f"Apprise's plugin failed: {type(exc).__name__}"
        if sent:
            return None
        lines = [line.strip() for line in said.getvalue().splitlines() if line.strip()]
        return lines[-1] if lines else "the target refused it"

    def _plugin(self, url: str) -> Any:
        if url not in self.plugins:
            self.plugins[url] = apprise.Apprise.instantiate(url)
        return self.plugins[url]

    def _shown(self, url: str) -> str:
        """The URL as Apprise shows it with its secrets hidden."""
        plugin = self._plugin(url)
        return str(plugin.url(privacy=True)) if plugin is not None else "?"


def _closed(store: Store | None) -> None:
    if store is not None:
        with contextlib.suppress(TmuxorchError):
            store.close()
