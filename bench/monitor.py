"""Monitor figures: idle CPU cost at 50 agents, screen/tool_use -> state latency.

    python bench/monitor.py [--agents N] [--seconds S] [--rounds N] [--claude-rounds N]
                            [--no-claude] [--json]

On a private tmux server and a temporary home (both removed at the end):

1. **Idle cost.** Spawns N idle shell agents (``/bin/bash --norc --noprofile``
   with ``PS1="$ "``), waits until all are idle, then reads utime+stime from
   /proc/PID/stat of the monitor (pid in HOME/monitor.lock; its reaped
   children, the tmux client calls it makes, are counted apart) and of the
   tmux server over S seconds, as % of one core. Target: under 1%. The bench's
   own process, which only sleeps in that window, is the sanity reference.
2. **Shell: screen change -> state event.** On an idle shell agent, types
   ``read -p "Continue? [y/N] " x`` + Enter with ``tmux send-keys`` directly
   (not through tmuxorch, so only the monitor is timed) and measures until a
   ``waiting`` event shows; then ``n`` + Enter until ``idle`` shows. The idle
   latency includes the shell profile's quiet period (0.5 s) by design: an
   agent without hooks counts as idle only once its screen stayed still.
3. **Claude: tool_use -> waiting.** One real Claude Code agent against the
   fake Anthropic API (tests/fakeapi.py), ``--permission-mode default``. Each
   round scripts ``tool_use("Write", new file)`` + ``text("ok")``, sends a
   prompt with ``tmuxorch send`` and measures from the moment the fake API
   answers with the tool_use to the ``waiting`` event; then approves and waits
   for idle. Target: p95 under 300 ms.

Latencies are taken two ways: "seen" is when a ``tmuxorch events --follow
--json`` subprocess printed the event (what a script watching the fleet gets),
"stored" is the event's own timestamp in the store (when it was committed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import _fleet

SHELL_QUIET = 0.5  # the built-in shell profile's quiet period (tmuxorch/core/profiles.py)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMPT_CMD = 'read -p "Continue? [y/N] " x'

# --------------------------------------------------------------------------
# Measuring: /proc CPU times, the event stream, percentiles
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """Seconds of CPU from /proc/PID/stat: own (all threads) and reaped children."""

    own: float
    children: float
    switches: int  # voluntary context switches over all threads: wake-ups


def cpu_of(pid: int) -> Cpu:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After "pid (comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    switches += int(line.split()[1])
    return Cpu((utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK, switches)


def summary(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(_fleet.percentile(ms, 50), 1),
        "p95_ms": round(_fleet.percentile(ms, 95), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic() when the follower printed it
    event: dict[str, Any]


class EventStream:
    """``tmuxorch events --follow --json`` in a subprocess, lines into a queue."""

    def __init__(self, fleet: _fleet.BenchFleet) -> None:
        self.db = fleet.home / "state.db"
        self.queue: queue.SimpleQueue[Seen] = queue.SimpleQueue()
        argv = [*_fleet.tmuxorch_argv(), "events", "--follow", "--json", "--limit", "1"]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=fleet.environ
        )
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            with contextlib.suppress(ValueError):
                self.queue.put(Seen(time.monotonic(), json.loads(line)))

    def drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()

    def expect(self, agent: str, state: str, timeout: float) -> Seen:
        """The first event of ``agent`` that moves it to ``state``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {state} event for {agent} in {timeout} s")
            try:
                seen = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            if seen.event.get("agent") == agent and seen.event.get("state") == state:
                return seen

    def stored_ts(self, event_id: int) -> float:
        """The event's own commit timestamp (wall clock), read-only from the store."""
        return float(self.query("SELECT ts FROM events WHERE id = ?", event_id)[0][0])

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return list(conn.execute(sql, args).fetchall())
        finally:
            conn.close()

    def last_id(self) -> int:
        return int(self.query("SELECT coalesce(max(id), 0) FROM events")[0][0])

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------
# 1. Idle cost
# --------------------------------------------------------------------------


