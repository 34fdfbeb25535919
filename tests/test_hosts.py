"""One fleet across several hosts, as the README's recipe runs it on one
machine: each host a home, a config.yaml naming the shared PostgreSQL
database, a tmux socket and a ``TMUXORCH_HOST`` of its own, and its own
``tmuxorch daemon``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import agent_row, retry_until
from tests.pgserver import PgServer
from tmuxorch.core.config import resolve
from tmuxorch.core.records import now
from tmuxorch.daemon import monitor
from tmuxorch.fleet import hosting
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.hosts import host_views
from tmuxorch.store.sqlite.schema import DB_NAME


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


def _cut_off(server: PgServer, url: str, cut: bool) -> None:
    """No connection to the fleet's database (those open are ended), or again."""
    name = url.split("@/", 1)[1].split("?", 1)[0]
    server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'false' if cut else 'true'}")
    if cut:
        server.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )


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


@pytest.mark.postgres
def test_hosts_share_one_fleet_and_a_lost_host_comes_back_with_up(
    hosts: list[Host], tmp_path: Path, pg_server: PgServer, pg_url: str
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

    # The database goes for longer than host.lost_after: the daemons keep
    # their agents, and once it is back no host calls another lost.
    _cut_off(pg_server, pg_url, True)
    try:
        for host in hosts:  # three tries each: longer than host.lost_after (1 + 2 s apart)
            log = host.home / "monitor.log"
            retry_until(
                lambda log=log: log.read_text().count("the store fails") >= 3, message="it fails"
            )
        failed = a.cli("list")
        assert failed.returncode == 1 and failed.stderr.count("\n") == 1
    finally:
        _cut_off(pg_server, pg_url, False)
    assert json.loads(a.ok("send", "boss", "back", "--wait", "--json"))["status"] == "delivered"
    retry_until(lambda: {r["state"] for r in a.json("hosts")} == {"up"}, message="both up")
    assert {n: r["state"] for n, r in b.by_name("list").items()} == {
        "boss": "idle", "w1": "idle", "w2": "idle",
    }  # fmt: skip
    events = [json.loads(line) for line in a.ok("events", "--json").splitlines()]
    assert len([e for e in events if e["event"] == "host-lost"]) == 1

    # A host name that breaks the name rule: one line, exit 1.
    bad = a.cli("list", env={"TMUXORCH_HOST": "no such/host"})
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "TMUXORCH_HOST: 'no such/host' is not a host name" in bad.stderr


# (id, the host's row: its name, seconds since its last heartbeat, its state;
# the hosts the daemon of host "a" calls lost)
SILENT = [
    ("silent past host.lost_after", ("b", 40, "up"), ["b"]),
    ("heard within host.lost_after", ("b", 10, "up"), []),
    ("already called lost", ("b", 40, "lost"), []),
    ("this host, however silent", ("a", 40, "up"), []),
]  # fmt: skip


@pytest.mark.parametrize(("row", "decided"), [s[1:] for s in SILENT], ids=[s[0] for s in SILENT])
def test_a_daemon_calls_lost_the_other_hosts_silent_for_lost_after(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    row: tuple[str, float, str],
    decided: list[str],
) -> None:
    monkeypatch.setenv("TMUXORCH_HOST", "a")
    config = tmp_path / "config.yaml"
    config.write_text("host:\n  lost_after: 30\n")
    settings = resolve(str(tmp_path / "home"), f"hosts-{os.getpid()}", str(config))
    name, silent_for, state = row
    with Fleet(settings) as fleet:
        fleet.store.heartbeat(name, "", 1, 0.0)
        fleet.store.insert_agent(agent_row("w", host=name, state="busy", parent="p"))
        fleet.store.insert_agent(agent_row("p", host="a"))
    with contextlib.closing(sqlite3.connect(tmp_path / "home" / DB_NAME)) as db, db:
        db.execute("UPDATE hosts SET last_seen = ?, state = ?", (now() - silent_for, state))
    with Fleet(settings) as fleet:
        assert hosting.lose_silent(fleet) == decided
        views = {view.name: view for view in host_views(fleet)}
        assert views[name].state == ("up" if silent_for < 30 and state == "up" else "lost")
        worker = fleet.agent("w")
        assert (worker.state == "exited") is bool(decided)
        notes = [m.body for m in fleet.store.messages("p")]
        assert notes == (["[tmuxorch] child w is exited (host b lost)"] if decided else [])


@pytest.mark.postgres
def test_at_idle_only_the_heartbeat_wakes_the_daemon(env: Env, pg_url: str) -> None:
    """An idle fleet: the daemon wakes for its heartbeat and gives one each
    time (on PostgreSQL a heartbeat notifies no one; on SQLite its write
    wakes every waiter on the WAL file, this daemon's too)."""
    config = {**base_config(env.tmp), "store": {"url": pg_url}, "host": {"heartbeat": 0.1}}
    env.write_config(config)
    env.spawn_ready("w")
    env.kill_monitor()  # this test runs the daemon in this process, to count
    settings = resolve(str(env.home), env.socket, str(env.config_path))
    made: list[monitor.Monitor] = []

    def run() -> None:  # made in its thread: SQLite connections belong to one
        made.append(monitor.Monitor(settings, stay=True))
        made[0].run()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        retry_until(lambda: made and made[0].woke["beat"] >= 10, message="ten heartbeats")
    finally:
        retry_until(lambda: made, message="the daemon made")
        made[0].stop()
        thread.join(timeout=30)
    daemon = made[0]
    woke = dict(daemon.woke)
    beats = woke.pop("beat")
    woke.pop("stop", None)
    # Beyond the heartbeats: the first look at the agent, and its start's
    # adoption of agents of no host (a statement on agents notifies).
    assert set(woke) <= {"timer", "store"} and woke["timer"] <= beats + 1, woke
    assert woke.get("store", 0) <= 1, woke
