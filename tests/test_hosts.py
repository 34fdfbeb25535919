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
from tests.helpers import HOST, agent_row, end_tmux, retry_until
from tests.pgserver import PgServer
from tests.test_locks import denied, hook, write
from tests.test_mcp import Client, serve
from tmuxorch.core.config import resolve
from tmuxorch.core.records import Lock, now
from tmuxorch.daemon import monitor
from tmuxorch.fleet import hosting, recovery
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.hosts import host_views
from tmuxorch.locks.acquisition import holder_gone
from tmuxorch.locks.keys import lock_key, split_key
from tmuxorch.store.opening import open_store
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
            "locks": {"shared_roots": [str(env.tmp / "shared")]},
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
            end_tmux(host.socket)


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
    # A path is a host's: the same one is free on another host; a path under
    # locks.shared_roots is the whole fleet's.
    locked, shared = tmp_path / "file", tmp_path / "shared" / "file"
    shared.parent.mkdir()
    b.ok("lock", str(locked), env={"TMUXORCH_AGENT": "w1"})
    a.ok("lock", str(locked), env={"TMUXORCH_AGENT": "boss"})
    b.ok("lock", str(shared), env={"TMUXORCH_AGENT": "w2"})
    taken = a.cli("lock", str(shared), env={"TMUXORCH_AGENT": "boss"})
    assert taken.returncode == 1 and "agent w2" in taken.stderr

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
    for host in hosts:
        shown = sorted((lock["path"], lock["host"], lock["holder"]) for lock in host.json("locks"))
        assert shown == [
            (str(locked), "a", "boss"), (str(locked), "b", "w1"), (str(shared), None, "w2"),
        ]  # fmt: skip
    assert "HOST" in a.ok("list").splitlines()[0]

    # Host b goes, daemon and tmux server: host a's daemon calls it lost.
    b.kill_daemon()
    Server(socket_name=b.socket).kill()
    retry_until(lambda: a.by_name("hosts")["b"]["state"] == "lost", message="b lost")
    agents = a.by_name("list")
    for name in ("w1", "w2"):
        assert (agents[name]["state"], agents[name]["detail"]) == ("exited", "host b lost")
    assert agents["boss"]["state"] != "exited"  # busy, maybe: the notice below
    # w1's and w2's locks went with them.
    assert [(lock["path"], lock["host"]) for lock in a.json("locks")] == [(str(locked), "a")]
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


# (id, host of the fleet's locks (None: one host), the path, its lock key)
KEYS = [
    ("one host: the path", None, "/w/a.py", "/w/a.py"),
    ("several: on its host", "a", "/w/a.py", "a:/w/a.py"),
    ("under a shared root", "a", "/srv/nfs/a.py", "/srv/nfs/a.py"),
    ("a shared root itself", "a", "/srv/nfs", "/srv/nfs"),
    ("a sibling of a shared root", "a", "/srv/nfs2/a.py", "a:/srv/nfs2/a.py"),
]  # fmt: skip


@pytest.mark.parametrize(("host", "path", "key"), [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_a_lock_names_a_path_on_a_host_unless_under_a_shared_root(
    host: str | None, path: str, key: str
) -> None:
    assert lock_key(path, "/", host=host, shared=["/srv/nfs/"]) == key
    assert split_key(key) == (None if key == path else host, path)


# (id, the lock's key, the host asking (None: a fleet of one), whether its
# holder, a process that ended on this machine, counts as gone)
GONE = [
    ("one host", "/w/a.py", None, True),
    ("this host's", "a:/w/a.py", "a", True),
    ("another host's: not seen here", "b:/w/a.py", "a", False),
    ("fleet-wide: its holder anywhere", "/srv/nfs/a.py", "a", False),
]  # fmt: skip


@pytest.mark.parametrize(("key", "here", "gone"), [g[1:] for g in GONE], ids=[g[0] for g in GONE])
def test_only_a_lock_of_this_host_is_freed_for_a_process_not_seen_here(
    tmp_path: Path, key: str, here: str | None, gone: bool
) -> None:
    with open_store(tmp_path) as store:
        # A pid above the kernel's highest (pid_max is at most 2**22): no process.
        lock = Lock(path=key, holder="pane:%1", since=0.0, expires=1e12, pid=2**22 + 1)
        assert holder_gone(store, lock, here) is gone


@pytest.mark.postgres
def test_auto_lock_takes_a_path_on_its_agents_host_unless_shared(env: Env, pg_url: str) -> None:
    """Claude's auto-lock hook on a shared store: agents of two hosts write the
    same path, each on its own machine; under a shared root, one waits."""
    shared = env.tmp / "nfs"
    config = {**base_config(env.tmp), "store": {"url": pg_url}, "locks": {"wait": 0.2}}
    env.write_config({**config, "locks": {"wait": 0.2, "shared_roots": [str(shared)]}})
    with open_store(env.home, url=pg_url) as store:
        for name, host in (("x", "a"), ("y", "b")):
            store.insert_agent(agent_row(name, host=host, state="busy"))
    local, fleet_wide = str(env.tmp / "f.py"), str(shared / "f.py")
    for agent, host in (("x", "a"), ("y", "b")):
        took = hook(env, write(local, env.tmp), agent, TMUXORCH_STORE=pg_url, TMUXORCH_HOST=host)
        assert took.returncode == 0 and took.stdout == "", took
    assert (
        hook(env, write(fleet_wide, env.tmp), "x", TMUXORCH_STORE=pg_url, TMUXORCH_HOST="a").stdout
        == ""
    )
    refused = hook(env, write(fleet_wide, env.tmp), "y", TMUXORCH_STORE=pg_url, TMUXORCH_HOST="b")
    assert "agent x" in denied(refused)
    with open_store(env.home, url=pg_url) as store:
        assert sorted((lock.path, lock.holder) for lock in store.locks()) == [
            (fleet_wide, "x"), (f"a:{local}", "x"), (f"b:{local}", "y"),
        ]  # fmt: skip


def test_a_daemon_leaves_the_claims_of_another_hosts_deliverer_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its deliverer's process is on that host: not seen here is not dead."""
    monkeypatch.setenv("TMUXORCH_HOST", "a")
    settings = resolve(str(tmp_path / "home"), f"hosts-{os.getpid()}", None)
    with Fleet(settings) as fleet:
        for name, host in (("here", "a"), ("there", "b")):
            fleet.store.insert_agent(agent_row(name, host=host))
            fleet.store.add_message(None, name, "sequential", "hi")
            fleet.store.claim_next(name, 2**22 + 1)  # no such process on this machine
        recovery.recover_claims(fleet, alive=lambda pid, started: False)
        status = {m.recipient: m.status for m in fleet.store.messages()}
    assert status == {"here": "queued", "there": "delivering"}


def test_a_fleet_of_one_host_is_up_while_its_daemon_runs(env: Env) -> None:
    """On SQLite the daemon heartbeats only as it starts (nobody else would
    read it): its host is up while it runs, lost once it is gone."""
    env.spawn_ready("w")
    shown = [(h["name"], h["state"], h["agents"]) for h in env.json("hosts")]
    assert shown == [(HOST, "up", 1)]
    assert env.json("list")[0]["host"] == HOST
    env.kill_monitor()
    (cli,) = env.json("hosts")
    assert cli["state"] == "lost"

    async def body(client: Client) -> None:  # the MCP tool shows the same view
        assert (await client.ok("list_hosts"))["hosts"] == [cli]

    serve(env, body)