def spawn_shells(fleet: _fleet.BenchFleet, names: list[str]) -> None:
    fleet.spawn(names, lambda _: "shell", workers=min(len(names), 8))
    fleet.ok("wait", *names, "--until", "idle", "--timeout", "90", timeout=120)


def idle_cost(fleet: _fleet.BenchFleet, seconds: float) -> dict[str, Any]:
    monitor_pid = fleet.monitor_pid()
    tmux_pid = int(fleet.tmux("display", "-p", "#{pid}"))
    time.sleep(1.0)  # let the last idle transitions' looks finish
    mon0, tmux0, self0 = cpu_of(monitor_pid), cpu_of(tmux_pid), os.times()
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    mon1, tmux1, self1 = cpu_of(monitor_pid), cpu_of(tmux_pid), os.times()

    def pct(cpu_seconds: float) -> float:
        return round(100 * cpu_seconds / elapsed, 3)

    mon_own = mon1.own - mon0.own
    mon_children = mon1.children - mon0.children
    bench = (self1.user + self1.system) - (self0.user + self0.system)
    return {
        "window_s": round(elapsed, 2),
        "tick_s": 1 / CLK_TCK,
        "monitor_pid": monitor_pid,
        "monitor_cpu_s": round(mon_own, 3),
        "monitor_pct": pct(mon_own),
        "monitor_children_cpu_s": round(mon_children, 3),
        "monitor_children_pct": pct(mon_children),
        "monitor_wakeups": mon1.switches - mon0.switches,
        "tmux_server_pid": tmux_pid,
        "tmux_server_cpu_s": round(tmux1.own - tmux0.own, 3),
        "tmux_server_pct": pct(tmux1.own - tmux0.own),
        "bench_self_pct": pct(bench),
        "total_pct": pct(mon_own + mon_children + tmux1.own - tmux0.own),
        "target_pct": 1.0,
    }


# --------------------------------------------------------------------------
# 2. Shell: screen change -> state event
# --------------------------------------------------------------------------


def shell_latency(
    fleet: _fleet.BenchFleet, stream: EventStream, name: str, rounds: int, pause: float
) -> dict[str, Any]:
    pane = str(json.loads(fleet.ok("status", name, "--json"))["pane_id"])
    waiting: list[float] = []
    waiting_stored: list[float] = []
    idle: list[float] = []
    idle_stored: list[float] = []
    for _ in range(rounds):
        # An idle agent has usually been idle a while: start past the monitor's
        # per-agent minimum interval between looks, not right on its heels.
        time.sleep(pause)
        stream.drain()
        wall, sent = time.time(), time.monotonic()
        fleet.tmux("send-keys", "-t", pane, PROMPT_CMD, "Enter")
        seen = stream.expect(name, "waiting", timeout=10)
        waiting.append((seen.at - sent) * 1000)
        waiting_stored.append((stream.stored_ts(int(seen.event["id"])) - wall) * 1000)
        wall, sent = time.time(), time.monotonic()
        fleet.tmux("send-keys", "-t", pane, "n", "Enter")
        seen = stream.expect(name, "idle", timeout=10)
        idle.append((seen.at - sent) * 1000)
        idle_stored.append((stream.stored_ts(int(seen.event["id"])) - wall) * 1000)
    return {
        "agent": name,
        "rounds": rounds,
        "pause_s": pause,
        "waiting_seen": summary(waiting),
        "waiting_stored": summary(waiting_stored),
        "raw_waiting_seen_ms": [round(x, 1) for x in waiting],
        "raw_waiting_stored_ms": [round(x, 1) for x in waiting_stored],
        "idle_seen": summary(idle),
        "idle_stored": summary(idle_stored),
        "quiet_s": SHELL_QUIET,
        "idle_p50_over_quiet_ms": round(_fleet.percentile(idle, 50) - SHELL_QUIET * 1000, 1),
        "waiting_p50_vs_quiet": round(_fleet.percentile(waiting, 50) / (SHELL_QUIET * 1000), 3),
    }


# --------------------------------------------------------------------------
# 3. Claude: tool_use -> waiting
# --------------------------------------------------------------------------


