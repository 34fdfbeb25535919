"""``GET /api/agents`` on a warm ``tmuxorch serve`` vs ``tmuxorch list --json``,
at 50 agents, as a ratio in one run.

    python bench/serve.py [--agents N] [--runs R] [--json]

Spawns N cheap agents (a ``sleep`` profile) on a private tmux server and a
temporary home, starts ``tmuxorch serve --port 0`` over them, then times,
interleaved so that machine noise hits both alike (median wall time of R runs
each, after two warm-ups): the CLI's ``list --json`` as a process, and one
``GET /api/agents`` on a new connection (what a page or a script pays). Both
must list the same N agents.

Then PAGES clients hold ``GET /api/events`` open, as that many browser pages
would, and the bench writes E events into the store (one at a time, each once
every page has it): the time from just before the write to each page's
receipt of the event is the stream's own latency, beyond whatever detected
the change (p50/p95). Also reported: the server's resident memory (VmRSS)
with the pages connected.
"""

from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import threading
import time
from typing import Any

import _fleet

from tmuxorch.store.opening import open_store

START = re.compile(r"^tmuxorch serve: http://127\.0\.0\.1:(\d+)/ ")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Page:
    """One held ``GET /api/events``: when each event id arrived."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.conn.request("GET", "/api/events", headers={"Authorization": f"Bearer {token}"})
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise RuntimeError(f"GET /api/events: {self.resp.status}")
        self.seen: dict[int, float] = {}
        self.arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.resp:
                line = raw.decode()
                if line.startswith("id: "):
                    with self.arrived:
                        self.seen[int(line[4:])] = time.perf_counter()
                        self.arrived.notify_all()
        except (OSError, ValueError, AttributeError):
            pass  # closed at the end (http.client drops its file: AttributeError)

    def wait_for(self, event_id: int) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: event_id in self.seen, timeout=30):
                raise RuntimeError(f"event {event_id} never reached a page")
            return self.seen[event_id]


PAGES = 5
EVENTS = 40


def stream_latencies(home: str, pid: int, port: int, token: str) -> tuple[list[float], float]:
    """Each page's delay per event (s), and the server's RSS (MiB) with them open."""
    opened = [Page(port, token) for _ in range(PAGES)]
    delays: list[float] = []
    with open_store(home) as store:
        for _ in range(EVENTS):
            started = time.perf_counter()
            event_id = store.add_event(None, "state", None, "bench: a change to stream")
            delays += [page.wait_for(event_id) - started for page in opened]
    rss = rss_mib(pid)
    for page in opened:
        page.conn.close()
    return delays, rss


def main(argv: list[str] | None = None) -> int:
    args = _fleet.agents_runs_args(__doc__, argv, runs=30)

    log = _fleet.logger(args.json)
    with _fleet.bench_fleet("bench-http") as fleet:
        names = _fleet.spawn_sleepers(fleet, args.agents)
        log(f"spawned {len(names)} agents")
        server = subprocess.Popen(
            [*_fleet.tmuxorch_argv(), "serve", "--port", "0"],
            env=fleet.environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            match = START.match(server.stdout.readline().decode())
            if not match:
                raise RuntimeError("tmuxorch serve did not start")
            port = int(match[1])
            token = (fleet.home / "http-token").read_text().strip()

            page = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

            def get(keep: bool = False) -> float:
                """One GET on a new connection (a script's), or on one kept
                open (a page's: browsers keep theirs alive)."""
                started = time.perf_counter()
                conn = page if keep else http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/api/agents", headers={"Authorization": f"Bearer {token}"})
                reply = conn.getresponse()
                body = reply.read()
                if not keep:
                    conn.close()
                elapsed = time.perf_counter() - started
                if reply.status != 200 or len(json.loads(body)) != len(names):
                    raise RuntimeError(f"GET /api/agents: {reply.status} {body[:200]!r}")
                return elapsed

            cli = _fleet.Case("list --json", [*_fleet.tmuxorch_argv(), "list", "--json"],
                              fleet.environ)  # fmt: skip
            listed = json.loads(fleet.ok("list", "--json"))
            if len(listed) != len(names):
                raise RuntimeError(f"list --json shows {len(listed)} agents, not {len(names)}")
            for _ in range(2):
                get(), get(keep=True), _fleet.timed(cli)
            http_s: list[float] = []
            kept_s: list[float] = []
            cli_s: list[float] = []
            for _ in range(args.runs):
                http_s.append(get())
                kept_s.append(get(keep=True))
                cli_s.append(_fleet.timed(cli)[0])
            page.close()
            delays, rss = stream_latencies(str(fleet.home), server.pid, port, token)
        finally:
            server.terminate()
            server.wait(timeout=30)

    http_ms = statistics.median(http_s) * 1000
    kept_ms = statistics.median(kept_s) * 1000
    cli_ms = statistics.median(cli_s) * 1000
    figures: dict[str, Any] = {
        "agents": len(names),
        "runs": args.runs,
        "get_api_agents_ms": round(http_ms, 1),
        "get_api_agents_p95_ms": round(_fleet.percentile([s * 1000 for s in http_s], 95), 1),
        "list_json_ms": round(cli_ms, 1),
        "ratio": round(cli_ms / http_ms, 1),
        "get_api_agents_kept_alive_ms": round(kept_ms, 1),
        "ratio_kept_alive": round(cli_ms / kept_ms, 1),
        "pages": PAGES,
        "events": EVENTS,
        "event_to_page_p50_ms": round(_fleet.percentile([d * 1000 for d in delays], 50), 1),
        "event_to_page_p95_ms": round(_fleet.percentile([d * 1000 for d in delays], 95), 1),
        "server_rss_mib": round(rss, 1),
    }
    if args.json:
        _fleet.print_json(figures)
        return 0
    print(f"median of {args.runs} interleaved runs, {len(names)} agents in the fleet")
    print(f"  GET /api/agents      {http_ms:8.1f} ms (p95 {figures['get_api_agents_p95_ms']} ms)")
    print(f"  tmuxorch list --json {cli_ms:8.1f} ms")
    print(f"  ratio                {figures['ratio']:8.1f}x (goal >= 10x)")
    print(f"  the same, kept alive {kept_ms:8.1f} ms: {figures['ratio_kept_alive']}x (a page's)")
    print(
        f"  store write -> page  p50 {figures['event_to_page_p50_ms']} ms, "
        f"p95 {figures['event_to_page_p95_ms']} ms "
        f"({PAGES} pages, {EVENTS} events; goal p95 <= 100 ms)"
    )
    print(f"  server RSS           {rss:8.1f} MiB with {PAGES} pages (goal <= 80 MiB)")
    return 0


if __name__ == "__main__":
    _fleet.run_main(main)
