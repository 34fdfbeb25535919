"""Hosts figures (issue 16): a fleet on PostgreSQL across hosts against SQLite on one.

    python bench/hosts.py [--hosts 3] [--agents 30] [--runs 15] [--sends 40]
                          [--seconds 20] [--beat-hosts 10] [--json]

On private tmux servers, temporary homes and a PostgreSQL server of its own
(tests/pgserver.py: initdb in a temporary directory), all removed at the end:

1. **Commands.** SQLite, one host, N idle shell agents; then PostgreSQL, H
   hosts (a home, a tmux socket and TMUXORCH_HOST each, one database) of N
   shell agents each. ``send`` (to an agent of the command's own host) and
   ``list --json`` from the first host: medians of interleaved runs, and the
   PostgreSQL/SQLite ratio (goal <= 1.5x). ``list`` lists H*N agents there.
2. **Cross-host send -> delivered.** ``send`` from host 1 to agents of the
   other hosts, one at a time: the message's queued and delivered times as
   the store has them (another host's daemon types it), p50/p95.
3. **Daemon at idle.** Each PostgreSQL host's daemon (its pid from the hosts
   table) over S seconds with its N idle agents: CPU as % of a core (goal
   <= 0.5%) and wake-ups (voluntary context switches: with no polling, its
   heartbeats and the other hosts' heartbeats' reads are about all).
4. **Heartbeat load.** The statements one daemon's beat sends the database
   (its heartbeat and its look at the others: ``hosting.beat`` and
   ``lose_silent``, BEGIN/COMMIT and the write lock included) among B
   hosts, counted on its connection, and the rate at B hosts beating every
   ``host.heartbeat`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _fleet
import yaml
from monitor import cpu_of

sys.path.insert(0, str(_fleet.REPO))  # tests.pgserver: a PostgreSQL server of its own

from tests.pgserver import PgServer, started
from tmuxorch.core.config import resolve
from tmuxorch.core.records import now
from tmuxorch.fleet import hosting
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.store.opening import open_store

log = _fleet.logger(False)


def host_fleet(top: Path, name: str, url: str | None, heartbeat: float) -> _fleet.BenchFleet:
    tmp = top / name
    tmp.mkdir()
    extra = {"TMUXORCH_HOST": name, **({"TMUXORCH_STORE": url} if url else {})}
    fleet = _fleet.BenchFleet(tmp=tmp, socket=f"hosts-{os.getpid()}-{name}", extra_env=extra)
    config = {
        "default_agent": "shell",
        "agents": {"shell": _fleet.SHELL_PROFILE},
        "host": {"heartbeat": heartbeat},
    }
    fleet.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return fleet


def spawn_shells(fleet: _fleet.BenchFleet, prefix: str, count: int) -> list[str]:
    names = [f"{prefix}{i:02d}" for i in range(count)]
    # One spawn starts the daemon first, so the others do not race to start it.
    fleet.ok("spawn", names[0], "--cwd", str(fleet.tmp))
    fleet.spawn(names[1:], lambda _: "shell", workers=6)
    fleet.ok("wait", *names, "--timeout", "120", timeout=180)
    return names


def command_cases(fleet: _fleet.BenchFleet, label: str, target: str) -> list[_fleet.Case]:
    argv = _fleet.tmuxorch_argv()
    return [
        _fleet.Case(f"{label} send", [*argv, "send", target, "true"], fleet.environ),
        _fleet.Case(f"{label} list --json", [*argv, "list", "--json"], fleet.environ),
    ]


def commands(sqlite: _fleet.BenchFleet, pg: _fleet.BenchFleet, runs: int) -> dict[str, Any]:
    """Interleaved medians; the baseline is python -c pass."""
    floor = _fleet.Case("python -c pass", [sys.executable, "-c", "pass"], dict(os.environ))
    cases = [floor, *command_cases(sqlite, "sqlite", "s00"), *command_cases(pg, "pg", "h1a00")]
    figures = _fleet.measure(cases, runs)
    for what in ("send", "list --json"):
        ratio = figures[f"pg {what}"]["wall_ms"] / figures[f"sqlite {what}"]["wall_ms"]
        figures[f"pg/sqlite {what}"] = {"wall_ratio": round(ratio, 2), "goal": 1.5}
    return figures


def cross_host_sends(first: _fleet.BenchFleet, targets: list[str], url: str) -> dict[str, Any]:
    """Queued -> delivered (store times) of sends from ``first`` to other hosts' agents."""
    latencies = []
    with open_store(first.home, url=url, create=False) as store:
        for target in targets:
            sent = int(first.ok("send", target, "true").split()[0])
            deadline = time.monotonic() + 60
            while (message := store.get_message(sent)) is None or message.delivered_at is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"message {sent} to {target} not delivered in 60 s")
                time.sleep(0.01)
            latencies.append((message.delivered_at - message.ts) * 1000)
            # Delivered means typed: let the shell's turn end before the next.
            first.ok("wait", target, "--timeout", "30")
    return {
        "sends": len(latencies),
        "p50_ms": round(_fleet.percentile(latencies, 50), 1),
        "p95_ms": round(_fleet.percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


def daemons_idle(pids: dict[str, int], seconds: float) -> dict[str, Any]:
    time.sleep(1.0)  # the last looks after the sends
    before = {host: cpu_of(pid) for host, pid in pids.items()}
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    after = {host: cpu_of(pid) for host, pid in pids.items()}
    per_host = {
        host: {
            "cpu_pct": round(100 * (after[host].own - before[host].own) / elapsed, 3),
            "wakeups_per_s": round((after[host].switches - before[host].switches) / elapsed, 1),
        }
        for host in pids
    }
    return {"window_s": round(elapsed, 1), "goal_pct": 0.5, "hosts": per_host}


class Counting:
    """A database connection that counts the statements it is given."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.conn.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def heartbeat_load(server: PgServer, top: Path, hosts: int, heartbeat: float) -> dict[str, Any]:
    """Statements per beat of one daemon among ``hosts``; the rate for all of them."""
    url = server.new_database()
    home = top / "beats"
    config = top / "beats.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": url}}), encoding="utf-8")
    try:
        with open_store(home, url=url) as store:
            for i in range(1, hosts):  # the others, seen up
                store.heartbeat(f"other{i}", "bench", 1, now())
        os.environ["TMUXORCH_HOST"] = "beater"
        with Fleet(resolve(str(home), f"beats-{os.getpid()}", str(config))) as fleet:
            counting = Counting(fleet.store.conn)  # type: ignore[attr-defined]
            fleet.store.conn = counting  # type: ignore[attr-defined]
            beats = 50
            for _ in range(beats):
                hosting.beat(fleet, now())
                hosting.lose_silent(fleet)
            per_beat = counting.statements / beats
    finally:
        os.environ.pop("TMUXORCH_HOST", None)
        server.drop(url)
    return {
        "hosts": hosts,
        "heartbeat_s": heartbeat,
        "statements_per_beat": round(per_beat, 1),
        "statements_per_s": round(per_beat * hosts / heartbeat, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sends", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--beat-hosts", type=int, default=10)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global log
    log = _fleet.logger(args.json)
    top = Path(tempfile.mkdtemp(prefix="tmuxorch-hosts-"))
    fleets: list[_fleet.BenchFleet] = []
    pids: dict[str, int] = {}
    figures: dict[str, Any] = {}
    try:
        with started() as server:
            if isinstance(server, str):
                raise RuntimeError(server)
            url = server.new_database()
            log(f"SQLite: 1 host, {args.agents} shell agents")
            sqlite = host_fleet(top, "solo", None, args.heartbeat)
            fleets.append(sqlite)
            spawn_shells(sqlite, "s", args.agents)
            log(f"PostgreSQL: {args.hosts} hosts x {args.agents} shell agents")
            hosts = [
                host_fleet(top, f"h{i}", url, args.heartbeat) for i in range(1, args.hosts + 1)
            ]
            fleets += hosts
            names = {h.extra_env["TMUXORCH_HOST"]: spawn_shells(h, f"h{i}a", args.agents)
                     for i, h in enumerate(hosts, 1)}  # fmt: skip
            with open_store(hosts[0].home, url=url, create=False) as store:
                pids = {h.name: int(h.pid or 0) for h in store.hosts()}
            log("commands: send, list --json")
            figures["commands"] = commands(sqlite, hosts[0], args.runs)
            others = [n for host, agents in names.items() if host != "h1" for n in agents]
            log(f"cross-host send -> delivered ({args.sends} sends)")
            targets = [others[i % len(others)] for i in range(args.sends)]
            figures["cross_host_send"] = cross_host_sends(hosts[0], targets, url)
            log(f"daemons at idle ({args.seconds:.0f} s)")
            figures["daemon_idle"] = daemons_idle(pids, args.seconds)
            log(f"heartbeat load ({args.beat_hosts} hosts)")
            figures["heartbeat"] = heartbeat_load(server, top, args.beat_hosts, args.heartbeat)
            for fleet in fleets:
                fleet.shutdown()
            for pid in pids.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    finally:
        for fleet in fleets:
            subprocess.run(["tmux", "-L", fleet.socket, "kill-server"], capture_output=True)
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(top)], check=False)
    if args.json:
        _fleet.print_json(figures)
    else:
        for section, values in figures.items():
            log(f"{section}: {values}")
    return 0


if __name__ == "__main__":
    _fleet.run_main(main)
