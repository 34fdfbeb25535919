"""The daemon's side of other hosts' requests (``fleet.routing``): it claims
those for its host when the store wakes it, and carries each out in a
worker thread, one per agent at a time so that an agent's requests keep
their order (a stop waits for its program; others' requests do not)."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

from tmuxorch.core.errors import TmuxorchError
from tmuxorch.core.records import Request
from tmuxorch.fleet.carrying import carry_out
from tmuxorch.fleet.lifecycle import Fleet

logger = logging.getLogger(__name__)


class RequestWorkers:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.lock = threading.Lock()
        self.queues: dict[str, deque[Request]] = {}

    def start(self) -> None:
        """Answer what a previous daemon of this host took and never finished:
        not done again (a kill, a spawn may have happened half)."""
        for request in self.fleet.store.requests(self.fleet.host):
            if request.status == "working" and request.claimed_by != os.getpid():
                self.fleet.store.finish_request(
                    request.id, error=f"host {self.fleet.host!r}'s daemon restarted while at it"
                )

    def serve(self) -> None:
        """Claim every request queued for this host and hand it to its agent's worker."""
        store, host = self.fleet.store, self.fleet.host
        while (request := store.claim_request(host, os.getpid())) is not None:
            logger.info("request %d from afar: %s %s", request.id, request.op, request.agent)
            with self.lock:
                queue = self.queues.get(request.agent)
                if queue is not None:  # its worker is at an earlier one: after it
                    queue.append(request)
                    continue
                self.queues[request.agent] = deque([request])
            threading.Thread(target=self._work, args=(request.agent,), daemon=True).start()

    def _work(self, agent: str) -> None:
        # Its own Fleet: a store connection belongs to one thread.
        try:
            with Fleet(self.fleet.settings, long_lived=True) as fleet:
                while True:
                    with self.lock:
                        queue = self.queues[agent]
                        if not queue:
                            del self.queues[agent]
                            return
                        request = queue.popleft()
                    carry_out(fleet, request)
        except TmuxorchError as exc:  # the store or tmux failed under the worker
            logger.warning("requests for %s: %s", agent, exc)
            with self.lock:
                self.queues.pop(agent, None)
