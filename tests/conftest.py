"""Fixtures: a private tmux socket (libtmux's ``server`` fixture) and a tmp home per test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from libtmux.server import Server

from tests.claude_env import CLAUDE_ENV_UNSET, claude_env, require_claude
from tests.fakeapi import FakeAnthropic, Response, ScriptEntry, text
from tests.helpers import HOST, retry_until
from tests.pgserver import pg_server, pg_url  # noqa: F401  (fixtures: a real PostgreSQL)
from tmuxorch.core.config import resolve
from tmuxorch.fleet import monitorproc
from tmuxorch.fleet.lifecycle import Fleet

TESTS = Path(__file__).parent
FAKEAGENT = TESTS / "fakeagent.py"


def base_config(tmp_path: Path) -> dict[str, Any]:
    """Profiles with predictable start-up: no rc files, a plain prompt."""
    return {
        "default_agent": "shell",
        "agents": {
            "shell": {"command": "/bin/bash --norc --noprofile", "env": {"PS1": "$ "}},
            "fake": {
                "command": f"{sys.executable} {FAKEAGENT}",
                "args": ["--record", str(tmp_path / "record.jsonl")],
                "ready": [r"^>( .*)?\Z"],
                "input_pattern": r"^> (.*)$",
                "clear_input_keys": ["C-u"],
                "busy": [r"\(esc to interrupt\)"],
                "waiting": [r"(Do you want to [^\n]*\?)"],
                "error": [r"(API Error: [^\n]*)"],
                "approve_keys": ["1"],
                "deny_keys": ["2"],
                "quiet": 0.3,
            },
        },
    }


def _proc_state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line for line in status.splitlines() if line.startswith("State:")), "?")


@dataclass
class Env:
    """One test's fleet: its home, socket, config, and a CLI runner."""

    home: Path
    socket: str
    config_path: Path
    tmp: Path

    unset: tuple[str, ...] = ()

    @property
    def environ(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TMUXORCH_", "TMUX"))
            and k not in self.unset
            # pytest-xdist's workers export COLUMNS=80: in the panes it would
            # pin every program (rich's dashboard) to 80 columns.
            and k not in ("COLUMNS", "LINES")
        }
        env.update(
            TMUXORCH_HOME=str(self.home),
            TMUXORCH_SOCKET=self.socket,
            TMUXORCH_CONFIG=str(self.config_path),
        )
        return env

    def write_config(self, config: dict[str, Any]) -> None:
        self.config_path.write_text(yaml.safe_dump(config))

    def fleet(self) -> Fleet:
        return Fleet(resolve(str(self.home), self.socket, str(self.config_path)))

    def cli(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "tmuxorch", *args],
            input=data, capture_output=True, timeout=timeout,
            env={**self.environ, **(env or {})}, check=False,
        )  # fmt: skip
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )

    def ok(self, *args: str, **kwargs: Any) -> str:
        proc = self.cli(*args, **kwargs)
        assert proc.returncode == 0, f"tmuxorch {' '.join(args)} failed: {proc.stderr}"
        assert "Traceback" not in proc.stderr
        return proc.stdout

    def kill_monitor(self) -> int:
        """SIGKILL the fleet's monitor (whoever holds its lock, should another
        have taken over meanwhile) until the lock is free; the first pid killed."""
        lock = monitorproc.lock_file(self.home, HOST)
        killed: list[int] = []
        assert monitorproc.is_running(self.home, HOST), "no monitor to kill"

        def gone() -> bool:
            if not monitorproc.is_running(self.home, HOST):
                return True
            with contextlib.suppress(ValueError, IndexError, ProcessLookupError):
                pid = int(lock.read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            return False

        try:
            retry_until(gone, message="the monitor's lock free")
        except AssertionError as exc:
            states = {pid: _proc_state(pid) for pid in killed}
            raise AssertionError(f"{exc}; killed, with their state now: {states}") from None
        return killed[0] if killed else 0  # 0: it ended by itself meanwhile

    def spawn_ready(self, name: str, *args: str) -> None:
        """Spawn and wait until the agent takes input (messages to a starting
        agent are queued, not typed)."""
        self.ok("spawn", name, *args)
        self.ok("wait", name, "--timeout", "60")

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def records(self) -> list[str]:
        path = self.tmp / "record.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["text"] for line in path.read_text().splitlines() if line]


class Router:
    """A fake-API script per agent (told apart by the system prompt tmuxorch
    gives each); anything else (titles, ...) gets "Done."."""

    def __init__(self, *names: str) -> None:
        self.scripts: dict[str, deque[ScriptEntry]] = {name: deque() for name in names}

    def __call__(self, body: dict[str, Any]) -> Response:
        system = json.dumps(body.get("system", ""))
        for name, script in self.scripts.items():
            if f"You are agent '{name}'" in system and body.get("tools") and script:
                entry = script.popleft()
                return entry(body) if callable(entry) else entry
        return text("Done.")


def agent_requests(api: FakeAnthropic, name: str) -> list[dict[str, Any]]:
    """The turn requests agent ``name`` sent."""
    return [
        r.body
        for r in api.turn_requests()
        if f"You are agent '{name}'" in json.dumps(r.body.get("system", ""))
    ]


@dataclass
class ClaudeFleet:
    """A fleet whose ``claude`` profile runs the real Claude Code against the fake API."""

    env: Env
    api: FakeAnthropic
    project: Path

    def spawn(self, name: str, *args: str) -> dict[str, Any]:
        self.env.ok("spawn", name, "--agent", "claude", "--cwd", str(self.project), *args)
        self.env.ok("wait", name, "--timeout", "90")
        status: dict[str, Any] = self.env.json("status", name)
        return status

    DRAFT = "a draft by a person"

    def spawn_with_draft(self, name: str) -> Callable[[], bool]:
        """Spawn ``name`` with ``DRAFT`` typed into its composer as a person
        would; returns the check that the draft shows there."""
        self.spawn(name)
        pane = str(self.env.json("status", name)["pane_id"])
        tmux = self.env.fleet().tmux
        tmux.send_literal(pane, self.DRAFT)

        def shown() -> bool:
            return f"❯\xa0{self.DRAFT}" in tmux.capture(pane)

        retry_until(shown, message="draft shown")
        return shown


@pytest.fixture
def claude_fleet(env: Env, tmp_path: Path) -> Iterator[ClaudeFleet]:
    """Real Claude Code (pinned in CI) on the env's fleet, offline."""
    claude = require_claude()
    project = tmp_path / "project"
    project.mkdir()
    with FakeAnthropic() as api:
        claude_vars = claude_env(
            tmp_path / "claude-config", project, api.url, home=tmp_path / "claude-home"
        )
        config = base_config(tmp_path)
        config["agents"]["claude"] = {"command": claude, "env": claude_vars}
        env.write_config(config)
        env.unset = CLAUDE_ENV_UNSET
        yield ClaudeFleet(env=env, api=api, project=project)


@pytest.fixture
def env(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    home = tmp_path / "home"
    config_path = tmp_path / "config.yaml"
    assert server.socket_name
    fleet_env = Env(home=home, socket=server.socket_name, config_path=config_path, tmp=tmp_path)
    fleet_env.write_config(base_config(tmp_path))
    for key in list(os.environ):
        if key.startswith("TMUXORCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TMUXORCH_CONFIG", str(config_path))
    yield fleet_env
    # Kill tmux first: the monitor exits once the server is gone, and a
    # monitor still alive after that is a leak this test must not hide.
    if server.is_alive():
        server.kill()
    try:
        retry_until(
            lambda: not monitorproc.is_running(home, HOST),
            timeout=30,
            message="monitor exits with tmux",
        )
    finally:
        pid_file = monitorproc.lock_file(home, HOST)
        if monitorproc.is_running(home, HOST) and pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers from what a test uses, so `-m unit` runs the fast part in seconds
    without every test file having to repeat what its fixtures already say."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & {"pg_server", "pg_url"} or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.postgres)
        elif "claude_fleet" in used or item.get_closest_marker("claude"):
            item.add_marker(pytest.mark.claude)
            item.add_marker(pytest.mark.tmux)
        elif used & {"server", "session", "env"} or item.get_closest_marker("tmux"):
            item.add_marker(pytest.mark.tmux)
        else:
            item.add_marker(pytest.mark.unit)
