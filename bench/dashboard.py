"""Dashboard figures: the live view's CPU over a 20-agent fleet, the cost of
one frame, and ``status-line`` start-up as a ratio to ``python -c pass``.

    python bench/dashboard.py [--agents N] [--seconds S] [--runs R] [--json]

On a private tmux server and a temporary home (both removed at the end):

1. Spawns N cheap agents (a ``sleep 100000`` profile; they print nothing and
   stay ``starting``, which is all the dashboard needs to show).
2. **Idle fleet.** Runs ``tmuxorch dashboard`` in a pane of a second private
   tmux server (it needs a terminal; 200x50), waits for the first frame, then
   reads utime+stime from /proc/PID/stat of the dashboard process over S
   seconds, as % of one core. The agents are seconds old, so the
   time-in-state column changes every second: one store read and one redraw
   per second, the view's busiest idle case. The tmux server that draws the
   dashboard's pane is measured alongside (terminal emulation of the frames).
3. **Store churn.** The same while this process writes an event to the
   fleet's store every 20 ms (50 writes/s, each one an inotify wake-up of
   the view): redraws are coalesced (50 ms settle), so the cost stays
   bounded.
4. **One frame, in process.** Median time of ``read_rows`` (the store read
   behind every wake-up) and of rendering a frame of the N agents.
5. **status-line.** Median wall and CPU time of R interleaved runs of
   ``python -c pass`` and ``tmuxorch --home H --socket S status-line`` (the
   command the fleet's status line runs), and their ratio.

Finally presses ``q`` and checks that the dashboard exits with status 0.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import _fleet

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load(pid: int, seconds: float) -> float:
    """% of one core that ``pid`` used over ``seconds``."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


class DashPane:
    """``tmuxorch dashboard`` in a pane of its own private tmux server."""

    def __init__(self, fleet: _fleet.BenchFleet) -> None:
        self.socket = f"{fleet.socket}-dash"
        env = " ".join(
            f"{k}={shlex.quote(v)}" for k, v in fleet.environ.items() if k.startswith("TMUXORCH_")
        )
        self.run = f"exec env {env} {shlex.join(_fleet.tmuxorch_argv())} dashboard"
        self.pid = self.server_pid = 0

    def start(self) -> None:
        self.tmux("new-session", "-d", "-s", "dash", "-x", "200", "-y", "50", self.run)
        self.tmux("set", "-g", "remain-on-exit", "on")
        self.pid = int(self.tmux("display", "-p", "-t", "=dash:", "#{pane_pid}")[0])
        self.server_pid = int(self.tmux("display", "-p", "#{pid}")[0])

    def tmux(self, *args: str) -> list[str]:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return proc.stdout.splitlines()

    def screen(self) -> str:
        return "\n".join(self.tmux("capture-pane", "-p", "-t", "=dash:"))

    def quit(self) -> int:
        """Press q; the exit status once the pane is dead (tmux may need a nudge,
        ``run-shell true``, to collect it: see TmuxServer.reap)."""
        self.tmux("send-keys", "-t", "=dash:", "q")

        def status() -> str:
            self.tmux("run-shell", "true")
            dead = self.tmux("display", "-p", "-t", "=dash:", "#{pane_dead}:#{pane_dead_status}")
            return dead[0][2:] if dead and dead[0].startswith("1:") else ""

        return int(wait_until(status, 10, "the dashboard to exit"))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def churn(home: Path, stop: threading.Event, every: float = 0.02) -> int:
    """Write an event to the fleet's store every ``every`` seconds until stopped."""
    from tmuxorch.store.opening import open_store

    written = 0
    with open_store(home, create=False) as store:
        while not stop.wait(every):
            store.add_event(None, "bench", None, f"churn {written}")
            written += 1
    return written


