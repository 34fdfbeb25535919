"""batch on fake agents (fast) and on the real Claude Code; delegate on Claude."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env, Router, base_config
from tests.fakeapi import Usage, text, tool_use
from tests.helpers import HOST, retry_until
from tmuxorch.fleet import monitorproc


def _write(tmp: Path, tasks: Any, suffix: str = ".yaml") -> Path:
    path = tmp / f"tasks{suffix}"
    path.write_text(json.dumps(tasks) if suffix == ".json" else yaml.safe_dump(tasks))
    return path


def _summary(env: Env, path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = env.cli("batch", str(path), "--json", *args, timeout=300)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _overlap(env: Env, names: list[str]) -> int:
    """Most tasks running at once, from the event log (spawned .. last state change)."""
    marks: list[tuple[float, int]] = []
    for name in names:
        events = [json.loads(x) for x in env.ok("events", "--json", "--agent", name).splitlines()]
        start = next(e["ts"] for e in events if e["event"] == "spawned")
        end = [e["ts"] for e in events if e["state"]][-1]  # not a cost read after the turn
        marks += [(start, 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(marks):
        running += step
        peak = max(peak, running)
    return peak


def test_batch_of_fake_agents(env: Env) -> None:
    gate = env.tmp / "go"
    tasks = [
        {"name": "a", "prompt": f"hold {gate}", "agent": "fake"},
        {"name": "b", "prompt": f"hold {gate}", "agent": "fake"},
        {"name": "c", "prompt": "after a", "agent": "fake", "depends_on": "a"},
        {"name": "d", "prompt": "quick", "agent": "fake"},
    ]
    argv = [sys.executable, "-m", "tmuxorch", "batch", str(_write(env.tmp, tasks)), "--json"]
    with subprocess.Popen(
        [*argv, "--max-parallel", "2"], env=env.environ, stdout=subprocess.PIPE, text=True
    ) as proc:
        retry_until(
            lambda: (
                sorted(a["name"] for a in env.json("list") if a["state"] == "busy") == ["a", "b"]
            ),
            timeout=60,
            message="a and b at work",
        )
        assert sorted(a["name"] for a in env.json("list")) == ["a", "b"]  # two at most
        gate.touch()
        out, _ = proc.communicate(timeout=300)
    summary = json.loads(out)
    assert proc.returncode == 0 and summary["ok"]
    assert [t["status"] for t in summary["tasks"]] == ["completed"] * 4
    assert set(summary["tasks"][0]) == {
        "name",
        "status",
        "response",
        "cost_usd",
        "duration_s",
        "error",
    }
    records = env.records()
    assert records.index("after a") > records.index(f"hold {gate}")
    assert _overlap(env, ["a", "b", "c", "d"]) == 2


def test_batch_timeout_and_skip(env: Env) -> None:
    tasks = [
        {"name": "slow", "prompt": "sleep 600", "agent": "fake", "timeout": 1},
        {"name": "next", "prompt": "never", "agent": "fake", "depends_on": ["slow"]},
        {"name": "fine", "prompt": "quick", "agent": "fake"},
    ]
    code, summary = _summary(env, _write(env.tmp, tasks, ".json"))
    assert code == 1 and not summary["ok"]
    status = {t["name"]: t["status"] for t in summary["tasks"]}
    assert status == {"slow": "timeout", "next": "skipped", "fine": "completed"}
    assert "never" not in env.records()


def test_prompt_never_delivered_is_a_failure(env: Env) -> None:
    """An agent that never takes its prompt stays idle: that is no completion."""
    config = base_config(env.tmp)
    config["delivery"] = {"verify_timeout": 0.5, "retries": 1}
    sink = "stty raw -icrnl; printf '> '; exec cat > /dev/null"  # Enter is just a byte
    config["agents"]["sink"] = {"command": "/bin/sh", "args": ["-c", sink], "ready": [r"^>"]}
    env.write_config(config)
    tasks = [
        {"name": "deaf", "prompt": "hello", "agent": "sink"},
        {"name": "after", "prompt": "never", "agent": "fake", "depends_on": "deaf"},
    ]
    code, summary = _summary(env, _write(env.tmp, tasks))
    assert code == 1 and not summary["ok"]
    deaf, after = summary["tasks"]
    assert deaf["status"] == "failed" and "never submitted" in deaf["error"]
    assert after["status"] == "skipped"


INVALID = [
    ("not-a-list", {"a": 1}, "expected a list of tasks"),
    ("missing-prompt", [{"name": "a"}], "task 'a': missing key 'prompt'"),
    ("unknown-key", [{"name": "a", "prompt": "p", "colour": 1}], "task 'a': unknown key 'colour'"),
    ("bad-type", [{"name": "a", "prompt": "p", "timeout": "soon"}], "task 'a': key 'timeout'"),
    ("bad-name", [{"name": "a b", "prompt": "p"}], "key 'name' is not a valid agent name"),
    ("duplicate", [{"name": "a", "prompt": "p"}, {"name": "a", "prompt": "q"}], "used twice"),
    ("unknown-dep", [{"name": "a", "prompt": "p", "depends_on": "z"}], "unknown task 'z'"),
    ("cycle", [{"name": "a", "prompt": "p", "depends_on": "b"},
               {"name": "b", "prompt": "p", "depends_on": "a"}], "makes a cycle"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tasks", "message"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID]
)
def test_invalid_file(env: Env, tasks: Any, message: str) -> None:
    proc = env.cli("batch", str(_write(env.tmp, tasks)))
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert env.json("list") == []  # validated before anything started


def test_batch_on_claude(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("a", "b", "c", "d")
    fleet.api.default = router
    for name in ("a", "b"):
        router.scripts[name].append(text(f"{name} done", delay=3))
    router.scripts["c"].append(text("c done"))
    router.scripts["d"].append(text("d done"))
    cwd = str(fleet.project)
    tasks = [
        {"name": "a", "prompt": "task a", "agent": "claude", "cwd": cwd},
        {"name": "b", "prompt": "task b", "agent": "claude", "cwd": cwd},
        {"name": "c", "prompt": "task c", "agent": "claude", "cwd": cwd, "depends_on": "a"},
        {"name": "d", "prompt": "task d", "agent": "claude", "cwd": cwd},
    ]
    code, summary = _summary(env, _write(env.tmp, tasks), "--max-parallel", "2")
    assert code == 0, summary
    assert {t["name"]: t["response"] for t in summary["tasks"]} == {n: f"{n} done" for n in "abcd"}
    first = {n: _first_time(fleet, n) for n in "abcd"}
    # c asked the model only after a's (3 s) answer; at most two ran at once.
    assert first["c"] >= first["a"] + 3
    times = sorted(first.values())
    assert times[2] >= times[0] + 3
    assert _overlap(env, list("abcd")) == 2


def test_batch_and_delegate_costs_are_final_when_returned(claude_fleet: ClaudeFleet) -> None:
    """The cost a summary or a result shows is the one read later: the turn's
    last responses are counted before it is returned."""
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("a", "d1")
    fleet.api.default = router
    usage = Usage(input_tokens=1000, output_tokens=100)
    router.scripts["a"].extend(
        [tool_use("Read", {"file_path": str(fleet.project / "f")}, usage=usage),
         text("a done", usage=usage)]
    )  # fmt: skip
    router.scripts["d1"].append(text("d1 done", usage=usage))
    task = {"name": "a", "prompt": "task a", "agent": "claude", "cwd": str(fleet.project)}
    code, summary = _summary(env, _write(env.tmp, [task]))
    assert code == 0, summary
    code, result = _delegate(env, "d1", "task d1", "--cwd", str(fleet.project))
    assert code == 0, result
    reported = {
        summary["tasks"][0]["name"]: summary["tasks"][0]["cost_usd"],
        "d1": result["cost_usd"],
    }
    later = {name: round(env.json("cost", name)["cost_usd"], 6) for name in ("a", "d1")}
    assert reported == later and all(later.values())


def _first_time(fleet: ClaudeFleet, name: str) -> float:
    return min(
        r.time
        for r in fleet.api.turn_requests()
        if f"You are agent '{name}'" in json.dumps(r.body.get("system", ""))
    )


def _delegate(env: Env, *args: str) -> tuple[int, dict[str, Any]]:
    proc = env.cli("delegate", *args, "--agent", "claude", "--json", timeout=300)
    assert "Traceback" not in proc.stderr and proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


DELEGATE_KEYS = {"status", "response", "cost_usd", "turns", "duration_s", "session_id", "name",
                 "can_continue", "tools_used", "safety", "error"}  # fmt: skip


def test_delegate_completed_then_continue(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("d1")
    fleet.api.default = router
    router.scripts["d1"].extend(
        [
            tool_use("Read", {"file_path": str(fleet.project / "README")}),
            text("Summary: nothing there.", usage=Usage(input_tokens=1000, output_tokens=100)),
            text("Corrected."),
        ]
    )
    (fleet.project / "README").write_text("hello\n")
    code, result = _delegate(
        env, "d1", "summarise README", "--preset", "read-only", "--cwd", str(fleet.project)
    )
    assert code == 0 and set(result) == DELEGATE_KEYS
    assert result["status"] == "completed" and result["response"] == "Summary: nothing there."
    assert result["tools_used"] == ["Read"] and result["turns"] == 2 and result["can_continue"]
    assert result["session_id"] and result["cost_usd"] > 0
    proc = env.cli("continue", "d1", "fix it", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["response"] == "Corrected."
    env.ok("finish", "d1")
    assert env.json("status", "d1")["state"] == "stopped"


def test_delegate_needs_input_under_read_only(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("d1")
    fleet.api.default = router
    target = fleet.project / "x.txt"
    router.scripts["d1"].append(tool_use("Write", {"file_path": str(target), "content": "x"}))
    code, result = _delegate(
        env, "d1", "write x", "--preset", "read-only", "--cwd", str(fleet.project)
    )
    assert code == 3 and result["status"] == "needs_input"
    assert not target.exists() and result["can_continue"]


def test_continue_after_needs_input_answers_the_prompt(claude_fleet: ClaudeFleet) -> None:
    """The correction is not queued behind the open prompt: the prompt is
    denied, the correction delivered and its answer returned."""
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("d1")
    fleet.api.default = router
    target = fleet.project / "x.txt"
    router.scripts["d1"].extend(
        [tool_use("Write", {"file_path": str(target), "content": "x"}), text("Left it alone.")]
    )
    code, result = _delegate(
        env, "d1", "write x", "--preset", "read-only", "--cwd", str(fleet.project)
    )
    assert code == 3 and result["status"] == "needs_input"
    proc = env.cli("continue", "d1", "never mind", "--json", "--timeout", "120", timeout=300)
    result = json.loads(proc.stdout)
    assert (proc.returncode, result["status"]) == (0, "completed"), result
    assert result["response"] == "Left it alone." and not target.exists()
    denied = [json.loads(e) for e in env.ok("events", "--json", "--agent", "d1").splitlines()]
    assert [e["event"] for e in denied if e["event"] in ("approved", "denied")] == ["denied"]


def test_delegate_turns_exceeded(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("d1")
    fleet.api.default = router
    for i in range(4):
        router.scripts["d1"].append(tool_use("Read", {"file_path": str(fleet.project / f"f{i}")}))
    code, result = _delegate(
        env, "d1", "read a lot", "--preset", "edit", "--max-turns", "2", "--cwd", str(fleet.project)
    )
    assert code == 1 and result["status"] == "turns_exceeded"
    assert result["safety"]["limits"]["max_turns"] == 2
    assert "max_turns: step 3 is over the cap of 2" in result["safety"]["violations"][0]
    (violation,) = env.json("status", "d1")["violations"]
    assert (violation["limit"], violation["value"], violation["cap"]) == ("max_turns", 3, 2)


def test_delegate_to_a_fake_agent_and_one_that_dies(env: Env) -> None:
    proc = env.cli("delegate", "d1", "sleep 1", "--agent", "fake", "--json", timeout=120)
    result = json.loads(proc.stdout)
    assert proc.returncode == 0 and result["status"] == "completed" and result["can_continue"]
    config = yaml.safe_load(env.config_path.read_text())
    dies = {"command": "/bin/sh", "args": ["-c", "sleep 0.5; exit 3"], "ready": ["^>"]}
    config["agents"]["dies"] = dies
    env.write_config(config)
    proc = env.cli("delegate", "d2", "anything", "--agent", "dies", "--json", timeout=120)
    result = json.loads(proc.stdout)
    assert proc.returncode == 1 and result["status"] == "failed" and not result["can_continue"]
    assert result["error"]


def test_delegate_sees_its_agent_die_with_no_monitor(env: Env, tmp_path: Path) -> None:
    """The waiter looks at the agent's pane itself: it does not wait on a
    monitor (which may be gone) to say the agent died with the task queued."""
    go = tmp_path / "go"
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["dies"] = {
        "command": "/bin/sh",
        # Dies once the task is queued (it never takes input).
        "args": ["-c", f"until [ -e {go} ]; do sleep 0.05; done; echo 'dies: no'; exit 3"],
        "ready": ["^>"],
    }
    env.write_config(config)
    env.ok("list")  # the home
    with monitorproc.single_instance(env.home, HOST):  # held here: no monitor can start
        argv = ["delegate", "d", "task", "--agent", "dies", "--json", "--timeout", "60"]
        delegate = subprocess.Popen(
            [sys.executable, "-m", "tmuxorch", *argv],
            env=env.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            with env.fleet() as fleet:
                retry_until(
                    lambda: [m for m in fleet.store.messages("d") if m.status == "queued"],
                    message="the task queued",
                )
            go.touch()
            out, err = delegate.communicate(timeout=120)
        finally:
            delegate.kill()
    result = json.loads(out)
    assert delegate.returncode == 1 and b"Traceback" not in err
    assert (result["status"], result["error"]) == (
        "failed",
        "exit status 3 during start-up: dies: no",
    )


def test_the_monitor_reads_a_profile_added_after_it_started(env: Env) -> None:
    env.spawn_ready("s1")
    monitor = monitorproc.lock_file(env.home, HOST).read_text()
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["late"] = {"extends": "shell"}
    env.write_config(config)
    env.spawn_ready("l1", "--agent", "late")
    env.ok("send", "l1", "echo late-$((6*7))")
    retry_until(lambda: "late-42" in env.ok("output", "l1"), message="the message ran")
    # The same monitor did it all: an agent of a profile it had not read did not end it.
    assert monitorproc.lock_file(env.home, HOST).read_text() == monitor
    assert monitorproc.is_running(env.home, HOST)
    assert "unknown agent profile" not in (env.home / monitorproc.LOG_FILE).read_text()