def timed(response: Any, answered: list[tuple[float, float]]) -> Callable[[dict[str, Any]], Any]:
    """A script entry for the fake API that notes (monotonic, wall) as it answers."""

    def entry(body: dict[str, Any]) -> Any:
        answered.append((time.monotonic(), time.time()))
        return response

    return entry


def hook_process_ms(fleet: _fleet.BenchFleet, runs: int = 7) -> list[float]:
    """Wall time of one ``tmuxorch hook Stop`` process outside any fleet: the
    floor every hook-driven state change pays (interpreter start + imports)."""
    env = {k: v for k, v in fleet.environ.items() if not k.startswith("TMUXORCH_")}
    env["HOME"] = str(fleet.tmp / "empty-home")
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(
            [*_fleet.tmuxorch_argv(), "hook", "Stop"], input=b"{}", capture_output=True,
            env=env, timeout=30, check=False,
        )  # fmt: skip
        times.append((time.monotonic() - started) * 1000)
    return times


def approve(fleet: _fleet.BenchFleet, name: str) -> int:
    """``tmuxorch approve``; if the state flapped away from waiting, wait for it
    to come back and try again. Returns the number of retries."""
    deadline = time.monotonic() + 15
    # The PermissionRequest hook can say "waiting" before the dialog is drawn,
    # and keys pressed then are lost: answer once the monitor read the dialog.
    while time.monotonic() < deadline:
        status = json.loads(fleet.ok("status", name, "--json"))
        if status["state"] == "waiting" and "Do you want" in str(status["detail"]):
            break
        time.sleep(0.05)
    for retry in range(5):
        try:
            fleet.ok("approve", name)
            return retry
        except RuntimeError as exc:
            if "not waiting" not in str(exc):
                raise
            fleet.ok("wait", name, "--until", "waiting", "--timeout", "10", timeout=30)
    raise RuntimeError(f"{name}: could not approve after 5 tries")


