"""Delivery figures: byte-exact share and per-send latency through the CLI.

    python bench/delivery.py [--agents N] [--messages M] [--seed S] [--json]

Spawns N fake agents (tests/fakeagent.py, each with its own ``--record``
file, one profile per agent in a generated config.yaml) on a private tmux
server and a temporary home, then sends M mixed payloads round-robin with
``tmuxorch send NAME -`` (a subprocess, as a user would), one sender thread
per agent so that each agent's order is deterministic. ``send`` returns only
once the agent verifiably took the message, so its wall time is the latency.

Reported: the share of messages recorded byte-exact by the agents (must be
100%: exit status 1 otherwise), p50/p95 send latency, overall and per payload
kind, and ``tmuxorch --version`` measured in the same run, under the same
load (a thread running it alongside the senders), as the baseline ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _fleet

MODES = ("sequential", "important", "urgent")

# --------------------------------------------------------------------------
# Payloads: deterministic from a seeded generator
# --------------------------------------------------------------------------

WORDS = (
    "alpha", "beta", "gamma", "delta", "build", "test", "deploy", "refactor", "module", "cache",
    "index", "review", "merge", "branch", "commit", "file", "path", "value", "token", "queue",
)  # fmt: skip
UNICODE = ("héllo", "wörld", "—", "日本語", "🎉", "ünïcödé", "Ωmega", "naïve", "→", "€100", "ß")
# ESC sequences that are not the bracketed-paste markers (send refuses ESC[201~).
ESCAPES = ("\x1b[31m", "\x1b[0m", "\x1b", "\x1b[2J", "\x1b]0;title\x07", "\x1bOA", "\x1b[1;5C")


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _short(rng: random.Random) -> str:
    return _words(rng, rng.randint(1, 8))


def _multiline(rng: random.Random) -> str:
    return "\n".join(_words(rng, rng.randint(1, 10)) for _ in range(rng.randint(2, 12)))


def _big(rng: random.Random) -> str:
    lines = [f"line {i:04d} {_words(rng, 14)}" for i in range(rng.randint(190, 230))]
    return "\n".join(line[:100].ljust(100, "x") for line in lines)  # ~20 KB


def _semicolon(rng: random.Random) -> str:
    return f"echo {_words(rng, 3)}" + rng.choice((";", " ;", ";;", "\\;"))


def _substitution(rng: random.Random) -> str:
    return f"run $(rm -rf /tmp/{rng.choice(WORDS)}) and ${{HOME}} $(({rng.randint(1, 99)}+1))"


def _backticks(rng: random.Random) -> str:
    return f"`id` then `echo {rng.choice(WORDS)}` done"


def _quotes(rng: random.Random) -> str:
    w = rng.choice(WORDS)
    return rng.choice((f'"{w}" \'{w}\' \\"{w}\\" \\\'', f"it's \"{w}'s\" '", f'say "{w}'))


def _tabs(rng: random.Random) -> str:
    return "\t".join(_words(rng, rng.randint(1, 3)) for _ in range(rng.randint(2, 5)))


def _unicode(rng: random.Random) -> str:
    return " ".join(rng.choice(UNICODE + tuple(WORDS)) for _ in range(rng.randint(3, 12)))


def _escape(rng: random.Random) -> str:
    parts = [_words(rng, 2)]
    for _ in range(rng.randint(1, 3)):
        parts += [rng.choice(ESCAPES), _words(rng, rng.randint(1, 2))]
    return "".join(parts)


def _tmux_syntax(rng: random.Random) -> str:
    return rng.choice(("#{pane_id} #S %Y", "-t %0 -l", "C-c Enter Escape BSpace", "; kill-server"))


# Kind name -> generator. A new kind is one entry here.
KINDS: dict[str, Callable[[random.Random], str]] = {
    "short": _short,
    "multi-line": _multiline,
    "20KB": _big,
    "trailing-;": _semicolon,
    "$(...)": _substitution,
    "backticks": _backticks,
    "quotes": _quotes,
    "tabs": _tabs,
    "unicode": _unicode,
    "raw-ESC": _escape,
    "tmux-syntax": _tmux_syntax,
}


@dataclass(frozen=True)
class Send:
    """One planned message: which agent, what text, which kind and mode."""

    index: int
    agent: str
    kind: str
    text: str
    mode: str = "sequential"


def plan(
    agents: Sequence[str], messages: int, seed: int, modes: Sequence[str] = ("sequential",)
) -> list[Send]:
    """Round-robin over agents; kinds cycle in a seeded shuffle so every kind shows up.

    Each text starts with a ``mNNNN`` tag: unique, and never one of the fake
    agent's scripted commands (``sleep``, ``exit``, ...).
    """
    rng = random.Random(seed)
    names = list(KINDS)
    order: list[str] = []
    sends = []
    for i in range(messages):
        if not order:
            order = rng.sample(names, len(names))
        kind = order.pop()
        text = f"m{i:04d} {KINDS[kind](rng)}"
        sends.append(Send(i, agents[i % len(agents)], kind, text, modes[i % len(modes)]))
    return sends


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    send: Send
    seconds: float
    ok: bool
    error: str = ""


def spawn_agents(fleet: _fleet.BenchFleet, names: list[str]) -> None:
    fleet.write_config(
        {
            "fake": _fleet.FAKE_PROFILE,
            **{
                f"bench-{name}": {
                    "extends": "fake",
                    "args": ["--name", name, "--record", str(record_path(fleet, name))],
                }
                for name in names
            },
        }
    )
    fleet.spawn(names, lambda n: f"bench-{n}", workers=min(len(names), 8))
    fleet.ok("wait", *names, "--timeout", "60", timeout=90)


def record_path(fleet: _fleet.BenchFleet, name: str) -> Path:
    return fleet.tmp / f"record-{name}.jsonl"


def records(fleet: _fleet.BenchFleet, name: str) -> list[str]:
    path = record_path(fleet, name)
    if not path.exists():
        return []
    lines = path.read_text(encoding="ascii").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line]


def send_one(fleet: _fleet.BenchFleet, send: Send) -> Outcome:
    args = ["send", send.agent, "-", "--json"]
    if send.mode != "sequential":
        args += ["--mode", send.mode]
    started = time.perf_counter()
    proc = fleet.run(*args, stdin=send.text.encode("utf-8"))
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        return Outcome(send, elapsed, False, proc.stderr.decode(errors="replace").strip())
    status = json.loads(proc.stdout).get("status")
    # "queued" is a valid answer for a busy agent: the record check below
    # proves it was delivered (exactly once, byte-exact) all the same.
    return Outcome(send, elapsed, status in ("delivered", "queued"), f"status {status}")


def send_all(
    fleet: _fleet.BenchFleet, sends: list[Send]
) -> tuple[list[Outcome], list[float], float]:
    """One thread per agent (its messages in order) plus a baseline thread
    timing ``tmuxorch --version`` while the senders run."""
    by_agent: dict[str, list[Send]] = {}
    for send in sends:
        by_agent.setdefault(send.agent, []).append(send)
    done = threading.Event()  # the senders are through
    abort = threading.Event()  # Ctrl-C or an error: stop early
    baseline: list[float] = []

    def sender(queue: list[Send]) -> list[Outcome]:
        return [send_one(fleet, send) for send in queue if not abort.is_set()]

    def base() -> None:
        while not abort.is_set() and (not done.is_set() or len(baseline) < 10):
            started = time.perf_counter()
            fleet.ok("--version")
            baseline.append(time.perf_counter() - started)
            done.wait(0.2)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(by_agent) + 1) as pool:
        base_future = pool.submit(base)
        futures = [pool.submit(sender, queue) for queue in by_agent.values()]
        try:
            outcomes = [o for f in futures for o in f.result()]
            elapsed = time.perf_counter() - started
        except BaseException:
            abort.set()
            raise
        finally:
            done.set()
        base_future.result()
    outcomes.sort(key=lambda o: o.send.index)
    return outcomes, baseline, elapsed


def check(fleet: _fleet.BenchFleet, sends: list[Send]) -> tuple[int, list[str]]:
    """Messages recorded byte-exact, in order, per agent; and what went wrong."""
    problems: list[str] = []
    exact = 0
    for agent in sorted({s.agent for s in sends}):
        sent = [s.text for s in sends if s.agent == agent]
        deadline = time.monotonic() + 5
        got = records(fleet, agent)
        while len(got) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.1)
            got = records(fleet, agent)
        for i, text in enumerate(sent):
            if i < len(got) and got[i] == text:
                exact += 1
            elif len(problems) < 10:
                found = repr(got[i][:60]) if i < len(got) else "nothing"
                problems.append(f"{agent} #{i}: sent {text[:60]!r}, recorded {found}")
        if len(got) > len(sent):
            problems.append(f"{agent}: {len(got) - len(sent)} unexpected extra records")
    return exact, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument(
        "--modes", default="sequential", help=f"comma list cycled over messages: {','.join(MODES)}"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    modes = tuple(args.modes.split(","))
    if args.agents < 1 or args.messages < 1 or not set(modes) <= set(MODES):
        parser.error("need --agents >= 1, --messages >= 1 and --modes from " + ",".join(MODES))
    names = [f"a{i}" for i in range(args.agents)]
    sends = plan(names, args.messages, args.seed, modes)

    log = _fleet.logger(args.json)
    with _fleet.bench_fleet("bench-delivery") as fleet:
        started = time.perf_counter()
        spawn_agents(fleet, names)
        log(f"spawned {len(names)} fake agents in {time.perf_counter() - started:.1f} s")
        outcomes, baseline, elapsed = send_all(fleet, sends)
        exact, check_problems = check(fleet, sends)

    failed = [o for o in outcomes if not o.ok]
    problems = [f"send m{o.send.index:04d} to {o.send.agent}: {o.error}" for o in failed[:10]]
    problems += check_problems
    latency = [o.seconds * 1000 for o in outcomes]
    base_p50 = statistics.median(baseline) * 1000
    kinds: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        of_kind = [o for o in outcomes if o.send.kind == kind]
        if of_kind:
            ms = [o.seconds * 1000 for o in of_kind]
            kinds[kind] = {
                "count": len(of_kind),
                "bytes_avg": round(statistics.mean(len(o.send.text.encode()) for o in of_kind)),
                "p50_ms": round(_fleet.percentile(ms, 50), 1),
                "p95_ms": round(_fleet.percentile(ms, 95), 1),
            }
    figures: dict[str, Any] = {
        "agents": len(names),
        "messages": len(sends),
        "modes": list(modes),
        "seed": args.seed,
        "byte_exact": exact,
        "byte_exact_share": exact / len(sends),
        "send_failures": len(failed),
        "send_p50_ms": round(_fleet.percentile(latency, 50), 1),
        "send_p95_ms": round(_fleet.percentile(latency, 95), 1),
        "send_max_ms": round(max(latency), 1),
        "baseline_version_p50_ms": round(base_p50, 1),
        "baseline_runs": len(baseline),
        "send_p50_ratio": round(_fleet.percentile(latency, 50) / base_p50, 2),
        "send_p95_ratio": round(_fleet.percentile(latency, 95) / base_p50, 2),
        "elapsed_s": round(elapsed, 1),
        "messages_per_s": round(len(sends) / elapsed, 2),
        "kinds": kinds,
        "problems": problems,
    }
    passed = exact == len(sends) and not problems
    if args.json:
        _fleet.print_json(figures, ensure_ascii=False)
    else:
        report(figures)
    return 0 if passed else 1


def report(f: dict[str, Any]) -> None:
    print(
        f"{f['messages']} messages to {f['agents']} agents ({', '.join(f['modes'])}), "
        f"{f['agents']} concurrent senders: {f['elapsed_s']} s, {f['messages_per_s']} msg/s"
    )
    verdict = "OK" if f["byte_exact"] == f["messages"] and not f["problems"] else "FAIL"
    print(
        f"byte-exact: {f['byte_exact']}/{f['messages']} ({f['byte_exact_share']:.1%}) {verdict}"
        f", send failures: {f['send_failures']}"
    )
    base = f["baseline_version_p50_ms"]
    print(
        f"baseline `tmuxorch --version` p50: {base:.1f} ms ({f['baseline_runs']} runs, same load)"
    )
    print(
        f"send latency: p50 {f['send_p50_ms']:.1f} ms ({f['send_p50_ratio']:.1f}x baseline), "
        f"p95 {f['send_p95_ms']:.1f} ms ({f['send_p95_ratio']:.1f}x), max {f['send_max_ms']:.1f} ms"
    )
    print(f"  {'kind':<12} {'n':>4} {'bytes':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, k in f["kinds"].items():
        print(
            f"  {kind:<12} {k['count']:>4} {k['bytes_avg']:>6} "
            f"{k['p50_ms']:>8.1f} {k['p95_ms']:>8.1f}"
        )
    for problem in f["problems"]:
        print(f"  problem: {problem}")


if __name__ == "__main__":
    _fleet.run_main(main)
