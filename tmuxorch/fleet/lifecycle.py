"""The fleet: one home's settings, store and tmux server, its agents' paths and
records, and refresh (what tmux says of their panes, into the store).

What the fleet does lives in services, modules of functions that take the
Fleet: ``launching`` (spawn), ``sessions`` (stop, kill, remove, resume, fork,
up, cleanup), ``waiting`` and ``prompting``. Fleet keeps one-line methods for
the ones most callers use, so callers hold one object. Domain code, no printing.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from tmuxorch.core import private, profiles, storeurl
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import StoreError, TmuxError, UnknownAgent
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import ENDED, State, Until
from tmuxorch.fleet import monitorproc
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store
from tmuxorch.store.sqlite.schema import DB_NAME
from tmuxorch.tmux.panes import Pane
from tmuxorch.tmux.server import binary, open_server

if TYPE_CHECKING:
    from tmuxorch.fleet.delivery import Progress
    from tmuxorch.fleet.launching import SpawnRequest


class Fleet:
    """One home: its store, its tmux server and its agents."""

    def __init__(self, settings: Settings, *, long_lived: bool = False) -> None:
        """``long_lived``: for a process that lives long (tmux.longlived)."""
        self.settings = settings
        self.config = settings.config
        self.home = settings.home
        self.host = settings.host
        self.tmux = open_server(
            settings.socket, settings.session, self.home / "tmux.conf", long_lived=long_lived
        )
        url = storeurl.chosen(self.config.store.url)
        if url is None and not (self.home / DB_NAME).exists() and self.tmux.panes():
            # A new, empty database would hide live agents and let their names be reused.
            raise StoreError(
                f"{self.home / DB_NAME} is missing, yet tmux session {settings.session!r} on "
                f"socket {settings.socket!r} has windows (the database was deleted or moved, "
                "or another home uses this socket): restore the database, or end them with "
                f"`tmux -L {shlex.quote(settings.socket)} kill-server`"
            )
        self.store: Store = open_store(self.home, url=url)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths --------------------------------------------------------------------

    def log_path(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def screen_path(self, name: str) -> Path:
        return self.home / "screens" / f"{name}.txt"

    def settings_path(self, name: str) -> Path:
        return self.home / "claude" / f"{name}.json"

    # -- lookups ------------------------------------------------------------------

    def profile(self, name: str) -> Profile:
        return profiles.get(self.config, name)

    def agent(self, name: str) -> Agent:
        agent = self.store.get_agent(name)
        if agent is None:
            raise UnknownAgent(f"no agent named {name!r}")
        return agent

    def pane(self, agent: Agent) -> Pane | None:
        """The agent's pane, if it is still there."""
        return self.own(agent, self.tmux.pane(agent.pane_id) if agent.pane_id else None)

    @staticmethod
    def own(agent: Agent, pane: Pane | None) -> Pane | None:
        # Pane ids restart with each tmux server: after a server died, an old
        # id can name another agent's pane. Windows carry the agent's name.
        return pane if pane is not None and pane.window_name == agent.name else None

    @property
    def lock_host(self) -> str | None:
        """The host this fleet's locks are on (tmuxorch.locks.keys): this one
        when the store is shared by hosts, None when it is this host's alone."""
        return self.host if storeurl.chosen(self.config.store.url) else None

    def mine(self, agent: Agent) -> bool:
        """Does this host run ``agent`` (its tmux server, its daemon)? A row
        of no host is from before hosts: the local host's until adopted."""
        return agent.host in (self.host, "")

    def agents(self) -> list[Agent]:
        self.refresh()
        return self.store.list_agents()

    def refresh(self) -> None:
        """Mark this host's agents whose pane died or vanished as exited (one
        tmux call: another host's panes are on its own server).

        An agent already marked exited by its SessionEnd hook still gets its
        exit status here once the pane is dead. ``status``, ``wait``, ``send``
        and, with no monitor to do it, ``list`` call it, so they are right
        while no monitor runs: one plain tmux process, about 9 ms of CPU
        (through libtmux, its import included, about 70: see tmux/server.py).
        """
        from tmuxorch.locks.acquisition import release_holder  # start-up cost: see mark_exited

        live = [
            a
            for a in self.store.list_agents()
            if a.pane_id and (a.state not in ENDED or a.exit_status is None) and self.mine(a)
        ]
        if not live:
            return
        panes = self.tmux.panes()
        for agent in live:
            pane = self.own(agent, panes.get(agent.pane_id or ""))
            if pane is None:
                # Lost with its window or the whole server: ``up`` brings it back.
                if self.store.mark_lost(agent.name, agent.since):
                    release_holder(self.store, agent.name)
            elif pane.dead:
                self.mark_exited(agent, pane.dead_status)

    def reap_strays(self) -> dict[int, str]:
        """Kill the processes of this fleet's agents that outlived their panes."""
        from tmuxorch.tmux import strays  # start-up cost: the monitor's alone

        return strays.reap(self.home, self.settings.socket, self._live_names)

    def _live_names(self) -> set[str]:
        """The names the processes of live windows carry: a renamed agent's
        keep the ones it had when it started (``renamed`` events say which)."""
        names = {p.window_name for p in self.tmux.panes().values() if not p.dead}
        renamed = self.store.events(kind="renamed")
        return names | {str(e.data.get("from")) for e in renamed if e.agent in names}

    def mark_exited(self, agent: Agent, status: int | None) -> None:
        """Its process ended: say why (its status; its last lines if it never started)."""
        # Start-up cost: the lock modules load only for an agent that ended.
        from tmuxorch.locks.acquisition import release_holder

        last = self.save_screen(agent)
        detail = f"exit status {status}" if status is not None else "process ended"
        if agent.state in ENDED and agent.detail:
            detail = f"{agent.detail}, {detail}"  # keep why (e.g. "session ended (other)")
        elif agent.state == "starting":
            # Ended before it ever took input: why is on its screen, nowhere else.
            lines = [
                line.strip()
                for line in last.splitlines()
                if line.strip() and not line.startswith("Pane is dead (")  # tmux's own line
            ]
            shown = f": {' / '.join(lines[-3:])}" if lines else ""
            detail = f"{detail} during start-up{shown}"[:500]
        # Stopped instead when `stop` ended it (tmuxorch.core.states).
        self.store.set_state(agent.name, "exited", detail, event="exited", exit_status=status)
        release_holder(self.store, agent.name)

    def save_screen(self, agent: Agent) -> str:
        """Keep the last screen so ``output`` works after the window is gone;
        return it ("" when there is none)."""
        if not agent.pane_id:
            return ""
        try:
            text = self.tmux.capture(agent.pane_id, start="-")
        except TmuxError:
            return ""
        path = self.screen_path(agent.name)
        private.private_dir(path.parent)
        private.write_file(path, (text + "\n").encode())
        return text

    def ensure_monitor(self) -> None:
        monitorproc.ensure_running(self.settings)

    def attach_command(self, *, read_only: bool = False) -> tuple[list[str], dict[str, str]]:
        """argv and environment that put the caller's terminal on the fleet session.

        Inside a pane of this very server, switch the client; inside another
        tmux, attach nested (tmux refuses while $TMUX is set, so drop it).
        """
        env = dict(os.environ)
        base = [binary(), "-L", self.settings.socket, "-f", str(self.tmux.conf_path)]
        target = f"={self.settings.session}"
        inside = env.get("TMUX", "").split(",")[0]
        if inside:
            ours = self.tmux.cmd("display-message", "-p", "#{socket_path}", check=False)
            if ours and os.path.realpath(ours[0]) == os.path.realpath(inside):
                return [*base, "switch-client", "-t", target], env
            env.pop("TMUX", None)
        return [*base, "attach-session", "-t", target, *(["-r"] if read_only else [])], env

    # -- the services most callers use (see the module's docstring) -----------------
    # Imported where called, for start-up: ``list --json`` uses none of them.

    def spawn(self, req: SpawnRequest) -> Agent:
        from tmuxorch.fleet import launching

        return launching.spawn(self, req)

    def wait_for(
        self,
        names: list[str],
        until: Until = "idle",
        *,
        any_: bool = False,
        timeout: float | None = None,
    ) -> dict[str, State]:
        from tmuxorch.fleet import waiting

        return waiting.wait_for(self, names, until, any_=any_, timeout=timeout)

    def reached(self, agent: Agent, until: Until) -> bool:
        from tmuxorch.fleet import waiting

        return waiting.reached(self, agent, until)

    def type_into(
        self,
        agent: Agent,
        text: str,
        *,
        confirm: bool = True,
        progress: Progress | None = None,
    ) -> None:
        from tmuxorch.fleet import prompting

        prompting.type_into(self, agent, text, confirm=confirm, progress=progress)

    def kill(self, name: str) -> Agent:
        from tmuxorch.fleet import sessions

        return sessions.kill(self, name)

    def remove(self, name: str) -> list[str]:
        from tmuxorch.fleet import sessions

        return sessions.remove(self, name)

    def stop(self, name: str, *, timeout: float = 15.0) -> Agent:
        from tmuxorch.fleet import sessions

        return sessions.stop(self, name, timeout=timeout)

    def resume(self, name: str, message: str | None = None) -> Agent:
        from tmuxorch.fleet import sessions

        return sessions.resume(self, name, message)

    def fork(self, name: str, new: str, message: str | None = None) -> Agent:
        from tmuxorch.fleet import sessions

        return sessions.fork(self, name, new, message)

    def up(self) -> list[str]:
        from tmuxorch.fleet import sessions

        return sessions.up(self)

    def cleanup(self, days: float) -> list[str]:
        from tmuxorch.fleet import sessions

        return sessions.cleanup(self, days)
