"""The fleet: agents as tmux windows plus their records. Domain code, no printing."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmuxorch.core import private, profiles, storeurl
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import (
    AgentError,
    DeliveryError,
    ProfileError,
    StoreError,
    TimeoutReached,
    TmuxError,
)
from tmuxorch.core.frozen import frozen
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent, now
from tmuxorch.core.states import UNTIL
from tmuxorch.core.vocab import ENDED, EventKind, State, Until
from tmuxorch.fleet import monitorproc
from tmuxorch.locks.acquisition import release_holder
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import ensure_home, open_store
from tmuxorch.store.sqlite.schema import DB_NAME
from tmuxorch.tmux import strays
from tmuxorch.tmux.panes import Pane
from tmuxorch.tmux.server import binary, check_version, open_server

if TYPE_CHECKING:
    from tmuxorch.fleet.delivery import Progress

# Imported where used: delivery (typing into panes), claude.launch and
# worktrees serve starting and removing agents, not the short commands that
# only read the fleet (``list --json``), whose start-up they would double.

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise AgentError(
            f"invalid agent name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def parse_env(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_KEY.match(key):
            raise AgentError(f"invalid --env {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


@frozen
class SpawnRequest:
    name: str
    prompt: str | None = None
    profile: str | None = None
    cwd: str | None = None
    model: str | None = None
    permission_mode: str | None = None
    env: dict[str, str] | None = None
    parent: str | None = None
    # None: no worktree; "": a new branch tmuxorch/NAME; else that branch.
    worktree: str | None = None
    # Extra arguments for the agent's program (delegate presets use them).
    args: tuple[str, ...] = ()
    # Safety net (tmuxorch.daemon.safety, tmuxorch.locks.protect): caps over config's
    # (max_cost, max_turns, max_duration) and protected paths it may write.
    limits: dict[str, float] | None = None
    allow_protected: tuple[str, ...] = ()


class Fleet:
    """One home: its store, its tmux server and its agents."""

    def __init__(self, settings: Settings, *, long_lived: bool = False) -> None:
        """``long_lived``: for a process that lives long (tmux.longlived)."""
        self.settings = settings
        self.config = settings.config
        self.home = settings.home
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
            raise AgentError(f"no agent named {name!r}")
        return agent

    def pane(self, agent: Agent) -> Pane | None:
        """The agent's pane, if it is still there."""
        return self._own(agent, self.tmux.pane(agent.pane_id) if agent.pane_id else None)

    @staticmethod
    def _own(agent: Agent, pane: Pane | None) -> Pane | None:
        # Pane ids restart with each tmux server: after a server died, an old
        # id can name another agent's pane. Windows carry the agent's name.
        return pane if pane is not None and pane.window_name == agent.name else None

    def agents(self) -> list[Agent]:
        self.refresh()
        return self.store.list_agents()

    def refresh(self) -> None:
        """Mark agents whose pane died or vanished as exited (one tmux call).

        An agent already marked exited by its SessionEnd hook still gets its
        exit status here once the pane is dead. ``list``, ``status``, ``wait``
        and ``send`` call it, so they are right while no monitor runs: one
        plain tmux process, about 9 ms of CPU (through libtmux, its import
        included, about 70: see tmux/server.py).
        """
        live = [
            a
            for a in self.store.list_agents()
            if a.pane_id and (a.state not in ENDED or a.exit_status is None)
        ]
        if not live:
            return
        panes = self.tmux.panes()
        for agent in live:
            pane = self._own(agent, panes.get(agent.pane_id or ""))
            if pane is None:
                # Lost with its window or the whole server: ``up`` brings it back.
                if self.store.mark_lost(agent.name, agent.since):
                    release_holder(self.store, agent.name)
            elif pane.dead:
                self._mark_exited(agent, pane.dead_status)

    def reap_strays(self) -> dict[int, str]:
        """Kill the processes of this fleet's agents that outlived their panes."""
        return strays.reap(
            self.home,
            self.settings.socket,
            lambda: {p.window_name for p in self.tmux.panes().values() if not p.dead},
        )

    def _mark_exited(self, agent: Agent, status: int | None) -> None:
        last = self._save_screen(agent)
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

    def _save_screen(self, agent: Agent) -> str:
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

    # -- spawn --------------------------------------------------------------------

    def spawn(self, req: SpawnRequest) -> Agent:
        name = check_name(req.name)
        profile = self.profile(req.profile or self.config.default_agent)
        cwd = Path(req.cwd or os.getcwd()).expanduser()
        if not cwd.is_dir():
            raise AgentError(f"--cwd {cwd} is not a directory")
        cwd = cwd.resolve()
        self._check_installed(profile)
        spec: dict[str, Any] = {
            "env": req.env or {},
            "model": req.model,
            "permission_mode": req.permission_mode,
            "args": list(req.args),
            "limits": {k: v for k, v in (req.limits or {}).items() if v is not None},
            "allow_protected": list(req.allow_protected),
        }
        self._model_args(profile, spec)  # refuse flags the profile cannot take, early
        check_version()
        parent = req.parent or os.environ.get("TMUXORCH_AGENT") or None
        if parent is not None and self.store.get_agent(parent) is None:
            if req.parent:
                raise AgentError(f"--parent: no agent named {parent!r}")
            parent = None  # a pane of another fleet: not our parent
        if self.store.get_agent(name) is not None:
            raise AgentError(f"an agent named {name!r} already exists")
        tree = None
        from tmuxorch.fleet import worktrees  # start-up cost: see the imports

        if req.worktree is not None:
            tree, cwd = worktrees.create(cwd, self.home / "worktrees" / name, req.worktree, name)
            spec["worktree"] = tree.to_json()
        session_id = str(uuid.uuid4()) if profile.hooks else None
        stamp = now()
        agent = Agent(
            name=name, profile=profile.name, state="starting", cwd=str(cwd),
            created=stamp, since=stamp, parent=parent, spec=spec, session_id=session_id,
        )  # fmt: skip
        try:
            self.store.insert_agent(agent)
        except AgentError:
            if tree is not None:
                worktrees.remove(tree)
            raise
        try:
            self._launch(agent, profile)
        except BaseException:
            self.store.delete_agent(name, record_event=False)
            if tree is not None:
                worktrees.remove(tree)
            raise
        if req.prompt is not None:
            # Queued like any message: the monitor types it once the agent is ready.
            self.store.add_message(None, name, "sequential", req.prompt)
        self.ensure_monitor()
        return self.agent(name)

    def _check_installed(self, profile: Profile) -> None:
        command = profiles.command_argv(profile)[0]
        if shutil.which(command) is None:
            hint = f": install it with `{profile.install}`" if profile.install else ""
            raise ProfileError(f"{command!r} (profile {profile.name}) is not installed{hint}")

    def _launch(
        self, agent: Agent, profile: Profile, *, resume: str | None = None, fork: bool = False
    ) -> None:
        """Start the agent's program in its window (a new one, or its own dead
        pane brought back) and record where it runs."""
        from tmuxorch.claude import launch as claude  # start-up cost: see the imports

        argv = profiles.command_argv(profile) + self._model_args(profile, agent.spec)
        argv += agent.spec.get("args", [])
        if profile.hooks:
            claude.write_settings(
                self.settings_path(agent.name),
                claude.hook_settings(claude.executable(), lock_timeout=self.config.locks.wait),
            )
            argv += claude.start_args(
                settings_path=self.settings_path(agent.name),
                name=agent.name,
                parent=agent.parent,
                header=self.config.delivery.header,
                session_id=agent.session_id,
                resume=resume,
                fork=fork,
            )
            argv += claude.teammate_args(argv)
        sandbox = claude.start_env(agent.spec.get("permission_mode")) if profile.hooks else {}
        launch = uuid.uuid4().hex
        env = {
            **profile.env,
            **sandbox,
            **agent.spec.get("env", {}),
            "TMUXORCH_AGENT": agent.name,
            "TMUXORCH_HOME": str(self.home),
            "TMUXORCH_SOCKET": self.settings.socket,
            "TMUXORCH_LAUNCH": launch,  # tells this start's hooks from a previous one's
        }
        url = storeurl.chosen(self.config.store.url)
        if url is not None:  # its hooks read config.yaml no more than they must
            env[storeurl.ENV] = url
        old = self.pane(agent)
        if old is not None:  # its dead pane from before: the new window replaces it
            self.tmux.kill_window(old.window_id)
        pane = self._start_window(agent.name, argv, agent.cwd, env)
        event: EventKind = "spawned" if resume is None else ("forked" if fork else "resumed")
        # A start begins afresh (tmuxorch.core.states); its event names the profile.
        self.store.set_state(
            agent.name, "starting", profile.name, event=event, data={"argv": argv},
            pane_id=pane.pane_id, window_id=pane.window_id, pid=pane.pid,
            spec={**agent.spec, "launch": launch},
        )  # fmt: skip

    def _model_args(self, profile: Profile, spec: dict[str, Any]) -> list[str]:
        args: list[str] = []
        for key, flag, option in (
            ("model", profile.model_flag, "--model"),
            ("permission_mode", profile.permission_flag, "--permission-mode"),
        ):
            value = spec.get(key)
            if value is None:
                continue
            if flag is None:
                raise AgentError(f"{option} does not apply to profile {profile.name}")
            args += [flag, value]
        return args

    def _start_window(self, name: str, argv: list[str], cwd: str, env: dict[str, str]) -> Any:
        from tmuxorch.claude import launch as claude  # start-up cost: see the imports

        ensure_home(self.home)
        tmux_cfg = self.config.tmux
        status = claude.status_line_command(claude.executable(), self.home, self.settings.socket)
        self.tmux.write_config(tmux_cfg.history_limit, tmux_cfg.width, tmux_cfg.height, status)
        if any(p.window_name == name and not p.dead for p in self.tmux.panes().values()):
            raise AgentError(
                f"a live tmux window named {name!r} already runs in this fleet's session: "
                f"{self.store.path} lost its record (deleted or replaced), "
                f"or another home uses socket {self.settings.socket!r}"
            )
        log = self.log_path(name)
        private.private_dir(log.parent)
        # pipe-pane's shell follows links: the log is checked to be a file of ours first.
        os.close(private.open_file(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND))
        pane = self.tmux.new_window(
            name, argv, cwd, env, width=tmux_cfg.width, height=tmux_cfg.height
        )
        try:
            self.tmux.pipe_to(pane.pane_id, log)
        except TmuxError:
            # tmux pipes no dead pane: a program that ended at once keeps its
            # window, whose screen says why (``refresh`` marks it exited).
            ended = self.tmux.pane(pane.pane_id)
            if ended is None or not ended.dead:
                self.tmux.kill_window(pane.window_id)
                raise
        except BaseException:
            self.tmux.kill_window(pane.window_id)
            raise
        return pane

    def ensure_monitor(self) -> None:
        monitorproc.ensure_running(self.settings)

    def wait_for(
        self,
        names: list[str],
        until: Until = "idle",
        *,
        any_: bool = False,
        timeout: float | None = None,
    ) -> dict[str, State]:
        """Block until the agents reach ``until`` (all of them, or ``any_``).

        Sleeps on store changes (inotify), never on a timer loop; raises
        TimeoutReached, or AgentError when an agent can no longer get there.
        """
        from tmuxorch.store.notify import wait_until

        for name in names:
            self.agent(name)
        self.ensure_monitor()
        seen: dict[str, list[str]] = {"missing": list(names)}

        def check() -> dict[str, State] | None:
            if self.store.replaced():  # nothing will ever change in the old file
                raise StoreError(f"{self.store.path} was deleted or replaced while waiting")
            self.refresh()
            agents = {name: self.agent(name) for name in names}
            states = {name: agent.state for name, agent in agents.items()}
            reached = [n for n in names if self.reached(agents[n], until)]
            if reached and (any_ or len(reached) == len(names)):
                return states
            lost = [n for n in names if states[n] in ENDED and n not in reached]
            if lost and (not any_ or len(lost) == len(names)):
                why = agents[lost[0]].detail
                raise AgentError(
                    f"agent {lost[0]!r} is {states[lost[0]]}"
                    f"{f' ({why})' if why else ''}: it will not be {until}"
                )
            seen["missing"] = [f"{n} is {states[n]}" for n in names if n not in reached]
            return None

        return wait_until(
            self.store,
            check,
            timeout,
            lambda: f"timed out waiting for {until}: {', '.join(seen['missing'])}",
        )

    def reached(self, agent: Agent, until: Until) -> bool:
        """Is ``agent`` in an ``until`` state? An idle agent with messages still
        to deliver is not: its next turn is already queued."""
        if agent.state not in UNTIL[until]:
            return False
        if agent.state != "idle":
            return True
        if self.store.pending_count(agent.name):
            return False
        # ``agent`` may be older than that count: a message delivered in
        # between (busy is set before delivered) would read as idle and done.
        fresh = self.store.get_agent(agent.name)
        return fresh is not None and fresh.state in UNTIL[until]

    # -- input --------------------------------------------------------------------

    def type_into(
        self,
        agent: Agent,
        text: str,
        *,
        confirm: bool = True,
        progress: Progress | None = None,
    ) -> None:
        """Type ``text`` and submit it. For agents with hooks, ``confirm`` waits
        for the UserPromptSubmit hook: the agent itself says it took the text."""
        if agent.state in ENDED or not agent.pane_id:
            raise DeliveryError(f"agent {agent.name!r} is {agent.state}")
        from tmuxorch.fleet import delivery  # start-up cost: see the imports

        profile = self.profile(agent.profile)
        settings = self.config.delivery
        # A slash command runs inside Claude Code and fires no UserPromptSubmit:
        # the screen alone (the text left the input line) says it was taken.
        if not (confirm and profile.hooks) or delivery.slash_command(text):
            delivery.type_message(self.tmux, agent.pane_id, text, profile, settings, progress)
            return
        from tmuxorch.store.notify import wait_until

        mark = self.store.last_event_id()
        delivery.type_message(self.tmux, agent.pane_id, text, profile, settings, progress)
        try:
            wait_until(
                self.store,
                lambda: self.store.events(
                    agent=agent.name, after=mark, kind="hook:UserPromptSubmit"
                ),
                self.config.delivery.verify_timeout,
                lambda: "",
            )
        except TimeoutReached:
            raise DeliveryError("the agent never reported the prompt (UserPromptSubmit)") from None

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

    # -- lifecycle ----------------------------------------------------------------

    def kill(self, name: str) -> Agent:
        """Force the agent's process down and close its window; keep the record."""
        agent = self.agent(name)
        self.store.update_agent(name, ended_by="kill")  # before the window goes: not "lost"
        self._terminate(agent)
        self.store.set_state(name, "exited", "killed", event="killed", ended_by="kill")
        self.store.fail_queued(name, f"agent {name!r} is exited")
        release_holder(self.store, name)
        return self.agent(name)

    def _terminate(self, agent: Agent) -> None:
        pane = self.pane(agent)
        if pane is None:
            return
        self._save_screen(agent)
        if not pane.dead and pane.pid:
            # tmux makes each pane's process a session leader: kill its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pane.pid, signal.SIGKILL)
        self.tmux.kill_window(pane.window_id)

    def remove(self, name: str) -> list[str]:
        """Kill if running, then drop the record, logs and generated files;
        its worktree too when it is clean. Returns notes for the user."""
        agent = self.agent(name)
        self._terminate(agent)
        notes = []
        if "worktree" in agent.spec:
            from tmuxorch.fleet import worktrees  # start-up cost: see the imports

            notes.append(worktrees.remove(worktrees.Worktree(**agent.spec["worktree"])))
        for path in (self.log_path(name), self.screen_path(name), self.settings_path(name)):
            path.unlink(missing_ok=True)
        self.store.delete_agent(name)
        return notes

    def stop(self, name: str, *, timeout: float = 15.0) -> Agent:
        """End the agent gracefully (the profile's quit command), keeping its
        record and conversation for ``resume``."""
        agent = self.agent(name)
        if agent.state in ENDED:
            raise AgentError(f"agent {name!r} is already {agent.state}")
        self.store.update_agent(name, ended_by="stop")
        quit_command = self.profile(agent.profile).quit_command
        pane = self.pane(agent)
        if quit_command and pane is not None and not pane.dead:
            with contextlib.suppress(DeliveryError, TmuxError):
                self.type_into(agent, quit_command, confirm=False)
        deadline = time.monotonic() + timeout
        while pane is not None and not pane.dead and time.monotonic() < deadline:
            time.sleep(0.1)
            pane = self.tmux.pane(pane.pane_id)
        status = pane.dead_status if pane is not None and pane.dead else None
        self._terminate(self.agent(name))
        self.store.set_state(
            name, "stopped", "stopped", event="stopped", exit_status=status, ended_by="stop"
        )
        self.store.fail_queued(name, f"agent {name!r} is stopped")
        release_holder(self.store, name)
        return self.agent(name)

    def resume(self, name: str, message: str | None = None) -> Agent:
        """Start a stopped or exited agent again, in its conversation."""
        agent = self.agent(name)
        if agent.state not in ENDED:
            raise AgentError(f"agent {name!r} is {agent.state}: only an ended agent resumes")
        profile = self.profile(agent.profile)
        self._check_installed(profile)
        check_version()
        self._launch(agent, profile, resume=self._conversation(agent, profile))
        if message:
            self.store.add_message(None, name, "sequential", message)
        self.ensure_monitor()
        return self.agent(name)

    def _conversation(self, agent: Agent, profile: Profile) -> str | None:
        """The Claude conversation to resume, when there is one on disk."""
        if not profile.hooks or not agent.session_id:
            return None
        if agent.transcript_path and not Path(agent.transcript_path).exists():
            return None  # never got a turn: nothing to resume, start afresh
        return agent.session_id if agent.transcript_path else None

    def fork(self, name: str, new: str, message: str | None = None) -> Agent:
        """A new agent from the same conversation (``--fork-session``): same
        profile, cwd, settings and parent; its own session id (from its hooks)."""
        source = self.agent(name)
        check_name(new)
        profile = self.profile(source.profile)
        if profile.hooks and not source.session_id:
            raise AgentError(f"agent {name!r} has no conversation to fork")
        self._check_installed(profile)
        check_version()
        spec = {k: v for k, v in source.spec.items() if k != "worktree"}
        conversation = self._conversation(source, profile)
        stamp = now()
        agent = Agent(
            name=new, profile=source.profile, state="starting", cwd=source.cwd,
            created=stamp, since=stamp, parent=source.parent, spec=spec,
            # No conversation to fork (a shell, a Claude that never had a
            # turn): a fresh start, with a session id of its own.
            session_id=str(uuid.uuid4()) if profile.hooks and conversation is None else None,
        )  # fmt: skip
        self.store.insert_agent(agent)
        try:
            self._launch(agent, profile, resume=conversation, fork=True)
        except BaseException:
            self.store.delete_agent(new, record_event=False)
            raise
        if conversation is not None:
            # A resumed conversation keeps its first system prompt, which names
            # the source agent: tell the fork who it is now.
            note = f"[tmuxorch] You are now agent {new!r}, forked from {name!r}."
            message = f"{note}\n\n{message}" if message else note
        if message:
            self.store.add_message(None, new, "sequential", message)
        self.ensure_monitor()
        return self.agent(new)

    def up(self) -> list[str]:
        """After a reboot or a lost tmux server: bring back every agent that was
        not stopped, killed or removed, resuming Claude conversations.
        Idempotent; returns the names brought back."""
        check_version()
        self.reap_strays()  # a Claude left over would hold the conversation it resumes
        panes = self.tmux.panes()
        restored = []
        for agent in self.store.list_agents():
            pane = self._own(agent, panes.get(agent.pane_id or ""))
            if agent.ended_by in ("stop", "kill") or (pane is not None and not pane.dead):
                continue
            if pane is not None:  # its process died while nobody looked
                if agent.state not in ENDED or agent.exit_status is None:
                    self._mark_exited(agent, pane.dead_status)
                continue
            ended = agent.ended_by != "lost" and agent.state in ENDED
            if ended and not self.store.mark_lost(agent.name, agent.since):
                continue  # it had ended on its own before the server went
            profile = self.profile(agent.profile)
            self._launch(agent, profile, resume=self._conversation(agent, profile))
            restored.append(agent.name)
        self.ensure_monitor()
        return restored

    def cleanup(self, days: float) -> list[str]:
        """Remove agents that ended more than ``days`` days ago."""
        cutoff = now() - days * 86400
        names = [a.name for a in self.store.list_agents() if a.state in ENDED and a.since < cutoff]
        for name in names:
            self.remove(name)
        return names
