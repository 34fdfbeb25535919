"""The output monitor: one per fleet, turning screens and hook events into states.

It sleeps until something happens, from three sources, none of them a
polling loop per pane:

- pane logs (pipe-pane) watched by watchdog (inotify; PollingObserver when
  inotify is unavailable): the screen of that agent may have changed;
- the store's changes waiter (``Store.changes()``): a hook (or a CLI call) wrote;
- a tmux ``wait-for`` channel signalled by the server's ``pane-died`` and
  ``window-unlinked`` hooks: a process ended or a window closed;
- Claude's session files (``sessions/<pid>.json``), watched by watchdog too:
  a dialog opened or closed, some of which no hook reports.

Hooks are trusted first (they say busy, waiting, idle, error at once); the
screen, captured only when its log says it changed, adds what hooks do not
say: the permission prompt's text, API error banners and retry lines,
first-run dialogs, and the whole state of agents that have no hooks.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tmuxorch.claude.cost import TURN_ENDS, pricing
from tmuxorch.claude.counted import Refresher
from tmuxorch.core import procs
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import StoreError, TmuxorchError
from tmuxorch.core.frozen import replace
from tmuxorch.core.vocab import ENDED, State
from tmuxorch.daemon import safety
from tmuxorch.daemon.followconfig import FollowedConfig
from tmuxorch.daemon.logfile import log_to_home
from tmuxorch.daemon.notifier import Notifier
from tmuxorch.daemon.pump import DeliveryPump
from tmuxorch.daemon.requestwork import RequestWorkers
from tmuxorch.daemon.screens import ScreenReader
from tmuxorch.daemon.sessionwatch import SessionWatch
from tmuxorch.daemon.tmuxwake import TmuxWaker
from tmuxorch.daemon.wakeups import Backoff, StoreWaker, watch_logs
from tmuxorch.fleet import hosting, messaging, recovery
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.monitorproc import single_instance, start

logger = logging.getLogger(__name__)

# Let a burst of output land before reading the screen.
_DEBOUNCE = 0.03
# Look at a busy agent's screen at most this often (spinners redraw constantly).
_MIN_INTERVAL = {True: 0.25, False: 0.1}
# A fleet-wide safety net for a lost wake-up: one tmux call, not one per pane.
_HEARTBEAT = 10.0
# The events of an agent's start (``Fleet._launch``).
_STARTS = ("spawned", "resumed", "forked")


class Monitor(ScreenReader, DeliveryPump):
    def __init__(self, settings: Settings, *, stay: bool = False) -> None:
        """``stay``: run until stopped, as a person's ``tmuxorch daemon`` does
        (the host's presence in the fleet); else leave once the tmux server
        is gone and no agent of this host is live, as one a command started."""
        self.settings = settings
        self.stay = stay
        self.fleet = Fleet(settings, long_lived=True)
        self.store = self.fleet.store
        self.tmux = self.fleet.tmux
        self.config = FollowedConfig(self.fleet)
        self.config.check()
        self.events: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self.changed_at: dict[str, float] = {}
        self.looked_at: dict[str, float] = {}
        self.due: dict[str, float] = {}
        self.stopping = threading.Event()
        self.waker = TmuxWaker(self.tmux, self.events)
        self.store_waker = StoreWaker(self.store, self.events)
        self.sessions = SessionWatch(self.events)
        self.last_event = 0
        self.costs = Refresher(settings.home, pricing(settings.config), settings.config.store.url)
        # Limits (max_cost, max_turns, max_duration): checked on events, cost reads, a deadline.
        self.guard = safety.Guard(self.fleet, poke=self.costs.read_now)
        # Notifications: the loop queues them in the store; a thread sends them.
        self.notifier = Notifier(settings, lambda: self.fleet.config.notify)
        # Message delivery: one worker thread per agent at a time.
        self.workers: dict[str, threading.Thread] = {}
        # Agents whose worker met an unreachable store mid-delivery (its claim stays).
        self.stranded: set[str] = set()
        # What other hosts ask of this host's agents (spawn, stop, output...).
        self.requests = RequestWorkers(self.fleet)
        # The urgent message each agent was interrupted for (interrupt once).
        self.interrupted: dict[str, int] = {}
        # The last state seen per agent, to tell when a turn ended.
        self.states: dict[str, State] = {}
        # Set when the database file was deleted or replaced under us.
        self.successor = False
        # Set when it ends because nothing was left to watch.
        self.emptied = False
        # Set while the store fails: once it is back, look at everyone again.
        self.failed = False
        # What woke the loop, counted by cause (a timer, or an event's kind),
        # and the heartbeats it gave.
        self.woke: Counter[str] = Counter()
        # Its timers (time.monotonic): the safety net's look at tmux, the
        # heartbeat; and the next watch deadline (time.time), if any.
        self.refresh_at = time.monotonic() + _HEARTBEAT
        # A fleet of one host (its store the home's file) has nobody to tell:
        # it heartbeats once, as it starts (its lock file says it runs).
        every = settings.config.host.heartbeat if self.fleet.shared else math.inf
        self.beat_at = time.monotonic() + every
        # Another host is judged silent only over a watch of this daemon's own,
        # as long as host.lost_after, since it started or the store came back:
        # after a whole fleet's outage, every host's last heartbeat is old.
        self.judge_at = time.monotonic() + settings.config.host.lost_after
        self.watch_at: float | None = None
        self.started = time.time()

    # -- the loop -------------------------------------------------------------

    def run(self) -> None:
        with single_instance(self.settings.home, self.settings.host):
            observer = watch_logs(self.settings.home / "logs", self.events)
            try:
                self.store_waker.start()
                self.waker.start()
                self.notifier.start()
                self._loop()
            finally:
                observer.stop()
                self.sessions.stop()
                self.stopping.set()
                self.notifier.stop()
                self.store_waker.stop()
                self.waker.stop()  # and its blocked `tmux wait-for` client
                self.fleet.close()
        if self.successor or (self.emptied and self._watched_again()):
            # Not ensure_running: its probe of the lock can meet a CLI's probe,
            # and then neither would start one.
            start(self.settings, stay=self.stay)

    def _watched_again(self) -> bool:
        """Did something come to watch while this monitor was leaving? A spawn
        then saw its lock still held and started no monitor (its agent stayed
        'starting'); asked once the lock is free, so no spawn falls between."""
        with Fleet(self.fleet.settings) as fleet:
            return _anything_to_watch(fleet)

    def stop(self) -> None:
        self.stopping.set()
        self.events.put(("stop", ""))

    def _loop(self) -> None:
        self.last_event = self.store.last_event_id()
        self.notifier.catch_up(self.store, self.last_event, self._screen)
        adopted = self.store.adopt_agents(self.fleet.host)
        if adopted:
            logger.info("agents of no host are this host's (%s): %s", self.fleet.host, adopted)
        hosting.beat(self.fleet, self.started)  # before its first look (back ones included)
        # A restarted monitor trusts nothing it did not see: look at everyone,
        # and take back messages a dead monitor had claimed but not finished.
        self._look_at_everyone()
        recovery.recover_claims(self.fleet, alive=_alive)
        self.sessions.watch_agents(
            [a for a in self.store.list_agents() if self.fleet.mine(a)], self.config.profile
        )
        self.requests.start()
        self.guard.start(self.last_event)
        backoff = Backoff()
        while not self.stopping.is_set():
            now = time.monotonic()
            # The safety net's look at tmux waits for the next heartbeat
            # unless that is far off: at idle, only heartbeats wake it.
            soon = self.beat_at < self.refresh_at + _HEARTBEAT
            wake = min([self.beat_at if soon else self.refresh_at, *self.due.values()])
            for wall in (self.watch_at, self.guard.deadline()):
                if wall is not None:
                    wake = min(wake, now + max(0.0, wall - time.time()))
            try:
                batch = [self.events.get(timeout=max(0.0, wake - now))]
            except queue.Empty:
                batch = []
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self.events.get_nowait())
            self.woke.update({kind for kind, _ in batch} or {"timer"})
            try:
                if not self._turn(batch):
                    return
            except StoreError as exc:
                # The database is gone for now (a server restarting, a network
                # down): the agents run on in tmux; look again once it is back.
                pause = backoff.failed()
                logger.warning("the store fails: %s (again in %.0f s)", exc, pause)
                self.failed = True
                if not self._pause(pause):
                    return
                continue
            backoff.reset()

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` for a store that fails; False when it is time to
        leave instead: stopped, or (started by a command) its tmux server gone,
        so that nothing is left here to keep running. The events that come
        meanwhile are dropped: once the store is back it looks at everyone."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            if not self.stay and not self.tmux.is_alive():
                return False
            while True:
                try:
                    kind, _ = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    return True
                if kind == "stop":
                    return False
                if kind == "tmux":
                    break  # look at the server again
        return False

    def _look_at_everyone(self) -> None:
        self._refresh()
        for agent in self.store.list_agents():
            self.states[agent.name] = agent.state
            if agent.state not in ENDED and self.fleet.mine(agent):
                self.due[agent.name] = 0.0

    def _turn(self, batch: list[tuple[str, str]]) -> bool:
        """Act on one batch of wake-ups; False when the monitor is to leave."""
        now = time.monotonic()
        kinds = {kind for kind, _ in batch}
        if "stop" in kinds:
            return False
        if self.store.replaced():
            # This connection now reads a file nobody else sees: hand over
            # to a successor that opens the one there now (or says why not).
            path = self.store.path
            logger.warning("%s was deleted or replaced: this monitor hands over", path)
            self.successor = True
            return False
        self.config.check()  # before any look: an agent may use a profile just added
        if self.failed:  # the store is back: catch up on what went on meanwhile
            self.failed = False
            self.judge_at = now + self.fleet.config.host.lost_after
            self._look_at_everyone()
        for kind, name in batch:
            if kind == "log":
                self.changed_at[name] = now
                self._schedule(name, now + _DEBOUNCE)
        for path in dict.fromkeys(name for kind, name in batch if kind == "session"):
            self.sessions.changed(self.store, Path(path), self.config.profile)
        if "store" in kinds:
            self._read_events()
        if now >= self.beat_at:
            self.beat_at = now + self.fleet.config.host.heartbeat
            self.woke["beat"] += 1
            for name in hosting.beat(self.fleet, self.started):
                self._schedule(name, now)  # back from its host's loss: look at it
            if now >= self.judge_at:
                hosting.lose_silent(self.fleet)
        if "tmux" in kinds or now >= self.refresh_at:
            self.refresh_at = now + _HEARTBEAT
            if not self._refresh() and not self.stay:
                self._read_events()
                self._pump()  # fail what was queued for the agents that went with it
                self.emptied = True
                return False  # tmux server gone and nothing left to watch
        for name, when in list(self.due.items()):
            if when <= now:
                del self.due[name]
                self._look(name)
        self._read_events()
        self.guard.tick()
        self._pump()
        self.requests.serve()
        self.watch_at = messaging.check_watches(self.fleet)
        return True

    def _schedule(self, name: str, when: float) -> None:
        agent = self.store.get_agent(name)
        if agent is None or agent.state in ENDED or not self.fleet.mine(agent):
            return
        profile = self.config.profile(agent)
        if profile is None:
            return
        earliest = self.looked_at.get(name, 0.0) + _MIN_INTERVAL[profile.hooks]
        when = max(when, earliest)
        self.due[name] = min(self.due.get(name, when), when)

    # -- sources ----------------------------------------------------------------

    def _read_events(self) -> None:
        for event in self.store.events(after=self.last_event):
            self.last_event = event.id
            self.guard.event(event)
            if event.agent and event.event == "renamed":
                self._renamed(str(event.data.get("from")), event.agent)
            if event.agent:
                self.notifier.seen(self.store, event, self.states.get(event.agent), self._screen)
            if event.agent and event.state:
                self._state_seen(event.agent, event.state, event.detail)
            if event.agent and event.event in TURN_ENDS:  # the turn's tokens and cost
                self.costs.turn_ended(event.agent, event.ts)
            if event.agent and (
                event.event.startswith("hook:") or event.data.get("source") == "delivery"
            ):
                # A hook or a delivery moved the state: read the screen for what
                # it did not say (a prompt that came first is a still screen).
                self._schedule(event.agent, time.monotonic())
            elif event.event == "spawned" and event.agent:
                self._schedule(event.agent, time.monotonic())
            if event.event in _STARTS:  # on a new tmux server, if its own had gone
                self.waker.agent_started()
            if event.event in (*_STARTS, "hook:SessionStart"):  # its session file's dir
                self.sessions.watch_agents(
                    [a for a in self.store.list_agents() if self.fleet.mine(a)], self.config.profile
                )

    def _screen(self, name: str) -> str | None:
        """The agent's screen now (a notice's text), nothing if it is gone;
        None for another host's agent (a pane id there names another pane here)."""
        agent = self.store.get_agent(name)
        if agent is not None and not self.fleet.mine(agent):
            return None
        with contextlib.suppress(TmuxorchError):
            return self.tmux.capture(agent.pane_id) if agent and agent.pane_id else ""
        return ""

    def _renamed(self, old: str, new: str) -> None:
        """What is known of an agent goes with it to its new name (its pane
        log was renamed with it, so the watcher already reports the new one)."""
        memories: tuple[dict[str, Any], ...] = (
            self.states, self.due, self.changed_at, self.looked_at, self.interrupted,
        )  # fmt: skip
        for memory in memories:
            if old in memory:
                memory[new] = memory.pop(old)
        self.guard.renamed(old, new)

    def _state_seen(self, name: str, state: State, detail: str) -> None:
        previous = self.states.get(name)
        self.states[name] = state
        agent = self.store.get_agent(name)
        if previous != state:
            logger.info("%s: %s -> %s %s", name, previous or "(new)", state, detail)
        # The child's host's daemon tells its parent (a lost host's, the
        # daemon that decided the loss: tmuxorch.fleet.hosting).
        if agent is not None and previous != state and self.fleet.mine(agent):
            seen = replace(agent, state=state, detail=detail)
            messaging.notify_parent(self.fleet, seen, previous)

    def _refresh(self) -> bool:
        """Mark dead panes exited and kill what outlived its pane; False when
        the server is gone and nobody is left."""
        self.fleet.refresh()
        for pid, name in self.fleet.reap_strays().items():
            logger.warning("killed process %d of agent %s: it outlived its pane", pid, name)
        return _anything_to_watch(self.fleet)


def _anything_to_watch(fleet: Fleet) -> bool:
    """A tmux server to listen to, or an agent of this host that has not ended."""
    return fleet.tmux.is_alive() or any(
        a.state not in ENDED and fleet.mine(a) for a in fleet.store.list_agents()
    )


def _alive(pid: int, started: int | None) -> bool:
    """Is the deliverer that claimed a message still at work?"""
    if pid == os.getpid():
        return False  # claims of this process are from before a restart of it
    return procs.alive(pid, started)


def run_foreground(settings: Settings, *, stay: bool = False) -> None:
    log_to_home(settings)
    Monitor(settings, stay=stay).run()
