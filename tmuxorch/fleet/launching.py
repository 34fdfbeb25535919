"""Starting an agent: the spawn request, checks before anything runs, the
program's argv and environment, and its tmux window with its pane log."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmuxorch.core import private, profiles, storeurl
from tmuxorch.core.errors import AgentConflict, AgentError, ProfileError, TmuxError
from tmuxorch.core.frozen import asdict, frozen
from tmuxorch.core.hostname import NAME_RE
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent, now
from tmuxorch.core.vocab import EventKind
from tmuxorch.fleet import routing
from tmuxorch.tmux.panes import Pane
from tmuxorch.tmux.server import check_version

if TYPE_CHECKING:
    from tmuxorch.fleet.lifecycle import Fleet

# Imported where used: claude.launch and worktrees serve starting an agent,
# not the short commands that only read the fleet (the CLI's agents module
# loads this one), whose start-up they would double.

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
    # Added to a Claude agent's system prompt, after tmuxorch's own lines.
    system_prompt: str | None = None
    # Tools that run without asking (Claude's --allowedTools), as given.
    allowed_tools: str | None = None
    # The host to run it on (its daemon starts it); None: this one.
    host: str | None = None


def spawn(fleet: Fleet, req: SpawnRequest) -> Agent:
    name = check_name(req.name)
    if req.host not in (None, fleet.host):
        return _spawn_on(fleet, req)
    profile = fleet.profile(req.profile or fleet.config.default_agent)
    cwd = Path(req.cwd or os.getcwd()).expanduser()
    if not cwd.is_dir():
        raise AgentError(f"--cwd {cwd} is not a directory")
    cwd = cwd.resolve()
    check_installed(profile)
    spec: dict[str, Any] = {
        "env": req.env or {},
        "model": req.model,
        "permission_mode": req.permission_mode,
        "allowed_tools": req.allowed_tools,
        "system_prompt": req.system_prompt,
        "args": list(req.args),
        "limits": {k: v for k, v in (req.limits or {}).items() if v is not None},
        "allow_protected": list(req.allow_protected),
    }
    model_args(profile, spec)  # refuse flags the profile cannot take, early
    check_version()
    parent = req.parent or os.environ.get("TMUXORCH_AGENT") or None
    if parent is not None and fleet.store.get_agent(parent) is None:
        if req.parent:
            raise AgentError(f"--parent: no agent named {parent!r}")
        parent = None  # a pane of another fleet: not our parent
    if fleet.store.get_agent(name) is not None:
        raise AgentConflict(f"an agent named {name!r} already exists")
    tree = None
    from tmuxorch.fleet import worktrees  # start-up cost: see the imports

    if req.worktree is not None:
        tree, cwd = worktrees.create(cwd, fleet.home / "worktrees" / name, req.worktree, name)
        spec["worktree"] = tree.to_json()
    session_id = str(uuid.uuid4()) if profile.hooks else None
    stamp = now()
    agent = Agent(
        name=name, profile=profile.name, state="starting", cwd=str(cwd),
        created=stamp, since=stamp, parent=parent, spec=spec, session_id=session_id,
        host=fleet.host,
    )  # fmt: skip
    try:
        fleet.store.insert_agent(agent)
    except AgentError:
        if tree is not None:
            worktrees.remove(tree)
        raise
    try:
        launch(fleet, agent, profile)
    except BaseException:
        fleet.store.delete_agent(name, record_event=False)
        if tree is not None:
            worktrees.remove(tree)
        raise
    if req.prompt is not None:
        # Queued like any message: the monitor types it once the agent is ready.
        fleet.store.add_message(None, name, "sequential", req.prompt)
    fleet.ensure_monitor()
    return fleet.agent(name)


def _spawn_on(fleet: Fleet, req: SpawnRequest) -> Agent:
    """Have host ``req.host``'s daemon spawn the agent. What only this side
    knows goes with the request: the directory (the same path there: without
    --cwd, this command's) and the calling agent as the parent."""
    assert req.host is not None
    routing.check_host(fleet, req.host)
    if fleet.store.get_agent(req.name) is not None:
        raise AgentConflict(f"an agent named {req.name!r} already exists")
    parent = req.parent or os.environ.get("TMUXORCH_AGENT") or None
    if parent is not None and not req.parent and fleet.store.get_agent(parent) is None:
        parent = None  # a pane of another fleet: not our parent
    cwd = str(Path(req.cwd or os.getcwd()).expanduser())
    args = {k: v for k, v in asdict(req).items() if k not in ("name", "host")}
    routing.ask(fleet, req.host, req.name, "spawn", {**args, "cwd": cwd, "parent": parent})
    return fleet.agent(req.name)


def check_installed(profile: Profile) -> None:
    command = profiles.command_argv(profile)[0]
    if shutil.which(command) is None:
        hint = f": install it with `{profile.install}`" if profile.install else ""
        raise ProfileError(f"{command!r} (profile {profile.name}) is not installed{hint}")


def launch(
    fleet: Fleet, agent: Agent, profile: Profile, *, resume: str | None = None, fork: bool = False
) -> None:
    """Start the agent's program in its window (a new one, or its own dead
    pane brought back) and record where it runs."""
    from tmuxorch.claude import inbox  # start-up cost: see the imports
    from tmuxorch.claude import launch as claude

    argv = profiles.command_argv(profile) + model_args(profile, agent.spec)
    argv += agent.spec.get("args", [])
    launch_id = uuid.uuid4().hex
    spec = {**agent.spec, "launch": launch_id}
    spec.pop("inbox", None)
    if profile.hooks:
        settings = claude.hook_settings(claude.executable(), lock_timeout=fleet.config.locks.wait)
        if fleet.config.delivery.inbox != "never":
            spec["inbox"] = str(inbox.socket_path(fleet.home, launch_id))
            argv += [inbox.FLAG, spec["inbox"]]
            settings.update(inbox.SETTINGS)
        claude.write_settings(fleet.settings_path(agent.name), settings)
        argv += claude.start_args(
            settings_path=fleet.settings_path(agent.name),
            name=agent.name,
            parent=agent.parent,
            header=fleet.config.delivery.header,
            session_id=agent.session_id,
            resume=resume,
            fork=fork,
            extra=agent.spec.get("system_prompt"),
        )
        argv += claude.teammate_args(argv)
    sandbox = claude.start_env(agent.spec.get("permission_mode")) if profile.hooks else {}
    env = {
        **profile.env,
        **sandbox,
        **agent.spec.get("env", {}),
        "TMUXORCH_AGENT": agent.name,
        "TMUXORCH_HOME": str(fleet.home),
        "TMUXORCH_SOCKET": fleet.settings.socket,
        "TMUXORCH_HOST": fleet.host,  # its auto-lock keys its locks by host, cheaply
        "TMUXORCH_LAUNCH": launch_id,  # tells this start's hooks from a previous one's
    }
    url = storeurl.chosen(fleet.config.store.url)
    if url is not None:  # its hooks read config.yaml no more than they must
        env[storeurl.ENV] = url
    old = fleet.pane(agent)
    if old is not None:  # its dead pane from before: the new window replaces it
        fleet.tmux.kill_window(old.window_id)
    pane = start_window(fleet, agent.name, argv, agent.cwd, env)
    event: EventKind = "spawned" if resume is None else ("forked" if fork else "resumed")
    # A start begins afresh (tmuxorch.core.states); its event names the profile.
    fleet.store.set_state(
        agent.name, "starting", profile.name, event=event, data={"argv": argv},
        pane_id=pane.pane_id, window_id=pane.window_id, pid=pane.pid,
        spec=spec,
    )  # fmt: skip


def model_args(profile: Profile, spec: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, flag, option in (
        ("model", profile.model_flag, "--model"),
        ("permission_mode", profile.permission_flag, "--permission-mode"),
        ("allowed_tools", profile.allowed_tools_flag, "--allowed-tools"),
    ):
        value = spec.get(key)
        if value is None:
            continue
        if flag is None:
            raise AgentError(f"{option} does not apply to profile {profile.name}")
        args += [flag, value]
    if spec.get("system_prompt") is not None and not profile.hooks:
        # Only Claude's start-up takes one (tmuxorch's own lines go there too).
        raise AgentError(f"--system-prompt does not apply to profile {profile.name}")
    # No program argument can hold a NUL (MCP callers can send one).
    if any("\0" in str(v) for v in (spec.get("system_prompt"), *args, *spec.get("args", []))):
        raise AgentError("an argument for the agent's program contains a NUL byte")
    return args


def start_window(fleet: Fleet, name: str, argv: list[str], cwd: str, env: dict[str, str]) -> Pane:
    from tmuxorch.claude import launch as claude  # start-up cost: see the imports

    private.check_home(fleet.home)  # made 0700; one not ours or not private refused
    tmux_cfg = fleet.config.tmux
    status = claude.status_line_command(claude.executable(), fleet.home, fleet.settings.socket)
    fleet.tmux.write_config(tmux_cfg.history_limit, tmux_cfg.width, tmux_cfg.height, status)
    if any(p.window_name == name and not p.dead for p in fleet.tmux.panes().values()):
        raise AgentError(
            f"a live tmux window named {name!r} already runs in this fleet's session: "
            f"{fleet.store.path} lost its record (deleted or replaced), "
            f"or another home uses socket {fleet.settings.socket!r}"
        )
    log = fleet.log_path(name)
    private.private_dir(log.parent)
    # pipe-pane's shell follows links: the log is checked to be a file of ours first.
    os.close(private.open_file(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    pane = fleet.tmux.new_window(name, argv, cwd, env, width=tmux_cfg.width, height=tmux_cfg.height)
    try:
        fleet.tmux.pipe_to(pane.pane_id, log)
    except TmuxError:
        # tmux pipes no dead pane: a program that ended at once keeps its
        # window, whose screen says why (``refresh`` marks it exited).
        ended = fleet.tmux.pane(pane.pane_id)
        if ended is None or not ended.dead:
            fleet.tmux.kill_window(pane.window_id)
            raise
    except BaseException:
        fleet.tmux.kill_window(pane.window_id)
        raise
    return pane
