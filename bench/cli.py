"""CLI start-up figures at 50 agents, as ratios to ``python -c pass``.

    python bench/cli.py [--agents N] [--runs R] [--json]

Spawns N cheap agents (a ``sleep`` profile) on a private tmux server and a
temporary home, concurrently, then times, interleaved so that machine noise
hits every case alike (median wall and CPU time of R runs each):

- ``python -c pass``: the baseline;
- ``tmuxorch --help``;
- ``tmuxorch list --json`` over the N agents;
- ``tmuxorch hook Stop`` with ``{}`` on stdin and no fleet in the environment
  (no TMUXORCH_* variables, an empty HOME): the path Claude Code takes in a
  session tmuxorch does not manage. It must stay near bare python.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# --------------------------------------------------------------------------
# A throw-away fleet: private socket, tmp home, cleaned up whatever happens
# --------------------------------------------------------------------------


def tmuxorch_argv() -> list[str]:
    script = Path(sys.executable).with_name("tmuxorch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tmuxorch"]


@dataclass
class BenchFleet:
    tmp: Path
    socket: str
    home: Path = field(init=False)
    config_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.tmp / "home"
        self.config_path = self.tmp / "config.yaml"

    @property
    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUXORCH_", "TMUX"))}
        env.update(
            TMUXORCH_HOME=str(self.home),
            TMUXORCH_SOCKET=self.socket,
            TMUXORCH_CONFIG=str(self.config_path),
        )
        return env

    def write_config(self, agents: dict[str, dict[str, Any]]) -> None:
        config = {"default_agent": "shell", "agents": agents}
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    def ok(self, *args: str, timeout: float = 120) -> bytes:
        proc = subprocess.run(
            [*tmuxorch_argv(), *args], capture_output=True,
            env=self.environ, timeout=timeout, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"tmuxorch {' '.join(args)} failed ({proc.returncode}): {err}")
        return proc.stdout

    def shutdown(self) -> None:
        """Kill the private tmux server, then make sure the monitor is gone."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        lock = self.home / "monitor.lock"
        deadline = time.monotonic() + 10
        while _locked(lock) and time.monotonic() < deadline:
            time.sleep(0.1)  # the monitor exits on its own once tmux is gone
        if _locked(lock):
            with contextlib.suppress(ValueError, IndexError, ProcessLookupError, OSError):
                os.kill(int(lock.read_text().split()[0]), signal.SIGKILL)


def _locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def bench_fleet(prefix: str) -> Iterator[BenchFleet]:
    tmp = Path(tempfile.mkdtemp(prefix=f"tmuxorch-{prefix}-"))
    fleet = BenchFleet(tmp=tmp, socket=f"bench-{os.getpid()}")
    # kill(1) and a closed terminal clean up like Ctrl-C does.
    previous = {
        sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield fleet
    finally:
        try:
            fleet.shutdown()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    env: dict[str, str]
    stdin: bytes = b""


def timed(case: Case) -> tuple[float, float]:
    """Wall and CPU (user+sys of the child) seconds of one run; fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        case.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=case.env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(case.stdin)
    proc.stdin.close()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0 or err:
        raise RuntimeError(f"{case.name}: exit {proc.returncode}: {err.decode(errors='replace')}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def spawn_agents(fleet: BenchFleet, count: int) -> list[str]:
    fleet.write_config({"sleeper": {"command": "sleep", "args": ["100000"], "quiet": 0.5}})
    names = [f"s{i:02d}" for i in range(count)]
    cwd = str(fleet.tmp)
    # One spawn starts the monitor first, so the others do not race to start it.
    fleet.ok("spawn", names[0], "--agent", "sleeper", "--cwd", cwd)
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in pool.map(
            lambda n: fleet.ok("spawn", n, "--agent", "sleeper", "--cwd", cwd), names[1:]
        ):
            pass
    return names


def measure(cases: list[Case], runs: int) -> dict[str, dict[str, float]]:
    for case in cases:
        for _ in range(2):
            timed(case)  # warm-up: bytecode, page cache
    samples: dict[str, list[tuple[float, float]]] = {c.name: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            samples[case.name].append(timed(case))
    base = cases[0].name
    base_wall = statistics.median(s[0] for s in samples[base])
    base_cpu = statistics.median(s[1] for s in samples[base])
    result: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        wall = statistics.median(s[0] for s in values)
        cpu = statistics.median(s[1] for s in values)
        result[name] = {
            "wall_ms": round(wall * 1000, 1),
            "cpu_ms": round(cpu * 1000, 1),
            "wall_ratio": round(wall / base_wall, 2),
            "cpu_ratio": round(cpu / base_cpu, 2),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.runs < 1:
        parser.error("need --agents >= 1 and --runs >= 1")

    def log(message: str) -> None:
        if not args.json:
            print(message, flush=True)

    with bench_fleet("bench-cli") as fleet:
        started = time.perf_counter()
        names = spawn_agents(fleet, args.agents)
        spawn_s = time.perf_counter() - started
        log(f"spawned {len(names)} agents in {spawn_s:.1f} s")
        listed = json.loads(fleet.ok("list", "--json"))
        if sorted(a["name"] for a in listed) != names:
            raise RuntimeError(f"list --json shows {len(listed)} agents, expected {len(names)}")
        cli = tmuxorch_argv()
        no_fleet = {
            k: v for k, v in os.environ.items() if not k.startswith(("TMUXORCH_", "TMUX", "XDG_"))
        }
        hook_home = fleet.tmp / "user-home"  # no ~/.config/tmuxorch here
        hook_home.mkdir()
        no_fleet["HOME"] = str(hook_home)
        cases = [
            Case("python -c pass", [sys.executable, "-c", "pass"], fleet.environ),
            Case("tmuxorch --help", [*cli, "--help"], fleet.environ),
            Case("tmuxorch list --json", [*cli, "list", "--json"], fleet.environ),
            Case("tmuxorch hook Stop (no fleet)", [*cli, "hook", "Stop"], no_fleet, b"{}"),
        ]
        results = measure(cases, args.runs)

    figures: dict[str, Any] = {
        "agents": len(names),
        "runs": args.runs,
        "spawn_s": round(spawn_s, 1),
        "baseline": cases[0].name,
        "cases": results,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"median of {args.runs} interleaved runs, {len(names)} agents in the fleet")
    print(f"  {'command':<30} {'wall ms':>8} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}")
    for name, r in results.items():
        print(
            f"  {name:<30} {r['wall_ms']:>8.1f} {r['wall_ratio']:>5.2f}x"
            f" {r['cpu_ms']:>8.1f} {r['cpu_ratio']:>5.2f}x"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted (fleet cleaned up)", file=sys.stderr)
        sys.exit(130)
