"""No string becomes code: every user string that reaches a tmux argument tmux
expands as a format (or a shell runs) arrives literally.

The proof is twofold: a ``#(touch MARKER)`` (or ``$(touch MARKER)``) never
creates MARKER, and the thing named really is the thing used: the pane's
process runs in the literal directory, the session has the literal name, the
log at the literal path gets the output.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import HOST, retry_until
from tests.test_mcp import Client, serve
from tmuxorch.claude import launch as claude
from tmuxorch.fleet import monitorproc
from tmuxorch.store.opening import open_store
from tmuxorch.tmux import server as tmux

# Directory names (no "/"), each run through every path below.
PAYLOADS = [
    pytest.param("d#(touch MARKER)x", id="job"),
    pytest.param("d#{pane_id}x", id="format"),
    pytest.param("d##x", id="double-hash"),
    pytest.param("build#Debug", id="hash"),
    pytest.param("d%H%%x", id="strftime"),
    pytest.param("d;x;", id="semicolons"),
    pytest.param("d$(touch MARKER)`touch MARKER`x", id="shell"),
    pytest.param("a dir 'q' \"x\"", id="spaces-quotes"),
    pytest.param("..d..", id="dots"),
]
EVERYTHING = "e #(touch MARKER) #{pane_id} ## %H $(touch MARKER) ;"


@pytest.fixture(autouse=True)
def _in_tmp(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """tmux runs a ``#()`` job in its client's directory: keep a MARKER where
    ``_markers`` looks (and out of the repository)."""
    monkeypatch.chdir(env.tmp)


def _markers(root: Path) -> list[Path]:
    return list(root.rglob("MARKER"))


def _pane_cwd(env: Env, name: str) -> str:
    pid = env.json("status", name)["pid"]
    return os.readlink(f"/proc/{pid}/cwd")


def _started_in(env: Env, name: str, where: Path) -> None:
    assert env.json("status", name)["cwd"] == str(where)
    assert _pane_cwd(env, name) == str(where)
    assert _markers(env.tmp) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_spawn_cwd_is_literal(env: Env, payload: str) -> None:
    where = env.tmp / payload
    where.mkdir()
    env.ok("spawn", "c1", "--cwd", str(where))
    _started_in(env, "c1", where.resolve())


def _spawn_from_caller(env: Env, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(where)
    env.ok("spawn", "c1")


def _resume(env: Env, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env.ok("spawn", "c1", "--cwd", str(where))
    env.ok("kill", "c1")
    env.ok("resume", "c1")


def _up(env: Env, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env.ok("spawn", "c1", "--cwd", str(where))
    Server(socket_name=env.socket).kill()
    retry_until(
        lambda: not monitorproc.is_running(env.home, HOST), message="monitor gone with tmux"
    )
    assert json.loads(env.ok("up", "--json"))["restored"] == ["c1"]


def _batch(env: Env, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"name": "c1", "prompt": "true", "agent": "shell", "cwd": str(where)}]
    path = env.tmp / "tasks.yaml"
    path.write_text(yaml.safe_dump(tasks))
    env.ok("batch", str(path), "--json", timeout=300)


def _mcp(env: Env, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(client: Client) -> None:
        await client.ok("spawn_agent", name="c1", profile="shell", cwd=str(where))

    serve(env, body)


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(_spawn_from_caller, id="caller-cwd"),
        pytest.param(_resume, id="resume"),
        pytest.param(_up, id="up"),
        pytest.param(_batch, id="batch"),
        pytest.param(_mcp, id="mcp-spawn_agent"),
    ],
)
def test_every_way_to_start_keeps_the_cwd_literal(
    env: Env, monkeypatch: pytest.MonkeyPatch, start: Any
) -> None:
    where = env.tmp / EVERYTHING
    where.mkdir()
    start(env, where, monkeypatch)
    _started_in(env, "c1", where)


@pytest.mark.parametrize("payload", [*PAYLOADS, pytest.param("x;", id="trailing-semicolon")])
def test_env_values_are_literal(env: Env, payload: str) -> None:
    env.ok("spawn", "c1", "--env", f"V={payload}")
    pid = env.json("status", "c1")["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"V={payload}".encode() in environ
    assert _markers(env.tmp) == []


@pytest.mark.parametrize("name", ["a#(touch MARKER)", "a#{pane_id}", "a##", "a%H", "a;b", "a b"])
def test_names_that_tmux_would_expand_are_refused(env: Env, name: str) -> None:
    proc = env.cli("spawn", name)
    assert proc.returncode == 1 and "invalid agent name" in proc.stderr
    assert "Traceback" not in proc.stderr and env.json("list") == []


def test_session_name_is_literal(env: Env, server: Server) -> None:
    config = base_config(env.tmp)
    config["session"] = "s #(touch MARKER) #{pane_id} ## %H"
    env.write_config(config)
    env.ok("spawn", "c1")
    env.ok("spawn", "c2")  # a second window finds the session by its literal name
    assert server.cmd("list-sessions", "-F", "#{session_name}").stdout == [config["session"]]
    assert {a["state"] for a in env.json("list")} <= {"starting", "idle", "busy"}
    assert _markers(env.tmp) == []


def test_home_path_reaches_log_and_status_line_literally(env: Env, server: Server) -> None:
    """The home names the pipe-pane log and is in the status line's command."""
    weird = Env(
        home=env.tmp / EVERYTHING / "home",
        socket=env.socket,
        config_path=env.config_path,
        tmp=env.tmp,
    )
    try:
        weird.ok("spawn", "c1", "echo log-$((6*7))")
        log = weird.home / "logs" / "c1.log"
        retry_until(lambda: log.exists() and b"log-42" in log.read_bytes(), message="pane log")
        # A real client (attached from a pane of a second session) draws the
        # status line, which runs the command with the home in it.
        client = f"env -u TMUX {tmux.binary()} -L {env.socket} attach -r -t =tmuxorch"
        server.cmd("new-session", "-d", "-s", "viewer", "-x", "120", "-y", "5", client)
        retry_until(
            lambda: "0 busy" in "".join(server.cmd("capture-pane", "-p", "-t", "=viewer:").stdout),
            message="the status line shows the fleet",
        )
        assert _markers(env.tmp) == []
    finally:
        server.kill()
        retry_until(lambda: not monitorproc.is_running(weird.home, HOST), message="monitor exits")


