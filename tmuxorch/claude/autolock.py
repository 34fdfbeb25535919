"""``tmuxorch auto-lock``: Claude Code's PreToolUse hook for file writes.

Claude runs it before every Write, Edit, MultiEdit, NotebookEdit and Bash
with the tool call as JSON on stdin (for Bash, the files the command names
as written: tmuxorch.core.shellwrites). Allowed: print nothing, exit 0 — printing an
"allow" decision would skip Claude's own permission prompt. Denied: Claude's
hook JSON with ``permissionDecision: "deny"`` and a reason the model reads.

Failure policy: bad input is one line on stderr (exit 1, which Claude treats
as a non-blocking error); a managed agent (``TMUXORCH_AGENT`` set) whose lock
cannot be decided, for whatever reason, is denied, failing closed; a session
with no fleet to talk to is allowed silently. Never a traceback.

Before the lock, protected paths (config ``protected_paths``, see
tmuxorch.locks.protect) are denied unless the agent was spawned with
``--allow-protected``; sessions started by hand get the protection too.

The import path stays on the stdlib and the store: no click, libtmux,
watchdog or yaml (the lock settings and protected paths of config.yaml are
cached as JSON in the home, keyed by the file's mtime and size, so yaml
loads only when it changed).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from tmuxorch.core import storeurl
from tmuxorch.core.errors import TmuxorchError

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
SETTINGS_CACHE = "lock-settings.json"
USAGE = "usage: tmuxorch auto-lock < PRETOOLUSE_JSON  (Claude Code's PreToolUse hook)\n"


class BadInput(Exception):
    """The hook input is not a PreToolUse call with a file path."""


class NothingToLock(BadInput):
    """A tool that writes no file reached the hook (a too-wide matcher)."""


def parse(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise BadInput("empty stdin: expected Claude Code's PreToolUse JSON")
    try:
        payload = json.loads(raw)
    except UnicodeDecodeError:
        raise BadInput("stdin is not UTF-8 JSON") from None
    except ValueError as exc:
        raise BadInput(f"stdin is not valid JSON ({exc})") from None
    except RecursionError:
        raise BadInput("stdin is JSON nested too deeply to read") from None
    if not isinstance(payload, dict):
        raise BadInput(f"stdin is JSON but not an object (got {type(payload).__name__})")
    event = payload.get("hook_event_name")
    if event is not None and event != "PreToolUse":
        raise BadInput(f"auto-lock is a PreToolUse hook, called for {event}")
    return payload


def target(payload: dict[str, Any]) -> tuple[list[str], str]:
    """``(file paths, cwd)`` of the tool call: a file tool's one path, or what
    a Bash command names as written (maybe none)."""
    tool = payload.get("tool_name")
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        raise BadInput(f"no tool_input object in the {tool or 'hook'} call")
    cwd = payload.get("cwd")
    cwd = cwd if isinstance(cwd, str) and cwd else os.getcwd()
    if tool == "Bash":
        command = tool_input.get("command")
        if not isinstance(command, str):
            raise BadInput("Bash has no tool_input.command string")
        from tmuxorch.core.shellwrites import targets

        found = targets(command, cwd)
        return [os.path.join(cwd, os.path.expanduser(t)) for t in found if "\0" not in t], cwd
    for key in ("file_path", "notebook_path"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            if "\0" in value:
                raise BadInput(f"tool_input.{key} contains a NUL byte")
            return [value], cwd
    error = BadInput if tool in FILE_TOOLS else NothingToLock
    raise error(f"{tool or 'the tool'} has no tool_input.file_path or notebook_path to lock")


def deny(reason: str) -> None:
    decision = {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": reason,
    }
    sys.stdout.write(json.dumps({"hookSpecificOutput": decision}) + "\n")


def cached_settings(home: str) -> dict[str, Any]:
    """``locks`` (wait, lease, scope) and ``protected`` (protected_paths) of
    config.yaml, from a JSON cache in the home while the file's path, mtime
    and size are unchanged: tmuxorch.core.config (typing, yaml) costs
    more than the whole rest of the hook."""
    from tmuxorch.core.paths import config_file

    path = config_file()
    try:
        st = os.stat(path)
        stamp: list[Any] = [path, st.st_mtime_ns, st.st_size]
    except FileNotFoundError:
        stamp = [path, None, None]
    from tmuxorch.core.private import read_text, write_file

    cache = os.path.join(home, SETTINGS_CACHE)
    try:
        data = json.loads(read_text(cache))
        if (
            data["stamp"] == stamp
            and isinstance(data["locks"], dict)
            and isinstance(data["protected"], list)
            and isinstance(data["locks"]["shared_roots"], list)
            and isinstance(data["host"], (str, type(None)))
        ):
            return {"locks": data["locks"], "protected": data["protected"], "host": data["host"]}
    except (OSError, ValueError, KeyError, TypeError, TmuxorchError):
        pass
    from pathlib import Path

    from tmuxorch.core.config import Config, load_config

    settings = _settings_of(load_config(Path(path))[0] if stamp[1] is not None else Config())
    with contextlib.suppress(TmuxorchError):  # only a cache
        write_file(cache, json.dumps({"stamp": stamp, **settings}).encode())
    return settings


def _settings_of(config: Any) -> dict[str, Any]:
    return {
        "locks": dict(vars(config.locks)),
        "protected": list(config.protected_paths),
        "host": config.host.name,
    }


def _home() -> tuple[str, dict[str, Any] | None]:
    from tmuxorch.core.paths import quick_home

    home = quick_home()
    if home is not None:
        return home, None
    from tmuxorch.core.config import resolve

    settings = resolve()
    return str(settings.home), _settings_of(settings.config)


def decide(payload: dict[str, Any], managed: bool) -> str | None:
    """Check no path is protected, then take the locks for this tool call;
    the deny reason, or None to allow."""
    paths, cwd = target(payload)
    if not paths:
        return None  # a Bash command that names no file it writes
    home, settings = _home()
    if settings is None:
        settings = cached_settings(home)
    for path in paths:
        refused = _protected(home, path, cwd, settings["protected"])
        if refused is not None:
            return refused
    if not storeurl.state_present(home):
        if managed:
            raise TmuxorchError(f"no fleet state in {home}")
        return None
    from tmuxorch.locks.acquisition import acquire
    from tmuxorch.locks.keys import agent_name, hook_holder, lock_key
    from tmuxorch.store.opening import open_store

    session = payload.get("session_id")
    locks = settings["locks"]
    wait, lease = float(locks["wait"]), float(locks["lease"])
    here = _host(settings["host"])
    with open_store(home, create=False) as store:
        session_id = session if isinstance(session, str) else None
        holder = hook_holder(os.environ, session_id, agent_name(store, os.environ), here)
        if holder is None:
            raise BadInput("no holder: neither TMUXORCH_AGENT, TMUX_PANE nor session_id is set")
        for path in paths:
            key = lock_key(path, cwd, str(locks["scope"]), here, locks["shared_roots"])
            outcome = acquire(store, key, holder, wait=wait, lease=lease)
            if not outcome.granted:
                advice = "end your turn to free your locks" if outcome.deadlock else "do other work"
                return f"{outcome.reason}. Write denied: {advice} and retry this write later."
    return None


def _host(configured: str | None) -> str | None:
    """The host of this agent's locks: none when the store is this host's alone
    (the one ``open_store`` opens here is a server's only if TMUXORCH_STORE
    names it); its own, which spawn puts in TMUXORCH_HOST."""
    if not os.environ.get(storeurl.ENV):
        return None
    from tmuxorch.core.hostname import host_name  # only on a shared store

    return host_name(configured)


def _protected(home: str, file_path: str, cwd: str, patterns: list[str]) -> str | None:
    """The deny reason when ``file_path`` is protected and this agent was not
    spawned allowed to write it (``spec["allow_protected"]``); hand-started
    sessions have no allowance."""
    from tmuxorch.locks import protect

    pattern = protect.protected(file_path, cwd, patterns)
    if pattern is None:
        return None
    name = os.environ.get("TMUXORCH_AGENT")
    if name and storeurl.state_present(home):
        from tmuxorch.locks.keys import agent_name
        from tmuxorch.store.opening import open_store

        with open_store(home, create=False) as store:
            name = agent_name(store, os.environ) or name
            agent = store.get_agent(name)
            allow = agent.spec.get("allow_protected") if agent is not None else None
            if isinstance(allow, list) and allow:
                allowed = protect.protected(file_path, cwd, patterns, map(str, allow)) is None
                if allowed:
                    return None
            if agent is not None:
                store.add_event(name, "protected", None, f"write to {file_path} denied ({pattern})")
    return protect.reason(file_path, pattern)


def main(args: list[str]) -> int:
    if args:
        sys.stderr.write(USAGE)
        return 0 if args[0] in ("-h", "--help") else 1
    managed = bool(os.environ.get("TMUXORCH_AGENT"))
    try:
        reason = decide(parse(sys.stdin.buffer.read()), managed)
    except NothingToLock as exc:
        return _undecided(f"bad input: {exc}", managed=False)
    except BadInput as exc:
        return _undecided(f"bad input: {exc}", managed)
    except (TmuxorchError, OSError) as exc:
        return _undecided(f"cannot decide the lock: {exc}", managed)
    except Exception as exc:
        # Even a bug must not let the write through unlocked, nor put a
        # traceback in Claude's transcript.
        return _undecided(f"internal error: {type(exc).__name__}: {exc}", managed)
    if reason is not None:
        deny(reason)
    return 0


def _undecided(message: str, managed: bool) -> int:
    sys.stderr.write(f"tmuxorch auto-lock: {message}\n")
    if not managed:
        return 1  # a non-blocking error: Claude shows it and goes on
    deny(f"tmuxorch could not decide the file lock for this write, so it is refused: {message}")
    return 0
