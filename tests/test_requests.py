"""Commands on one host acting on another host's agents (issue 16): two hosts
on one machine, each its own home, tmux socket and TMUXORCH_HOST, over one
PostgreSQL database. Host b runs its daemon; every command runs on host a,
where nothing of b's tmux is reachable but through b's daemon."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import Env, base_config
from tests.helpers import retry_until
from tests.pgserver import PgServer
from tmuxorch.core.errors import StoreUnreachable
from tmuxorch.core.records import Request
from tmuxorch.store.notify import wait_until
from tmuxorch.store.opening import open_store

T = TypeVar("T")


@dataclass
class Hosts:
    """Host a (the env's home and socket) and host b (its own, its agent
    ``keep`` and so its daemon)."""

    env: Env
    a: dict[str, str]
    b: dict[str, str]
    url: str

    def on_a(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.env.cli(*args, env=self.a)

    def ok(self, *args: str) -> str:
        return self.env.ok(*args, env=self.a)

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def windows(self, host: dict[str, str]) -> list[str]:
        listed = subprocess.run(
            ["tmux", "-L", host["TMUXORCH_SOCKET"], "list-windows", "-a", "-F", "#W"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return listed.stdout.split()

    def daemon_of_b(self) -> int | None:
        with open_store(self.env.home, url=self.url) as store:
            return next((h.pid for h in store.hosts() if h.name == "b"), None)


@pytest.fixture
def hosts(env: Env, pg_url: str, tmp_path: Path) -> Iterator[Hosts]:
    config = base_config(tmp_path)
    config["store"] = {"url": pg_url}
    config["host"] = {"heartbeat": 0.2, "lost_after": 2}
    env.write_config(config)
    b = {
        "TMUXORCH_HOST": "b",
        "TMUXORCH_HOME": str(tmp_path / "home-b"),
        "TMUXORCH_SOCKET": f"{env.socket}-b",
    }
    a = {"TMUXORCH_HOST": "a", "TMUXORCH_SOCKET": env.socket}
    made = Hosts(env=env, a=a, b=b, url=pg_url)
    try:
        env.ok("spawn", "keep", "--agent", "shell", env=b)  # and so b's daemon
        daemon = retry_until(made.daemon_of_b, message="b's daemon heartbeats")
        yield made
    finally:
        subprocess.run(["tmux", "-L", b["TMUXORCH_SOCKET"], "kill-server"], capture_output=True)
        with contextlib.suppress(ProcessLookupError, UnboundLocalError):
            os.kill(daemon, signal.SIGKILL)


def test_commands_on_one_host_act_on_another_hosts_agent(hosts: Hosts) -> None:
    """spawn --host, send, approve, output, stop, resume and kill from host a
    act in host b's tmux; a host unknown or lost fails in one line, having
    made nothing, and so does a command whose host falls silent as it waits."""
    unknown = hosts.on_a("spawn", "x", "--host", "nowhere", "--agent", "fake")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
    assert "no host named 'nowhere'" in unknown.stderr

    spawned = json.loads(hosts.ok("spawn", "w", "--host", "b", "--agent", "fake", "--json"))
    assert spawned["host"] == "b"
    assert "w" in hosts.windows(hosts.b) and hosts.windows(hosts.a) == []
    hosts.ok("wait", "w", "--timeout", "60")
    attach = hosts.on_a("attach", "w")
    assert attach.returncode == 1 and "runs on host 'b': attach there" in attach.stderr

    hosts.ok("send", "w", "ask to delete it")  # delivered by b's daemon
    hosts.ok("wait", "w", "--until", "waiting", "--timeout", "60")
    hosts.ok("approve", "w")
    retry_until(lambda: "approved" in hosts.ok("output", "w"), message="approved on b's screen")
    assert hosts.env.records() == ["ask to delete it"]

    hosts.ok("stop", "w")
    assert hosts.json("status", "w")["state"] == "stopped"
    assert "w" not in hosts.windows(hosts.b)
    hosts.ok("resume", "w")
    assert "w" in hosts.windows(hosts.b)
    hosts.ok("kill", "w")
    killed = hosts.json("status", "w")
    assert (killed["state"], killed["detail"]) == ("exited", "killed")
    assert "w" not in hosts.windows(hosts.b) and hosts.windows(hosts.a) == []

    daemon = hosts.daemon_of_b()
    assert daemon is not None
    os.kill(daemon, signal.SIGSTOP)  # silent: lost while a command waits on it
    try:
        waited = hosts.on_a("stop", "keep")
    finally:
        os.kill(daemon, signal.SIGCONT)
    assert waited.returncode == 1 and "host 'b' is lost" in waited.stderr
    with open_store(hosts.env.home, url=hosts.url) as store:
        (asked,) = [r for r in store.requests("b") if r.agent == "keep"]
    assert (asked.status, asked.error) == ("failed", "host 'b' lost")  # never carried out
    assert "keep" in hosts.windows(hosts.b)

    os.kill(daemon, signal.SIGKILL)

    def refused() -> str | None:
        tried = hosts.on_a("spawn", "y", "--host", "b", "--agent", "fake")
        return tried.stderr if tried.returncode == 1 else None

    lost = retry_until(refused, message="host b lost")
    assert "host 'b' is lost" in lost and lost.count("\n") == 1
    assert [agent["name"] for agent in json.loads(hosts.ok("list", "--json"))] == ["keep", "w"]


def test_a_wait_outlives_a_restart_of_the_database_server(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """A command waiting on the store (a request's answer, ``wait``) asks
    again once the restarted server answers, and sees what was written then."""
    home = tmp_path / "home"
    with open_store(home, url=pg_url) as waiter, open_store(home, url=pg_url) as daemon:
        asked = waiter.add_request("b", "w", "output", {})

        def answer() -> None:
            pg_server.restart()
            claimed = retry_until(lambda: _tried(lambda: daemon.claim_request("b", 1)))
            assert claimed is not None
            daemon.finish_request(claimed.id, "the screen")

        def answered() -> Request | None:
            request = waiter.get_request(asked)
            return request if request is not None and request.status == "done" else None

        answering = threading.Thread(target=answer)
        answering.start()
        try:
            done = wait_until(waiter, answered, 60, lambda: "no answer")
        finally:
            answering.join()
        assert done.result == "the screen"


def _tried(call: Callable[[], T]) -> T | None:
    """``call()``, or None while the server cannot be reached."""
    try:
        return call()
    except StoreUnreachable:
        return None
