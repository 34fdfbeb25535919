"""The two keys of a lock: who holds it and what it covers.

The holder is a string: an agent's name, ``pane:%N@SOCKET`` for a tmux pane
outside the fleet, ``session:ID`` for a bare Claude session, or ``user`` for
a manual lock taken outside any pane. What it covers is a real absolute path;
a lock on a directory covers everything below it. In a fleet of several
hosts the path is on a host, ``HOST:/PATH``, unless it is under one of
``locks.shared_roots``, directories every host sees alike: those locks are
fleet-wide, a path alone.

On the auto-lock hook's hot path: stdlib only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from tmuxorch.core import procs
from tmuxorch.core.frozen import frozen

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.store.interface import Store

# Processes between the hook and the long-lived program that ran it.
_WRAPPERS = frozenset(
    {"sh", "bash", "dash", "zsh", "fish", "ksh", "env", "timeout", "nice", "nohup", "tmuxorch"}
)


@frozen
class Holder:
    """Who takes a lock, and the process whose death frees it (if any)."""

    key: str
    agent: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    # Its host, in a fleet of several: only there can its processes be seen.
    host: str | None = None


# -- identities ------------------------------------------------------------------


def owner_process(start: int | None = None) -> tuple[int, int | None]:
    """The long-lived process that ran us: walk up past shells and Python
    wrappers (Claude runs hooks as ``sh -c CMD``) to the first other program,
    i.e. the Claude Code (node) process. Returns ``(pid, start time)``."""
    pid = os.getppid() if start is None else start
    for _ in range(32):
        stat = procs.stat(pid)
        if stat is None:
            break
        comm, ppid, started = stat
        if comm not in _WRAPPERS and not comm.startswith("python"):
            return pid, started
        if ppid <= 1:
            break
        pid = ppid
    parent = os.getppid()
    return parent, procs.start_time(parent)


def _pane_key(environ: Mapping[str, str]) -> str | None:
    pane = environ.get("TMUX_PANE")
    if not pane:
        return None
    # Pane ids repeat across tmux servers; the socket path tells them apart.
    socket = environ.get("TMUX", "").split(",")[0]
    return f"pane:{pane}@{socket}" if socket else f"pane:{pane}"


def agent_name(store: Store, environ: Mapping[str, str]) -> str | None:
    """The calling agent's name now. Its process keeps the ``TMUXORCH_AGENT``
    it started with; after a ``rename`` its ``TMUXORCH_LAUNCH`` (this start's
    token, in the agent's record) is what still finds it."""
    name = environ.get("TMUXORCH_AGENT") or None
    launch = environ.get("TMUXORCH_LAUNCH")
    if name is None or not launch:
        return name
    return store.launched_as(launch) or name


def hook_holder(
    environ: Mapping[str, str],
    session_id: str | None,
    agent: str | None = None,
    host: str | None = None,
) -> Holder | None:
    """The holder for a hook call: the agent (``agent``, its name as
    :func:`agent_name` found it, else ``TMUXORCH_AGENT``), else the pane, else
    the session."""
    agent = agent or environ.get("TMUXORCH_AGENT") or None
    key = agent or _pane_key(environ) or (f"session:{session_id}" if session_id else None)
    if key is None:
        return None
    pid, started = owner_process()
    return Holder(key=key, agent=agent, pid=pid, pid_start=started, host=host)


def cli_holder(
    environ: Mapping[str, str], agent: str | None = None, host: str | None = None
) -> Holder:
    """The holder for a manual ``lock``: the agent (``agent``, as for
    :func:`hook_holder`), else the pane, else ``user``.

    A manual lock outside an agent is tied to no process: it lasts until
    ``unlock`` or its lease ends, not until the shell that took it exits.
    """
    agent = agent or environ.get("TMUXORCH_AGENT") or None
    return Holder(key=agent or _pane_key(environ) or "user", agent=agent, host=host)


def describe(holder: str) -> str:
    kind, sep, rest = holder.partition(":")
    if not sep:
        return "the user (a manual lock)" if holder == "user" else f"agent {holder}"
    if kind == "pane":
        return f"tmux pane {rest.partition('@')[0]}"
    return f"Claude session {rest}"


# -- paths -----------------------------------------------------------------------


def workspace_of(path: str) -> str:
    """The git top level containing ``path`` (found by walking up to ``.git``,
    a directory or, in worktrees and submodules, a file), else ``path``."""
    current = path
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return path
        current = parent


def lock_key(
    path: str, cwd: str, scope: str = "file", host: str | None = None, shared: Sequence[str] = ()
) -> str:
    """The key of the lock for ``path``: its real absolute path (its
    workspace's, for scope workspace), on ``host`` (``HOST:/PATH``) unless
    ``host`` is None (a fleet of one host) or it is under a ``shared`` root."""
    real = os.path.realpath(os.path.join(cwd, os.path.expanduser(path)))
    if scope == "workspace":
        real = workspace_of(real if os.path.isdir(real) else os.path.dirname(real))
    roots = (os.path.realpath(os.path.expanduser(root)) for root in shared)
    if host is None or any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
        return real
    return f"{host}:{real}"


def split_key(key: str) -> tuple[str | None, str]:
    """``(host, path)`` of a lock key; host None for a path alone."""
    if key.startswith("/"):
        return None, key
    host, _, path = key.partition(":")
    return host, path


def overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")