def test_a_lone_program_path_is_not_shell_code(env: Env) -> None:
    """tmux runs a one-word command through ``sh -c``."""
    where = env.tmp / "my $(touch MARKER) bin"
    where.mkdir()
    program = where / "agent"
    program.symlink_to("/bin/bash")
    config = base_config(env.tmp)
    config["agents"]["lone"] = {"command": shlex.quote(str(program))}
    env.write_config(config)
    env.ok("spawn", "c1", "--agent", "lone")
    pid = env.json("status", "c1")["pid"]
    bash = os.path.realpath("/bin/bash")
    retry_until(lambda: os.readlink(f"/proc/{pid}/exe") == bash, message="the program runs")
    assert _markers(env.tmp) == []


def test_hook_and_status_commands_run_from_any_install_path(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claude's hooks and tmux's status line run tmuxorch by absolute path
    through a shell: an install path with formats or shell syntax still works."""
    where = env.tmp / EVERYTHING / "bin"
    where.mkdir(parents=True)
    (where / "tmuxorch").symlink_to(Path(sys.executable).with_name("tmuxorch"))
    monkeypatch.setattr(sys, "executable", str(where / "python"))
    command = claude.executable()
    env.home.mkdir(mode=0o700)
    open_store(env.home).close()
    hooks = claude.hook_settings(command)["hooks"]
    stop = hooks["Stop"][0]["hooks"][0]["command"]
    environ = {**env.environ, "TMUXORCH_AGENT": "nobody-here"}
    ran = subprocess.run(["sh", "-c", stop], input=b"{}", env=environ, check=False)
    assert ran.returncode == 0
    status = claude.status_line_command(command, env.home, env.socket)
    out = subprocess.run(["sh", "-c", status], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 busy · 0 waiting · 0 error"
    assert _markers(env.tmp) == []
