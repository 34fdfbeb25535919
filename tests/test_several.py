"""stop, kill and interrupt on several agents, or --all: every name checked
before anything is done; --all asks only a person at a terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import Env
from tests.helpers import retry_until


def _states(env: Env) -> dict[str, str]:
    return {a["name"]: a["state"] for a in env.json("list")}


def _busy(env: Env, *names: str) -> None:
    for name in names:
        env.ok("send", name, "sleep 60")
    retry_until(lambda: all(_states(env)[n] == "busy" for n in names), message="busy")


# action, the state it leaves, the line it prints
ACTIONS = [
    ("stop", "stopped", "stopped"),
    ("kill", "exited", "killed"),
    ("interrupt", "idle", "interrupted"),
]


@pytest.mark.parametrize(("action", "after", "said"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_several_names_each_acted_on(env: Env, action: str, after: str, said: str) -> None:
    for name in ("a", "b", "c"):
        env.spawn_ready(name, "--agent", "fake")
    _busy(env, "a", "b", "c")
    out = env.ok(action, "a", "b")
    assert out.splitlines() == [f"{said} a", f"{said} b"]
    env.ok("wait", "a", "b", "--until", "done", "--timeout", "30")
    states = _states(env)
    assert (states["a"], states["b"], states["c"]) == (after, after, "busy")
    if action == "stop":
        # No quit command in the fake profile: asked to end by SIGTERM, which
        # it answers with 143, rather than killed once a wait ran out.
        assert env.json("status", "a")["exit_status"] == 143


@pytest.mark.parametrize(("action", "after", "said"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_all_without_a_terminal_does_not_ask(env: Env, action: str, after: str, said: str) -> None:
    for name in ("a", "b"):
        env.spawn_ready(name, "--agent", "fake")
    _busy(env, "a", "b")
    out = env.ok(action, "--all", input="")  # stdin a pipe: a script
    assert sorted(out.splitlines()) == [f"{said} a", f"{said} b"]
    env.ok("wait", "a", "b", "--until", "done", "--timeout", "30")
    assert _states(env) == {"a": after, "b": after}


REFUSED = [
    ("unknown among several", ["kill", "a", "ghost", "b", "nobody"],
     "no agent named 'ghost', 'nobody': nothing done"),
    ("all with names", ["stop", "a", "--all"], "name agents or give --all, not both"),
    ("no names", ["interrupt"], "name at least one agent, or give --all"),
    ("interrupt all with none busy", ["interrupt", "--all"],
     "no busy or waiting agents to interrupt"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_before_anything_is_done(env: Env, args: list[str], message: str) -> None:
    env.spawn_ready("a", "--agent", "fake")
    env.spawn_ready("b", "--agent", "fake")
    proc = env.cli(*args, input="")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"tmuxorch: {message}"]
    assert proc.stdout == ""
    assert _states(env) == {"a": "idle", "b": "idle"}


@pytest.mark.parametrize("action", ["stop", "kill", "interrupt"])
def test_all_on_an_empty_fleet_is_one_line(env: Env, action: str) -> None:
    proc = env.cli(action, "--all", "--yes", input="")
    assert proc.returncode == 1
    who = "busy or waiting" if action == "interrupt" else "running"
    assert proc.stderr.splitlines() == [f"tmuxorch: no {who} agents to {action}"]


def _on_a_terminal(env: Env, *args: str, answer: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with a terminal as stdin (a person typing ``answer``)."""
    leader, follower = os.openpty()
    try:
        os.write(leader, answer)
        return subprocess.run(
            [sys.executable, "-m", "tmuxorch", *args],
            stdin=follower, capture_output=True, env=env.environ, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)


# answer typed, --yes given, agents stopped, asked
TERMINAL = [
    ("no", b"n\n", False, False, True),
    ("yes", b"y\n", False, True, True),
    ("--yes does not ask", b"", True, True, False),
]


@pytest.mark.parametrize(
    ("answer", "yes", "done", "asked"), [t[1:] for t in TERMINAL], ids=[t[0] for t in TERMINAL]
)
def test_all_on_a_terminal_asks_first(
    env: Env, answer: bytes, yes: bool, done: bool, asked: bool
) -> None:
    env.spawn_ready("a", "--agent", "fake")
    env.spawn_ready("b", "--agent", "fake")
    proc = _on_a_terminal(env, "stop", "--all", *(["--yes"] if yes else []), answer=answer)
    assert (b"stop 2 agent(s): a, b?" in proc.stdout) == asked
    assert proc.returncode == (0 if done else 1)
    expected = "stopped" if done else "idle"
    assert _states(env) == {"a": expected, "b": expected}


def test_one_that_fails_does_not_keep_the_others(env: Env) -> None:
    for name in ("a", "b", "c"):
        env.spawn_ready(name, "--agent", "fake")
    env.ok("stop", "b")
    proc = env.cli("stop", "a", "b", "c", input="")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ["stopped a", "stopped c"]
    assert proc.stderr.splitlines() == ["tmuxorch: agent 'b' is already stopped"]
    assert _states(env) == {"a": "stopped", "b": "stopped", "c": "stopped"}