def claude_latency(
    fleet: _fleet.BenchFleet, stream: EventStream, api: Any, project: Path, rounds: int
) -> dict[str, Any]:
    from tests.fakeapi import text, tool_use

    name = "claude0"
    started = time.monotonic()
    fleet.ok("spawn", name, "--agent", "claude", "--cwd", str(project),
             "--permission-mode", "default")  # fmt: skip
    fleet.ok("wait", name, "--until", "idle", "--timeout", "90", timeout=120)
    startup = time.monotonic() - started
    latencies: list[float] = []
    stored: list[float] = []
    sources: dict[str, int] = {}
    timeline: dict[str, list[float]] = {}
    flaps: list[tuple[str, float]] = []  # waiting -> busy before anyone answered
    approve_retries = 0
    for i in range(rounds):
        answered: list[tuple[float, float]] = []  # (monotonic, wall) when the handler answers
        target = project / f"bench-{i:03d}.txt"

        write = tool_use("Write", {"file_path": str(target), "content": f"round {i}\n"})
        scripted = timed(write, answered)
        api.enqueue(scripted, text("ok"))
        first_id = stream.last_id()
        stream.drain()
        fleet.ok("send", name, f"round {i}: write {target.name}")
        seen = stream.expect(name, "waiting", timeout=60)
        mono, wall = answered[0]
        latencies.append((seen.at - mono) * 1000)
        stored.append((stream.stored_ts(int(seen.event["id"])) - wall) * 1000)
        source = str(seen.event.get("event"))
        if source == "state":
            source = f"state ({seen.event.get('data', {}).get('source', '?')})"
        sources[source] = sources.get(source, 0) + 1
        approve_retries += approve(fleet, name)
        fleet.ok("wait", name, "--until", "idle", "--timeout", "60", timeout=90)
        # Every event of the round up to the approval, as ms after the tool_use.
        seen_kinds: set[str] = set()
        previous = ""
        for _, ts, event, state in stream.query(
            "SELECT id, ts, event, state FROM events WHERE agent = ? AND id > ? ORDER BY id",
            name,
            first_id,
        ):
            if event == "approved":
                break
            if state and previous == "waiting" and state == "busy":
                flaps.append((event, (ts - wall) * 1000))
            previous = state or previous
            kind = event if event.startswith("hook:") else f"{event} -> {state}"
            if kind not in seen_kinds:
                seen_kinds.add(kind)
                timeline.setdefault(kind, []).append((ts - wall) * 1000)
        if api.pending():  # the turn ended without consuming "ok": keep rounds aligned
            api.clear_script()
    return {
        "agent": name,
        "rounds": rounds,
        "startup_s": round(startup, 1),
        "waiting_seen": summary(latencies),
        "waiting_stored": summary(stored),
        "waiting_event_sources": sources,
        # Median ms after the tool_use at which each kind of event was stored.
        "timeline_p50_ms": {
            kind: round(_fleet.percentile(ms, 50), 1)
            for kind, ms in sorted(timeline.items(), key=lambda kv: _fleet.percentile(kv[1], 50))
        },
        "waiting_to_busy_flaps": len(flaps),
        "flaps": [{"event": e, "at_ms": round(ms, 1)} for e, ms in flaps],
        "approve_retries": approve_retries,
        "raw_seen_ms": [round(x, 1) for x in latencies],
        "raw_stored_ms": [round(x, 1) for x in stored],
        "hook_process_p50_ms": round(_fleet.percentile(hook_process_ms(fleet), 50), 1),
        "target_p95_ms": 300.0,
        "p95_vs_target": round(_fleet.percentile(latencies, 95) / 300.0, 2),
    }


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=50, help="idle shell agents (default 50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="idle CPU window (default 30)")
    parser.add_argument("--rounds", type=int, default=30, help="shell latency rounds (default 30)")
    parser.add_argument(
        "--pause", type=float, default=0.3, help="shell: idle time before each round (0.3)"
    )
    parser.add_argument("--claude-rounds", type=int, default=10, help="Claude rounds (default 10)")
    parser.add_argument("--no-claude", action="store_true", help="skip the Claude part")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.seconds <= 0 or args.rounds < 1 or args.claude_rounds < 1:
        parser.error("need --agents >= 1, --seconds > 0, --rounds >= 1, --claude-rounds >= 1")

    log = _fleet.logger(args.json)
    sys.path.insert(0, str(_fleet.REPO))
    from tests.claude_env import CLAUDE_ENV_UNSET, claude_env, find_claude
    from tests.fakeapi import FakeAnthropic

    claude = None if args.no_claude else find_claude()
    figures: dict[str, Any] = {"agents": args.agents}
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(_fleet.bench_fleet("bench-monitor"))
        fleet.extra_env["PYTHONUNBUFFERED"] = "1"
        api = stack.enter_context(FakeAnthropic())
        project = fleet.tmp / "project"
        project.mkdir()
        agents: dict[str, dict[str, Any]] = {"shell": _fleet.SHELL_PROFILE}
        if claude:
            claude_vars = claude_env(
                fleet.tmp / "claude-config", project, api.url, home=fleet.tmp / "claude-home"
            )
            agents["claude"] = {"command": claude, "env": claude_vars}
            fleet.unset = CLAUDE_ENV_UNSET
        fleet.write_config(agents)

        names = [f"s{i:02d}" for i in range(args.agents)]
        started = time.monotonic()
        spawn_shells(fleet, names)
        figures["spawn_to_idle_s"] = round(time.monotonic() - started, 1)
        log(f"spawned {len(names)} shell agents, all idle after {figures['spawn_to_idle_s']} s")
        log(f"measuring idle CPU over {args.seconds:g} s ...")
        figures["idle"] = idle_cost(fleet, args.seconds)
        report_idle(figures["idle"], len(names), log)

        stream = EventStream(fleet)
        stack.callback(stream.close)
        time.sleep(0.5)  # the follower is up and watching
        figures["shell"] = shell_latency(fleet, stream, names[0], args.rounds, args.pause)
        report_shell(figures["shell"], log)

        if claude:
            figures["claude"] = claude_latency(fleet, stream, api, project, args.claude_rounds)
            report_claude(figures["claude"], log)
        else:
            figures["claude"] = None
            log("Claude part skipped (--no-claude, or no claude binary found)")

    if args.json:
        _fleet.print_json(figures)
    if args.save:
        Path(args.save).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    idle_ok = figures["idle"]["total_pct"] < 1.0
    claude_ok = figures["claude"] is None or figures["claude"]["waiting_seen"]["p95_ms"] < 300
    return 0 if idle_ok and claude_ok else 1


