"""Commands on one host acting on another host's agents (issue 16): two hosts
on one machine, each its own home, tmux socket and TMUXORCH_HOST, over one
PostgreSQL database. Host b runs its daemon; every command runs on host a,
where nothing of b's tmux is reachable but through b's daemon."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env, Router, agent_requests, base_config
from tests.fakeapi import last_user_text, text, tool_use
from tests.helpers import end_tmux, retry_until
from tests.pgserver import PgServer
from tmuxorch.core.errors import (
    AgentConflict,
    StoreUnreachable,
    TimeoutReached,
    TmuxorchError,
    UnknownAgent,
)
from tmuxorch.core.records import Request
from tmuxorch.fleet.routing import answered_error, failure
from tmuxorch.store.notify import until_reachable, wait_until
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
    # Hosts beyond a and b, by name (each with its agent ``keep-NAME``).
    more: dict[str, dict[str, str]] = field(default_factory=dict)

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

    def requests_for(self, agent: str) -> list[Request]:
        with open_store(self.env.home, url=self.url) as store:
            return [r for r in store.requests("b") if r.agent == agent]

    def daemon_of_b(self) -> int | None:
        return self.daemon_of("b")

    def daemon_of(self, host: str) -> int | None:
        with open_store(self.env.home, url=self.url) as store:
            return next((h.pid for h in store.hosts() if h.name == host), None)


def _host_env(env: Env, name: str) -> dict[str, str]:
    return {
        "TMUXORCH_HOST": name,
        "TMUXORCH_HOME": str(env.tmp / f"home-{name}"),
        "TMUXORCH_SOCKET": f"{env.socket}-{name}",
    }


@contextlib.contextmanager
def two_hosts(
    env: Env, config: dict[str, Any], url: str, more: tuple[str, ...] = ()
) -> Iterator[Hosts]:
    """``config`` on one database for host a (the env's home and socket) and
    host b (its own, with a shell agent ``keep`` and so its daemon); each of
    ``more`` as b, its agent ``keep-NAME``."""
    env.write_config({**config, "store": {"url": url}, "host": {"heartbeat": 0.2, "lost_after": 2}})
    b = _host_env(env, "b")
    a = {"TMUXORCH_HOST": "a", "TMUXORCH_SOCKET": env.socket}
    made = Hosts(env=env, a=a, b=b, url=url, more={name: _host_env(env, name) for name in more})
    daemons: list[int] = []
    try:
        for name, host in [("b", b), *made.more.items()]:
            env.ok("spawn", "keep" if name == "b" else f"keep-{name}", "--agent", "shell", env=host)
            pid = retry_until(functools.partial(made.daemon_of, name), message=f"{name}'s daemon")
            daemons.append(pid)
        yield made
    finally:
        for host in [b, *made.more.values()]:
            end_tmux(host["TMUXORCH_SOCKET"])
        for daemon in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(daemon, signal.SIGKILL)


@pytest.fixture
def hosts(env: Env, pg_url: str, tmp_path: Path) -> Iterator[Hosts]:
    with two_hosts(env, base_config(tmp_path), pg_url) as made:
        yield made


def test_commands_on_one_host_act_on_another_hosts_agent(hosts: Hosts) -> None:
    """spawn --host, send, approve, output, stop, resume, kill and rm from host a
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
    log = Path(hosts.b["TMUXORCH_HOME"], "logs", "w.log")
    assert log.exists()
    hosts.ok("rm", "w")  # its record, and its files on b
    assert not log.exists()

    daemon = hosts.daemon_of_b()
    assert daemon is not None
    os.kill(daemon, signal.SIGSTOP)  # silent: lost while a command waits on it
    try:
        interrupted = subprocess.Popen(
            [sys.executable, "-m", "tmuxorch", "kill", "keep"],
            env={**hosts.env.environ, **hosts.a}, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        retry_until(lambda: hosts.requests_for("keep"), message="the kill asked")
        interrupted.send_signal(signal.SIGINT)  # Ctrl-C
        interrupted.wait(timeout=60)
        waited = hosts.on_a("stop", "keep")
    finally:
        os.kill(daemon, signal.SIGCONT)
    assert waited.returncode == 1 and "host 'b' is lost" in waited.stderr
    asked = [(r.op, r.status, r.error) for r in hosts.requests_for("keep")]
    assert asked == [
        ("kill", "failed", "the asking command was interrupted"),
        ("stop", "failed", "host 'b' lost"),
    ]  # neither carried out, when b's daemon comes back
    assert "keep" in hosts.windows(hosts.b)

    os.kill(daemon, signal.SIGKILL)

    def refused() -> str | None:
        tried = hosts.on_a("spawn", "y", "--host", "b", "--agent", "fake")
        return tried.stderr if tried.returncode == 1 else None

    lost = retry_until(refused, message="host b lost")
    assert "host 'b' is lost" in lost and lost.count("\n") == 1
    assert [agent["name"] for agent in json.loads(hosts.ok("list", "--json"))] == ["keep"]


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

        answering = threading.Thread(target=answer)

        def answered() -> Request | None:
            if answering.ident is None:
                answering.start()  # the restart comes once the wait is under way
            request = waiter.get_request(asked)
            return request if request is not None and request.status == "done" else None

        try:
            done = wait_until(waiter, answered, 60, lambda: "no answer")
        finally:
            answering.join()
        assert done.result == "the screen"


def test_a_daemons_answer_is_written_through_a_restart_of_the_database_server(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """What a daemon did is done: its answer waits for the server to be back."""
    with open_store(tmp_path / "home", url=pg_url) as store:
        asked = store.add_request("b", "w", "output", {})
        assert store.claim_request("b", 1) is not None
        pg_server.restart()
        assert until_reachable(lambda: store.finish_request(asked, "the screen"), 60)
        done = store.get_request(asked)
        assert done is not None and (done.status, done.result) == ("done", "the screen")


# (id, what the carrying host raised, what the asking host raises)
ANSWERED_ERRORS = [
    ("wrong state", AgentConflict("agent 'w' is idle"), AgentConflict),
    ("unknown agent", UnknownAgent("no agent named 'w'"), UnknownAgent),
    ("timed out", TimeoutReached("w is busy"), TimeoutReached),
    ("not tmuxorch's own kind", type("Odd", (TmuxorchError,), {})("odd"), TmuxorchError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raised", "kind"), [e[1:] for e in ANSWERED_ERRORS], ids=[e[0] for e in ANSWERED_ERRORS]
)
def test_an_error_on_the_carrying_host_is_the_same_kind_on_the_asking_one(
    raised: TmuxorchError, kind: type[TmuxorchError]
) -> None:
    """Its exit code (124 for a timeout) and HTTP status go with it."""
    error, about = failure(raised)
    answer = Request(id=1, ts=0.0, host="b", agent="w", op="approve", args={}, status="failed",
                     result=about, error=error)  # fmt: skip
    got = answered_error(answer)
    assert type(got) is kind and str(got) == str(raised)


def _tried(call: Callable[[], T]) -> T | None:
    """``call()``, or None while the server cannot be reached."""
    try:
        return call()
    except StoreUnreachable:
        return None


def test_messages_queued_across_hosts_arrive_once_in_order_through_a_database_restart(
    hosts: Hosts, pg_server: PgServer, tmp_path: Path
) -> None:
    """100 messages queued for shell agents of two hosts, the database server
    restarted as they go out: each daemon delivers its agents' messages, each
    runs once, in order."""
    out = tmp_path / "out"
    out.mkdir()
    agents = {"a1": hosts.a, "a2": hosts.a, "b1": hosts.b, "b2": hosts.b}
    for name, host in agents.items():
        hosts.env.ok("spawn", name, "--agent", "shell", env=host)
    for name, host in agents.items():
        hosts.env.ok("wait", name, "--timeout", "60", env=host)
    with open_store(hosts.env.home, url=hosts.url) as store:
        with store.transaction():
            for n in range(25):
                for name in agents:
                    store.add_message(None, name, "sequential", f"echo {n} >> {out / name}")
        # Restarted while a daemon is at a delivery: its next write meets the break.
        retry_until(lambda: store.claimed_messages(), interval=0.002, message="a delivery")
        pg_server.restart()

        def settled() -> bool:
            pending = _tried(lambda: [m for m in store.messages() if m.status in MOVING])
            return pending == []

        retry_until(settled, timeout=120, message="every message delivered")
        statuses = {m.status for m in store.messages() if m.recipient in agents}
    for name in agents:
        assert (out / name).read_text().split() == [str(n) for n in range(25)], name
    assert statuses == {"delivered"}


# A message's statuses before it settles.
MOVING = ("queued", "delivering")


def test_a_claude_manager_is_woken_by_a_worker_it_spawned_on_another_host(
    claude_fleet: ClaudeFleet, pg_url: str
) -> None:
    """The issue's manager: a Claude on host a spawns a worker on host b
    (``spawn --host``), waits with --notify, is woken when the worker, whose
    message b's daemon typed, is idle, and routes the answer to a worker on
    host c."""
    env = claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    with two_hosts(env, config, pg_url, more=("c",)) as hosts:
        router = Router("manager")
        claude_fleet.api.default = router
        tmuxorch = f"{shlex.quote(sys.executable)} -m tmuxorch"
        router.scripts["manager"].extend(
            [
                tool_use(
                    "Bash",
                    {
                        "command": f"{tmuxorch} spawn w --host b --agent shell 'echo 42' && "
                        f"{tmuxorch} wait w --notify",
                        "description": "fleet",
                    },
                ),
                text("I will wait."),
                # Woken: the answer goes on to the worker on host c.
                tool_use(
                    "Bash",
                    {"command": f"{tmuxorch} send keep-c 'echo routed 42'", "description": "route"},
                ),
                *[text("Noted.")] * 4,
            ]
        )
        hosts.ok("spawn", "manager", "--agent", "claude", "--cwd", str(claude_fleet.project),
                 "--permission-mode", "bypassPermissions", "--env", "IS_SANDBOX=1")  # fmt: skip
        hosts.ok("wait", "manager", "--timeout", "90")
        hosts.ok("send", "manager", "get 42 from a worker on host b")

        def woken() -> bool:
            asked = [last_user_text(body) for body in agent_requests(claude_fleet.api, "manager")]
            return any("wait for w (idle) is over" in prompt for prompt in asked)

        retry_until(woken, timeout=120, message="manager woken by w")
        worker = hosts.json("status", "w")
        assert (worker["host"], worker["parent"]) == ("b", "manager")
        assert "w" in hosts.windows(hosts.b) and "42" in hosts.ok("output", "w")
        c = hosts.more["c"]
        retry_until(lambda: "routed 42" in env.ok("output", "keep-c", env=c), message="on c")
        assert "keep-c" in hosts.windows(c) and "keep-c" not in hosts.windows(hosts.a)
