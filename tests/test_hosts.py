"""One fleet across several hosts, as the README's recipe runs it on one
machine: each host a home, a config.yaml naming the shared PostgreSQL
database, a tmux socket and a ``TMUXORCH_HOST`` of its own, and its own
``tmuxorch daemon``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import retry_until

pytestmark = pytest.mark.postgres


@dataclass
class Host(Env):
    """One machine of the fleet: its commands run as host ``name``."""

    name: str = ""
    daemon: subprocess.Popen[bytes] | None = None

    @property
    def environ(self) -> dict[str, str]:
        return {**super().environ, "TMUXORCH_HOST": self.name}

    def start_daemon(self) -> None:
        """``tmuxorch daemon``, as the recipe starts it on each machine."""
        log = (self.tmp / "daemon.out").open("ab")
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "tmuxorch", "daemon"], env=self.environ, stdout=log, stderr=log
        )

    def kill_daemon(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGKILL)
        if self.daemon is not None:
            self.daemon.wait(timeout=30)

    def by_name(self, command: str) -> dict[str, Any]:
        return {row["name"]: row for row in self.json(command)}


@pytest.fixture
def hosts(env: Env, pg_url: str) -> Iterator[list[Host]]:
    """Hosts a and b: a on the env's tmux server, b on one of its own."""
    made = []
    for name in ("a", "b"):
        tmp = env.tmp / name
        tmp.mkdir()
        config = {
            **base_config(tmp),
            "store": {"url": pg_url},
            "host": {"lost_after": 2, "heartbeat": 0.2},
        }
        socket = env.socket if name == "a" else f"{env.socket}-{name}"
        host = Host(home=tmp / "home", socket=socket, config_path=tmp / "config.yaml", tmp=tmp)
        host.name = name
        host.write_config(config)
        made.append(host)
    try:
        yield made
    finally:
        for host in made:
            host.kill_daemon()
            Server(socket_name=host.socket).kill()


def test_hosts_share_one_fleet_and_a_lost_host_comes_back_with_up(
    hosts: list[Host], tmp_path: Path
) -> None:
    a, b = hosts
    for host in hosts:
        host.start_daemon()
    retry_until(lambda: {h["name"]: h["state"] for h in a.json("hosts")} == {"a": "up", "b": "up"})
    a.spawn_ready("boss", "--agent", "fake")
    b.spawn_ready("w1", "--parent", "boss")
    b.spawn_ready("w2")
    locked = tmp_path / "b-file"
    b.ok("lock", str(locked), env={"TMUXORCH_AGENT": "w1"})

    # Every host sees every host's agents; none takes another's for lost.
    for host in hosts:
        agents = host.by_name("list")
        assert {n: (r["host"], r["state"]) for n, r in agents.items()} == {
            "boss": ("a", "idle"), "w1": ("b", "idle"), "w2": ("b", "idle"),
        }  # fmt: skip
        shown = host.by_name("hosts")
        assert {n: (r["state"], r["agents"]) for n, r in shown.items()} == {
            "a": ("up", 1), "b": ("up", 2),
        }  # fmt: skip
    assert [lock["holder"] for lock in a.json("locks")] == ["w1"]
    assert "HOST" in a.ok("list").splitlines()[0]

    # Host b goes, daemon and tmux server: host a's daemon calls it lost.
    b.kill_daemon()
    Server(socket_name=b.socket).kill()
    retry_until(lambda: a.by_name("hosts")["b"]["state"] == "lost", message="b lost")
    agents = a.by_name("list")
    for name in ("w1", "w2"):
        assert (agents[name]["state"], agents[name]["detail"]) == ("exited", "host b lost")
    assert agents["boss"]["state"] != "exited"  # busy, maybe: the notice below
    assert a.json("locks") == []  # w1's lock went with it
    retry_until(
        lambda: "[tmuxorch] child w1 is exited (host b lost)" in a.records(),
        message="the parent on a is told",
    )
    events = [json.loads(line) for line in a.ok("events", "--json").splitlines()]
    assert [e["detail"] for e in events if e["event"] == "host-lost"] == ["host b lost"]
    assert json.loads(a.ok("send", "boss", "still here", "--wait", "--json"))["status"] == (
        "delivered"
    )

    # b's daemon comes back, and `up` there brings its agents back.
    b.start_daemon()
    retry_until(lambda: a.by_name("hosts")["b"]["state"] == "up", message="b up again")
    assert json.loads(b.ok("up", "--json"))["restored"] == ["w1", "w2"]
    b.ok("wait", "w1", "w2", "--timeout", "60")
    agents = a.by_name("list")
    assert {n: (r["host"], r["state"]) for n, r in agents.items()} == {
        "boss": ("a", "idle"), "w1": ("b", "idle"), "w2": ("b", "idle"),
    }  # fmt: skip

    # A host name that breaks the name rule: one line, exit 1.
    bad = a.cli("list", env={"TMUXORCH_HOST": "no such/host"})
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "TMUXORCH_HOST: 'no such/host' is not a host name" in bad.stderr
