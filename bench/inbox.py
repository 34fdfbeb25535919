"""Delivery to a real Claude Code: through its inbox (messaging socket) vs typed.

    python bench/inbox.py [--runs N] [--json]

One Claude Code agent (the real binary, offline against tests/fakeapi.py) on
a private tmux server and a temporary home. Each round sends the same text
twice, interleaved so that machine noise hits both alike: once as another
agent (``TMUXORCH_AGENT`` set: config ``delivery.inbox: peers`` posts it to
the agent's socket) and once as a person (typed into the composer), each
with ``tmuxorch send`` as a subprocess, which returns once the agent's
UserPromptSubmit hook reported the text; ``wait`` for the turn's end comes
before the next send. Two payloads: a short line, and 20 KB on many lines
with tabs (typing pastes it). Reported: p50/p95 ms of ``send`` per route and
payload, and the ratio inbox/typed of the medians (the same run).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Any

import _fleet

PAYLOADS = {
    "short": "please run the tests again",
    "20KB-tabs": "".join(f"{i:04d}\tcolumn\tcolumn\t{'x' * 40}\n" for i in range(340)),
}
ROUTES = {"inbox": {"TMUXORCH_AGENT": "peer"}, "typed": {}}


def send_ms(fleet: _fleet.BenchFleet, text: str, env: dict[str, str]) -> float:
    """Wall ms of one ``tmuxorch send`` (it returns once the agent took the text)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [*_fleet.tmuxorch_argv(), "send", "c1", "-"], input=text.encode(),
        capture_output=True, env={**fleet.environ, **env}, timeout=120, check=False,
    )  # fmt: skip
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"send exited {proc.returncode}: {err}")
    fleet.ok("wait", "c1", "--timeout", "60", timeout=90)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    args, claude = _fleet.claude_bench_args(__doc__, argv, "--runs", 10, "rounds per payload")
    if claude is None:
        return 1
    log = _fleet.logger(args.json)
    from tests.claude_env import CLAUDE_ENV_UNSET, claude_env
    from tests.fakeapi import FakeAnthropic

    samples: dict[str, dict[str, list[float]]] = {p: {r: [] for r in ROUTES} for p in PAYLOADS}
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(_fleet.bench_fleet("bench-inbox"))
        api = stack.enter_context(FakeAnthropic())
        project = fleet.tmp / "project"
        project.mkdir()
        claude_vars = claude_env(
            fleet.tmp / "claude-config", project, api.url, home=fleet.tmp / "claude-home"
        )
        fleet.unset = CLAUDE_ENV_UNSET
        fleet.write_config({"claude": {"command": claude, "env": claude_vars}})
        fleet.ok("spawn", "c1", "--agent", "claude", "--cwd", str(project))
        fleet.ok("wait", "c1", "--timeout", "90", timeout=120)
        log(f"one Claude agent up; {args.runs} rounds per payload, both routes interleaved")
        for payload, text in PAYLOADS.items():
            send_ms(fleet, text, ROUTES["typed"])  # warm-up: bytecode, page cache, Claude's paths
            for _ in range(args.runs):
                for route, env in ROUTES.items():
                    samples[payload][route].append(send_ms(fleet, text, env))
    figures: dict[str, Any] = {"runs": args.runs}
    for payload, by_route in samples.items():
        row = {
            route: {
                "p50_ms": round(_fleet.percentile(ms, 50), 1),
                "p95_ms": round(_fleet.percentile(ms, 95), 1),
            }
            for route, ms in by_route.items()
        }
        inbox, typed = row["inbox"]["p50_ms"], row["typed"]["p50_ms"]
        figures[payload] = {**row, "ratio_p50": round(inbox / typed, 2)}
        log(
            f"{payload:>10}: inbox p50 {inbox} ms p95 {row['inbox']['p95_ms']} ms; "
            f"typed p50 {typed} ms p95 {row['typed']['p95_ms']} ms; ratio {inbox / typed:.2f}"
        )
    if args.json:
        _fleet.print_json(figures)
    return 0


if __name__ == "__main__":
    _fleet.run_main(main)
