"""The monitor's message delivery: which agents get their next message now
(an idle one; a busy one interrupted for an urgent one), each by a worker
thread of its own, and the claims a worker left when the store went away."""

from __future__ import annotations

import logging
import queue
import threading

from tmuxorch.core.errors import StoreUnreachable, TmuxorchError
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import control, handover, messaging, recovery
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.store.interface import Store

logger = logging.getLogger(__name__)


class DeliveryPump:
    """The monitor's delivery (a mixin of ``Monitor``, whose state it uses)."""

    fleet: Fleet
    store: Store
    events: queue.SimpleQueue[tuple[str, str]]
    # One worker thread per agent at a time; the urgent message each agent
    # was interrupted for (interrupt once); the agents whose worker met a
    # store that went away, their claims still to decide.
    workers: dict[str, threading.Thread]
    interrupted: dict[str, int]
    stranded: set[str]

    def _pump(self) -> None:
        """Start delivering to every agent that has mail and can take it."""
        for name in list(self.stranded):
            worker = self.workers.get(name)
            if worker is None or not worker.is_alive():
                recovery.recover_stranded(self.fleet, name)
                self.stranded.discard(name)
        for name in self.store.recipients_with_queued():
            agent = self.store.get_agent(name)
            if agent is None or not self.fleet.mine(agent):
                continue  # its host's daemon delivers
            if agent.state in ENDED:
                # Even while a worker is still at its last delivery: every
                # ended agent's queue fails alike (the monitor may be exiting).
                why = f" ({agent.detail})" if agent.detail else ""  # e.g. why it never started
                self.store.fail_queued(name, f"agent {name!r} is {agent.state}{why}")
                continue
            worker = self.workers.get(name)
            if worker is not None and worker.is_alive():
                continue
            if agent.state in messaging.DELIVERABLE:
                self._start_delivery(name)
            elif agent.state in ("busy", "waiting"):
                top = self.store.next_queued(name)
                if (
                    top is not None
                    and top.mode == "urgent"
                    and self.interrupted.get(name) != top.id
                ):
                    self.interrupted[name] = top.id
                    if handover.cuts_turn(self.fleet, agent, top):
                        self._start_delivery(name)  # posted to its inbox: Claude ends the turn
                        continue
                    try:
                        control.interrupt(self.fleet, name)
                    except TmuxorchError as exc:  # it ended, or its pane went, meanwhile
                        logger.warning("interrupting %s for message %d: %s", name, top.id, exc)

    def _start_delivery(self, name: str) -> None:
        worker = threading.Thread(target=self._deliver, args=(name,), daemon=True)
        self.workers[name] = worker
        worker.start()

    def _deliver(self, name: str) -> None:
        # Its own Fleet: SQLite connections belong to one thread.
        try:
            with Fleet(self.fleet.settings, long_lived=True) as fleet:  # config.yaml as last read
                messaging.deliver_next(fleet, name)
        except StoreUnreachable as exc:
            logger.warning("delivering to %s: %s (its claim is decided once it answers)", name, exc)
            self.stranded.add(name)
        except TmuxorchError as exc:
            logger.warning("delivering to %s: %s", name, exc)
        finally:
            self.events.put(("store", ""))