def frame_costs(home: Path, agents: int, rounds: int = 200) -> dict[str, float]:
    """Median ms of one store read (``read_rows``) and one rendered frame."""
    from rich.console import Console

    from tmuxorch.core.records import now
    from tmuxorch.store.opening import open_store
    from tmuxorch.surfaces.dashboard import read_rows, render

    reads, frames = [], []
    console = Console(file=io.StringIO(), width=200, height=50, force_terminal=True)
    with open_store(home, create=False) as store:
        for _ in range(rounds):
            started = time.perf_counter()
            rows = read_rows(store)
            reads.append(time.perf_counter() - started)
            started = time.perf_counter()
            console.print(render(rows, now=now(), selected=rows[0].name, height=50))
            frames.append(time.perf_counter() - started)
    if len(rows) != agents:
        raise RuntimeError(f"the store holds {len(rows)} agents, expected {agents}")
    return {
        "read_rows_ms": round(statistics.median(reads) * 1000, 2),
        "render_ms": round(statistics.median(frames) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--churn-seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    log = _fleet.logger(args.json)
    figures: dict[str, Any] = {"agents": args.agents, "seconds": args.seconds}
    with _fleet.bench_fleet("bench-dash") as fleet:
        names = _fleet.spawn_sleepers(fleet, args.agents)
        log(f"{len(names)} agents up")
        dash = DashPane(fleet)
        try:
            dash.start()
            wait_until(lambda: "NAME" in dash.screen(), 20, "the first frame")
            shown = sum(1 for line in dash.screen().splitlines() if line.split(" ")[0] in names)
            if shown != len(names):
                raise RuntimeError(f"the dashboard shows {shown} agents, expected {len(names)}")
            time.sleep(1.0)  # past start-up
            log(f"measuring the dashboard (pid {dash.pid}) for {args.seconds:.0f} s ...")
            server_before = cpu_seconds(dash.server_pid)
            started = time.monotonic()
            figures["idle_cpu_pct"] = round(load(dash.pid, args.seconds), 3)
            figures["idle_tmux_server_cpu_pct"] = round(
                100 * (cpu_seconds(dash.server_pid) - server_before) / (time.monotonic() - started),
                3,
            )
            stop = threading.Event()
            written: list[int] = []
            writer = threading.Thread(target=lambda: written.append(churn(fleet.home, stop)))
            writer.start()
            try:
                figures["churn_cpu_pct"] = round(load(dash.pid, args.churn_seconds), 2)
            finally:
                stop.set()
                writer.join()
            figures["churn_writes_per_s"] = round(written[0] / args.churn_seconds, 1)
            figures["exit_status"] = dash.quit()
        finally:
            dash.close()
        figures.update(frame_costs(fleet.home, len(names)))
        status = [*_fleet.tmuxorch_argv(), "--home", str(fleet.home), "--socket", fleet.socket]
        cases = [
            _fleet.Case("python -c pass", [sys.executable, "-c", "pass"], fleet.environ),
            _fleet.Case("tmuxorch status-line", [*status, "status-line"], fleet.environ),
        ]
        figures["status_line"] = _fleet.measure(cases, args.runs)

    if args.json:
        _fleet.print_json(figures)
        return 0 if figures["exit_status"] == 0 else 1
    line = figures["status_line"]["tmuxorch status-line"]
    base = figures["status_line"]["python -c pass"]
    print(f"dashboard over {args.agents} agents, {args.seconds:.0f} s idle fleet:")
    print(f"  dashboard process      {figures['idle_cpu_pct']:.2f} % of one core")
    print(f"  tmux drawing its pane  {figures['idle_tmux_server_cpu_pct']:.2f} % of one core")
    print(
        f"  with {figures['churn_writes_per_s']:.0f} store writes/s: "
        f"{figures['churn_cpu_pct']:.2f} % of one core"
    )
    print(f"  one store read {figures['read_rows_ms']} ms, one frame {figures['render_ms']} ms")
    print(f"  exit status after q: {figures['exit_status']}")
    print(f"status-line, median of {args.runs} interleaved runs:")
    print(
        f"  python -c pass {base['wall_ms']} ms wall / {base['cpu_ms']} ms cpu; "
        f"status-line {line['wall_ms']} ms / {line['cpu_ms']} ms "
        f"= {line['wall_ratio']}x wall, {line['cpu_ratio']}x cpu"
    )
    return 0 if figures["exit_status"] == 0 else 1


if __name__ == "__main__":
    _fleet.run_main(main)
