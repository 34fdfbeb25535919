"""Permission prompt -> ``waiting`` latency with real Claude Code: hook signal vs screen only.

    python bench/signals.py [--rounds N] [--json]

Two real Claude Code agents against the fake Anthropic API
(tests/fakeapi.py), ``--permission-mode default``, on a private tmux server
and a temporary home: ``hooked`` runs with tmuxorch's hooks (the
``claude`` profile), ``screen`` with the same binary and environment in a
profile without hooks (``extends: claude``, ``hooks: false``: no settings file, no session-file
watch), so only the monitor's reading of its screen can say it waits.
Rounds alternate between them so machine noise hits both alike. Each round
scripts ``tool_use("Write", new file)`` + ``text("ok")``, sends a prompt and
measures from the moment the fake API answers with the tool_use to the
``waiting`` event as a ``tmuxorch events --follow --json`` subprocess prints
it (what a script watching the fleet gets; bench/monitor.py's stream), then
approves and waits for idle. Reported: p50/p95 of each, which event said
``waiting`` first, when the PermissionRequest hook's own event was stored
(what the hook alone gives), and screen/hook ratios. Goal: hook p95 <= 150 ms.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import _fleet
from monitor import EventStream, approve, summary, timed

GOAL_P95_MS = 150.0
AGENTS = {"hooked": "claude", "screen": "claude-screen"}


def one_round(
    fleet: _fleet.BenchFleet, stream: EventStream, api: Any, project: Path, name: str, i: int
) -> tuple[float, str, float | None]:
    """ms from the tool_use's answer to ``waiting`` seen, the event that said it,
    and ms to the PermissionRequest hook's event as stored (None: no hook)."""
    from tests.fakeapi import text, tool_use

    answered: list[tuple[float, float]] = []
    target = project / f"{name}-{i:03d}.txt"
    api.enqueue(timed(tool_use("Write", {"file_path": str(target), "content": "x\n"}), answered))
    api.enqueue(text("ok"))
    first_id = stream.last_id()
    stream.drain()
    fleet.ok("send", name, f"round {i}: write {target.name}")
    seen = stream.expect(name, "waiting", timeout=60)
    event = str(seen.event.get("event"))
    if event == "state":
        event = f"state ({seen.event.get('data', {}).get('source', '?')})"
    for _ in range(3):
        approve(fleet, name)
        # An Enter pressed as the dialog is drawn can be lost (the approval is
        # recorded, the dialog stays): answer again.
        idle = fleet.run("wait", name, "--until", "idle", "--timeout", "15", timeout=60)
        if idle.returncode == 0:
            break
    else:
        raise RuntimeError(f"{name}: still not idle after three approvals")
    if api.pending():  # the turn ended without consuming "ok": keep rounds aligned
        api.clear_script()
    hook = stream.query(
        "SELECT min(ts) FROM events WHERE agent = ? AND id > ? AND event = ?",
        name, first_id, "hook:PermissionRequest",
    )[0][0]  # fmt: skip
    hook_ms = None if hook is None else (hook - answered[0][1]) * 1000
    return (seen.at - answered[0][0]) * 1000, event, hook_ms


def main(argv: list[str] | None = None) -> int:
    args, claude = _fleet.claude_bench_args(__doc__, argv, "--rounds", 10, "rounds per agent")
    if claude is None:
        return 1
    log = _fleet.logger(args.json)
    from tests.claude_env import CLAUDE_ENV_UNSET, claude_env
    from tests.fakeapi import FakeAnthropic

    latencies: dict[str, list[float]] = {name: [] for name in AGENTS}
    hooks: list[float] = []
    sources: dict[str, dict[str, int]] = {name: {} for name in AGENTS}
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(_fleet.bench_fleet("bench-signals"))
        api = stack.enter_context(FakeAnthropic())
        project = fleet.tmp / "project"
        project.mkdir()
        env = claude_env(fleet.tmp / "claude-config", project, api.url, home=fleet.tmp / "ch")
        fleet.unset = CLAUDE_ENV_UNSET
        fleet.write_config({
            "claude": {"command": claude, "env": env},
            "claude-screen": {"extends": "claude", "command": claude, "env": env, "hooks": False},
        })  # fmt: skip
        for name, profile in AGENTS.items():
            fleet.ok("spawn", name, "--agent", profile, "--cwd", str(project),
                     "--permission-mode", "default")  # fmt: skip
        fleet.ok("wait", *AGENTS, "--until", "idle", "--timeout", "90", timeout=120)
        stream = EventStream(fleet)
        stack.callback(stream.close)
        for i in range(args.rounds):
            for name in AGENTS:
                ms, event, hook_ms = one_round(fleet, stream, api, project, name, i)
                latencies[name].append(ms)
                hooks += [] if hook_ms is None else [hook_ms]
                sources[name][event] = sources[name].get(event, 0) + 1
                log(f"round {i} {name}: {ms:.1f} ms ({event})")
    figures: dict[str, Any] = {
        name: {**summary(ms), "said_by": sources[name]} for name, ms in latencies.items()
    }
    # The hook alone, had the session file not spoken first (stored, not seen).
    figures["hooked"]["permission_request_stored"] = summary(hooks)
    for q in ("p50_ms", "p95_ms"):
        figures[f"screen_over_hook_{q[:3]}"] = round(figures["screen"][q] / figures["hooked"][q], 2)
    figures["goal_hook_p95_ms"] = GOAL_P95_MS
    if args.json:
        _fleet.print_json(figures)
    else:
        for name in AGENTS:
            f = figures[name]
            log(f"{name:<7} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  {f['said_by']}")
        hook = figures["hooked"]["permission_request_stored"]
        log(f"PermissionRequest hook stored: p50 {hook['p50_ms']} ms  p95 {hook['p95_ms']} ms")
        log(f"screen/hook: p50 x{figures['screen_over_hook_p50']}, "
            f"p95 x{figures['screen_over_hook_p95']}")  # fmt: skip
    return 0 if figures["hooked"]["p95_ms"] <= GOAL_P95_MS else 1


if __name__ == "__main__":
    _fleet.run_main(main)
