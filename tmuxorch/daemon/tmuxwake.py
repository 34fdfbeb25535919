"""The monitor's ear on its tmux server: a thread blocked in ``tmux wait-for``
on the channel the server's own pane-died and window-unlinked hooks signal,
so a process ending or a window closing wakes the monitor at once, with no
polling of panes."""

from __future__ import annotations

import queue
import subprocess
import threading

from tmuxorch.tmux.conf import WAKE_CHANNEL
from tmuxorch.tmux.server import TmuxServer, binary


class TmuxWaker:
    """Puts a ``("tmux", "")`` event on ``events`` for each signal."""

    def __init__(self, tmux: TmuxServer, events: queue.SimpleQueue[tuple[str, str]]) -> None:
        self.tmux = tmux
        self.events = events
        self.stopping = threading.Event()
        # Set when an agent starts: a server that was gone may be there again.
        self.started = threading.Event()
        # The `tmux wait-for` client the thread blocks in.
        self.client: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        threading.Thread(target=self._listen, daemon=True).start()

    def agent_started(self) -> None:
        self.started.set()

    def stop(self) -> None:
        self.stopping.set()
        self.started.set()
        if self.client is not None and self.client.poll() is None:
            self.client.terminate()

    def _listen(self) -> None:
        argv = [binary(), "-L", self.tmux.socket, "wait-for", WAKE_CHANNEL]
        while not self.stopping.is_set():
            try:
                self.client = subprocess.Popen(
                    argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            except OSError:
                return
            if self.stopping.is_set():  # stop() came before there was a client to end
                self.client.terminate()
                return
            self.client.wait()
            self.events.put(("tmux", ""))
            if not self.tmux.is_alive():
                # Gone with its server. The monitor stays while an agent is
                # starting, and that agent's spawn starts a new server: listen
                # to it then (until then, there is nothing to hear).
                self.started.wait()
                self.started.clear()
