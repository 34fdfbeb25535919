"""CLI start-up figures at 50 agents, as ratios to ``python -c pass``.

    python bench/cli.py [--agents N] [--runs R] [--json]

Spawns N cheap agents (a ``sleep`` profile) on a private tmux server and a
temporary home, concurrently, installs tmuxorch as a user gets it into a
throw-away venv (``_fleet.install``: not the editable install), then times
that venv's commands, interleaved so that machine noise hits every case alike
(median wall and CPU time of R runs each):

- ``python -c pass`` (that venv's): the baseline;
- ``tmuxorch --help``;
- ``tmuxorch list --json`` over the N agents;
- ``tmuxorch hook Stop`` with ``{}`` on stdin and no fleet in the environment
  (no TMUXORCH_* variables, an empty HOME): the path Claude Code takes in a
  session tmuxorch does not manage. It must stay near bare python.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import _fleet


def main(argv: list[str] | None = None) -> int:
    args = _fleet.agents_runs_args(__doc__, argv, runs=15)

    log = _fleet.logger(args.json)
    with _fleet.bench_fleet("bench-cli") as fleet:
        started = time.perf_counter()
        names = _fleet.spawn_sleepers(fleet, args.agents)
        spawn_s = time.perf_counter() - started
        log(f"spawned {len(names)} agents in {spawn_s:.1f} s")
        listed = json.loads(fleet.ok("list", "--json"))
        if sorted(a["name"] for a in listed) != names:
            raise RuntimeError(f"list --json shows {len(listed)} agents, expected {len(names)}")
        log("installing tmuxorch into a throw-away venv")
        bin_dir = _fleet.install(fleet.tmp)
        cli, python = [str(bin_dir / "tmuxorch")], str(bin_dir / "python")
        no_fleet = {
            k: v for k, v in os.environ.items() if not k.startswith(("TMUXORCH_", "TMUX", "XDG_"))
        }
        hook_home = fleet.tmp / "user-home"  # no ~/.config/tmuxorch here
        hook_home.mkdir()
        no_fleet["HOME"] = str(hook_home)
        cases = [
            _fleet.Case("python -c pass", [python, "-c", "pass"], fleet.environ),
            _fleet.Case("tmuxorch --help", [*cli, "--help"], fleet.environ),
            _fleet.Case("tmuxorch list --json", [*cli, "list", "--json"], fleet.environ),
            _fleet.Case("tmuxorch hook Stop (no fleet)", [*cli, "hook", "Stop"], no_fleet, b"{}"),
        ]
        results = _fleet.measure(cases, args.runs)

    figures: dict[str, Any] = {
        "agents": len(names),
        "runs": args.runs,
        "spawn_s": round(spawn_s, 1),
        "baseline": cases[0].name,
        "cases": results,
    }
    if args.json:
        _fleet.print_json(figures)
        return 0
    print(
        f"median of {args.runs} interleaved runs, {len(names)} agents in the fleet,"
        " installed (non-editable) console script"
    )
    print(f"  {'command':<30} {'wall ms':>8} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}")
    for name, r in results.items():
        print(
            f"  {name:<30} {r['wall_ms']:>8.1f} {r['wall_ratio']:>5.2f}x"
            f" {r['cpu_ms']:>8.1f} {r['cpu_ratio']:>5.2f}x"
        )
    print("  targets: --help <= 3x, list --json <= 4x")
    return 0


if __name__ == "__main__":
    _fleet.run_main(main)