def _line(label: str, s: dict[str, float]) -> str:
    return (
        f"  {label:<26} p50 {s['p50_ms']:7.1f} ms  p95 {s['p95_ms']:7.1f} ms  "
        f"(min {s['min_ms']:.1f}, max {s['max_ms']:.1f}, n={int(s['n'])})"
    )


def report_idle(f: dict[str, Any], agents: int, log: Callable[[str], None]) -> None:
    verdict = "OK" if f["total_pct"] < f["target_pct"] else "OVER TARGET"
    log(f"idle cost, {agents} idle agents, {f['window_s']} s window (% of one core):")
    log(
        f"  monitor          {f['monitor_pct']:6.3f} %  ({f['monitor_cpu_s']} s CPU, "
        f"{f['monitor_wakeups']} wake-ups over all threads)"
    )
    log(
        f"  monitor children {f['monitor_children_pct']:6.3f} %  (reaped tmux client calls, "
        f"{f['monitor_children_cpu_s']} s)"
    )
    log(f"  tmux server      {f['tmux_server_pct']:6.3f} %  ({f['tmux_server_cpu_s']} s CPU)")
    log(f"  total            {f['total_pct']:6.3f} %  target < {f['target_pct']} %  {verdict}")
    log(
        f"  reference: this bench process (sleeping) {f['bench_self_pct']:.3f} %; "
        f"/proc resolution {f['tick_s'] * 1000:.0f} ms = "
        f"{100 * f['tick_s'] / f['window_s']:.3f} % over the window"
    )


def report_shell(f: dict[str, Any], log: Callable[[str], None]) -> None:
    log(
        f"shell agent {f['agent']}, {f['rounds']} rounds ({f['pause_s']} s idle before each), "
        "send-keys -> event:"
    )
    log(_line("waiting (seen by follower)", f["waiting_seen"]))
    log(_line("waiting (stored ts)", f["waiting_stored"]))
    log(_line("idle (seen by follower)", f["idle_seen"]))
    log(_line("idle (stored ts)", f["idle_stored"]))
    log(
        f"  idle includes the profile's quiet period of {f['quiet_s']} s by design: "
        f"p50 is {f['idle_p50_over_quiet_ms']:.1f} ms over it; waiting p50 is "
        f"{f['waiting_p50_vs_quiet']:.2f}x the quiet period (no quiet wait for prompts)"
    )


def report_claude(f: dict[str, Any], log: Callable[[str], None]) -> None:
    verdict = "OK" if f["waiting_seen"]["p95_ms"] < f["target_p95_ms"] else "OVER TARGET"
    log(
        f"claude agent {f['agent']} (started in {f['startup_s']} s), {f['rounds']} rounds, "
        "fake API sends tool_use -> waiting event:"
    )
    log(_line("waiting (seen by follower)", f["waiting_seen"]))
    log(_line("waiting (stored ts)", f["waiting_stored"]))
    log(
        f"  target p95 < {f['target_p95_ms']:.0f} ms: {f['p95_vs_target']:.2f}x target {verdict}; "
        f"first waiting event from: {f['waiting_event_sources']}"
    )
    log(
        f"  waiting -> busy flaps before the approval (screen overriding the hook): "
        f"{f['waiting_to_busy_flaps']} in {f['rounds']} rounds; approve retries "
        f"{f['approve_retries']}"
    )
    log("  where the time goes (p50 ms after the tool_use, stored ts of each event kind):")
    for kind, ms in f["timeline_p50_ms"].items():
        log(f"    {ms:7.1f}  {kind}")
    log(
        f"  reference: one `tmuxorch hook Stop` process outside a fleet: "
        f"p50 {f['hook_process_p50_ms']:.1f} ms"
    )


if __name__ == "__main__":
    _fleet.run_main(main)
