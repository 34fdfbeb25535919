"""Claude's hook commands as Claude runs them, as ratios to ``python -c pass``.

    python bench/hooks.py [--runs N] [--json] [--importtime]

Claude Code runs ``tmuxorch auto-lock`` before every Write, Edit and Bash and
``tmuxorch hook EVENT`` on every other event, as the installed console script.
So this bench installs the package as a user gets it (built into a wheel and
installed, not the editable install: its import finder alone costs
milliseconds) into a throw-away venv of this Python, the dependencies seen
through a ``.pth`` to this venv's site-packages, and times that venv's
``tmuxorch`` against that venv's ``python -c pass``.

One cheap agent (a ``sleep`` profile) runs on a private tmux server with its
monitor, and every hook has that agent's environment (``TMUXORCH_AGENT``,
``TMUX_PANE``, ...) and Claude's real payloads. Interleaved, so that machine
noise hits every case alike, median wall and CPU time of N runs each:

- ``auto-lock Write``: takes the file's lock (the ``hook Stop`` of the same
  round frees it, as the end of a turn does);
- ``auto-lock Bash read``: a command that writes nothing (most of them);
- ``hook PreToolUse``: records the event, the agent is busy;
- ``hook Stop``: records the event, the agent is idle, its locks are freed.

Target: <= 2x each. ``import json, sqlite3`` is the floor any hook stands
on (json brings re; sqlite3, datetime). ``--importtime`` then prints, per
case, the imports over 0.3 ms under ``python -X importtime`` (medians of N
runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

import _fleet

SESSION = "0b6f5c1e-5d5e-4bd4-9f3c-2a7e0b1c9d11"


def payload(event: str, cwd: Path, **fields: Any) -> bytes:
    """A hook payload shaped as Claude Code 2.1 sends it."""
    body = {
        "session_id": SESSION,
        "transcript_path": str(cwd / f"{SESSION}.jsonl"),
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }
    return json.dumps(body).encode()


def cases(bin_dir: Path, env: dict[str, str], cwd: Path) -> list[_fleet.Case]:
    tmuxorch, python = str(bin_dir / "tmuxorch"), str(bin_dir / "python")
    content = "".join(f"line {n}: some code the model wrote\n" for n in range(200))
    write = payload(
        "PreToolUse", cwd, tool_name="Write", tool_use_id="toolu_01",
        tool_input={"file_path": str(cwd / "src" / "app.py"), "content": content},
    )  # fmt: skip
    bash = payload(
        "PreToolUse", cwd, tool_name="Bash", tool_use_id="toolu_02",
        tool_input={"command": "git status && ls -la | head", "description": "Look around"},
    )  # fmt: skip
    stop = payload("Stop", cwd, stop_hook_active=False, last_assistant_message="Done.")
    return [
        _fleet.Case("python -c pass", [python, "-c", "pass"], env),
        # The floor: what any hook needs to read Claude's JSON and write the store.
        _fleet.Case("import json, sqlite3", [python, "-c", "import json, sqlite3"], env),
        _fleet.Case("auto-lock Write", [tmuxorch, "auto-lock"], env, write),
        _fleet.Case("auto-lock Bash read", [tmuxorch, "auto-lock"], env, bash),
        _fleet.Case("hook PreToolUse", [tmuxorch, "hook", "PreToolUse"], env, write),
        _fleet.Case("hook Stop", [tmuxorch, "hook", "Stop"], env, stop),
    ]


def import_tree(case: _fleet.Case, runs: int, floor_us: int) -> list[str]:
    """``runs`` runs of ``case`` under ``python -X importtime``: the imports whose
    median cumulative time is ``floor_us`` or more, as a tree in import order
    (one run alone is too noisy to rank modules)."""
    python = str(Path(case.argv[0]).with_name("python"))
    args = case.argv[1:] if case.argv[0] == python else case.argv
    times: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [python, "-X", "importtime", *args], input=case.stdin, env=case.env,
            capture_output=True, check=True,
        )  # fmt: skip
        for line in proc.stderr.decode().splitlines():
            if line.startswith("import time:") and "cumulative" not in line:
                own, cumulative, name = line.removeprefix("import time:").split("|")
                times.setdefault(name, []).append((int(own), int(cumulative)))
    tree = []
    for name, samples in times.items():
        own = statistics.median(s[0] for s in samples)
        cumulative = statistics.median(s[1] for s in samples)
        if cumulative >= floor_us:
            tree.append(f"{cumulative / 1000:6.1f} ms {own / 1000:6.1f} ms {name}")
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--importtime", action="store_true", help="then show each case's imports over 0.3 ms"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("need --runs >= 1")

    log = _fleet.logger(args.json)
    with _fleet.bench_fleet("bench-hooks") as fleet:
        log("installing tmuxorch into a throw-away venv")
        bin_dir = _fleet.install(fleet.tmp)
        (name,) = _fleet.spawn_sleepers(fleet, 1)
        (agent,) = json.loads(fleet.ok("list", "--json"))
        work = fleet.tmp / "work"
        (work / "src").mkdir(parents=True)
        env = {
            **fleet.environ,
            "TMUXORCH_AGENT": name,
            # What tmux puts in the agent's pane, hence in its hooks.
            "TMUX": fleet.tmux("display", "-p", "#{socket_path},#{pid},0"),
            "TMUX_PANE": agent["pane_id"],
        }
        bench = cases(bin_dir, env, work)
        results = _fleet.measure(bench, args.runs)
        trees = {c.name: import_tree(c, args.runs, 300) for c in bench} if args.importtime else {}

    figures: dict[str, Any] = {"runs": args.runs, "baseline": bench[0].name, "cases": results}
    if args.json:
        _fleet.print_json({**figures, "imports": trees} if trees else figures)
        return 0
    print(f"median of {args.runs} interleaved runs, installed (non-editable) console script")
    print(f"  {'command':<22} {'wall ms':>8} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}")
    for case, r in results.items():
        print(
            f"  {case:<22} {r['wall_ms']:>8.1f} {r['wall_ratio']:>5.2f}x"
            f" {r['cpu_ms']:>8.1f} {r['cpu_ratio']:>5.2f}x"
        )
    print("  target: <= 2x")
    for case, tree in trees.items():
        print(f"\n{case}: imports over 0.3 ms (median cumulative, self)")
        for line in tree:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    _fleet.run_main(main)
