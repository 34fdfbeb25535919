"""Spawning shell agents into windows of the private server, and their lifecycle."""

from __future__ import annotations

import concurrent.futures
import json
import stat
import sys
from pathlib import Path

from libtmux.server import Server

from tests.conftest import Env
from tests.helpers import retry_until


def test_spawn_list_status_output_kill_rm(env: Env, server: Server) -> None:
    out = env.ok("spawn", "a1", "echo hello-$((6*7))", "--env", "EXTRA=x y;z")
    assert "spawned a1" in out
    window = server.sessions[0].windows[0]
    assert window.name == "a1"
    retry_until(lambda: "hello-42" in env.ok("output", "a1"), message="prompt ran")

    [agent] = env.json("list")
    expected_keys = {
        "name", "profile", "state", "detail", "since", "cwd", "parent", "pane_id", "pid",
        "session_id", "created", "turns", "tokens", "cost_usd", "locks", "queued",
    }  # fmt: skip
    assert expected_keys <= set(agent)
    assert agent["name"] == "a1" and agent["profile"] == "shell"
    assert agent["pane_id"].startswith("%") and agent["since"].endswith("+00:00")
    assert set(agent["tokens"]) == {"input", "output", "cache_read", "cache_creation"}

    env.ok("send", "a1", 'echo "$TMUXORCH_AGENT|$TMUXORCH_SOCKET|$EXTRA"')
    retry_until(
        lambda: f"a1|{env.socket}|x y;z" in env.ok("output", "a1"), message="pane environment"
    )
    log = env.home / "logs" / "a1.log"
    retry_until(lambda: b"hello-42" in log.read_bytes(), message="pipe-pane log")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600

    status = env.json("status", "a1")
    assert status["name"] == "a1" and status["children"] == []
    assert "killed a1" in env.ok("kill", "a1")
    assert env.json("status", "a1")["state"] == "exited"
    assert "hello-42" in env.ok("output", "a1")  # the last screen is kept
    assert not [w for w in server.windows if w.name == "a1"]
    env.ok("rm", "a1")
    assert env.json("list") == []
    assert not log.exists()
    events = [e["event"] for e in map(json.loads, env.ok("events", "--json").splitlines())]
    assert events[0] == "spawned" and "message" in events and "killed" in events
    assert events[-1] == "removed"


def test_exited_agent_keeps_status(env: Env) -> None:
    env.ok("spawn", "quitter", "exit 3")
    retry_until(lambda: env.json("status", "quitter")["state"] == "exited", message="exited")
    status = env.json("status", "quitter")
    assert status["exit_status"] == 3 and "exit status 3" in status["detail"]
    proc = env.cli("send", "quitter", "hello")
    assert proc.returncode == 1 and "exited" in proc.stderr
    with env.fleet() as fleet:
        message = fleet.store.get_message(2)  # 1 was the prompt "exit 3"
        assert message is not None and message.status == "failed"
        assert message.error == "agent 'quitter' is exited"


def test_odd_home_path_logs(server: Server, tmp_path: Path) -> None:
    """pipe-pane expands formats: a home with '#', '%', quotes and spaces still logs."""
    home = tmp_path / "we#ird %Y 'q' $(x) home"
    env = Env(
        home=home, socket=str(server.socket_name), config_path=tmp_path / "c.yaml", tmp=tmp_path
    )
    env.write_config({"default_agent": "shell", "agents": {"shell": {"command": "/bin/sh"}}})
    env.ok("spawn", "odd", "echo logged-ok")
    log = home / "logs" / "odd.log"
    retry_until(lambda: log.exists() and b"logged-ok" in log.read_bytes(), message="log")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_twenty_concurrent_spawns_and_fifty_sends(env: Env, server: Server) -> None:
    names = [f"w{i:02d}" for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda n: env.cli("spawn", n), names))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    listed = env.json("list")
    assert sorted(a["name"] for a in listed) == names
    assert len({a["pane_id"] for a in listed}) == 20
    assert sorted(w.name for w in server.windows) == names

    # Each message appends its own line to its agent's file: the files count
    # deliveries, so a message typed twice (or lost) shows, not just "seen".
    out = env.tmp / "out"
    out.mkdir()
    jobs = [(names[i % 20], f"msg-{i}-done") for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        sends = list(
            pool.map(
                lambda j: env.cli("send", j[0], f"echo {j[1]} >> {out / j[0]}", "--json"), jobs
            )
        )
    assert [s.returncode for s in sends] == [0] * 50, [s.stderr for s in sends if s.returncode]
    ids = [json.loads(s.stdout)["id"] for s in sends]
    assert len(set(ids)) == 50
    with env.fleet() as fleet:
        retry_until(
            lambda: all(m.status == "delivered" for m in fleet.store.messages()),
            timeout=120,
            message="all fifty delivered",
        )
    env.ok("wait", *names, "--timeout", "120")
    expected = {name: sorted(t for n, t in jobs if n == name) for name in names}
    retry_until(
        lambda: {n: sorted(_lines(out / n)) for n in names} == expected,
        message="each message ran exactly once",
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_parent_from_calling_pane(env: Env) -> None:
    env.ok("spawn", "boss")
    env.ok("spawn", "worker", env={"TMUXORCH_AGENT": "boss"})
    assert env.json("status", "worker")["parent"] == "boss"
    assert env.json("status", "boss")["children"] == ["worker"]
    # A TMUXORCH_AGENT from another fleet is not a parent here.
    env.ok("spawn", "orphan", env={"TMUXORCH_AGENT": "stranger"})
    assert env.json("status", "orphan")["parent"] is None


def test_attach_from_inside_another_tmux(
    env: Env, server: Server, TestServer: type[Server]
) -> None:
    """A client inside an unrelated tmux (libtmux's session) attaches to the fleet."""
    env.ok("spawn", "target")
    outer = TestServer()  # killed and its socket removed after the test
    session = outer.new_session("outer", window_command="/bin/sh")
    pane = session.active_window.active_pane
    assert pane is not None
    exports = " ".join(f"{k}='{v}'" for k, v in env.environ.items() if k.startswith("TMUXORCH"))
    pane.send_keys(f"{exports} {sys.executable} -m tmuxorch attach target -r", enter=True)
    fleet = env.fleet()
    clients = retry_until(
        lambda: fleet.tmux.cmd("list-clients", "-F", "#{client_readonly} #{window_name}"),
        message="a client attached",
    )
    assert clients == ["1 target"]
