"""The safety net on the real Claude Code, offline: limits stop the agent and
tell its parent (a fake agent, whose record file lists what it was sent);
a write to a protected path is denied with a reason the model reads."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.conftest import ClaudeFleet, Router, agent_requests
from tests.fakeapi import Usage, text, tool_results, tool_use
from tests.helpers import retry_until

MODEL = "claude-sonnet-4-5-20250929"


def _router(fleet: ClaudeFleet, *names: str) -> Router:
    router = Router(*names)
    fleet.api.default = router
    return router


def _boss(fleet: ClaudeFleet) -> None:
    """The parent: a fake agent (its record file is ``env.records()``)."""
    fleet.env.spawn_ready("boss", "--agent", "fake")


def _safety_notes(fleet: ClaudeFleet) -> list[str]:
    return [r for r in fleet.env.records() if "safety net" in r]


def _violations(fleet: ClaudeFleet, name: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = fleet.env.json("status", name)["violations"]
    return result


def test_max_turns_stops_the_turn_over_the_cap_and_tells_the_parent(
    claude_fleet: ClaudeFleet,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    router.scripts["c1"].extend([text("First answer."), text("Never finished.", delay=60)])
    _boss(fleet)
    fleet.spawn("c1", "--parent", "boss", "--max-turns", "1")
    env.ok("send", "c1", "first task", "--wait", "--timeout", "60")
    env.ok("send", "c1", "second task")
    (violation,) = retry_until(lambda: _violations(fleet, "c1"), timeout=30, message="violation")
    assert (violation["limit"], violation["value"], violation["cap"]) == ("max_turns", 2, 1)
    assert violation["action"] == "interrupt"
    # Esc while the UserPromptSubmit hook runs takes the prompt back (it is left
    # in the input box); a moment later it ends the request: idle either way,
    # long before the 60 s reply.
    env.ok("wait", "c1", "--until", "idle", "--timeout", "30")
    notes = retry_until(lambda: _safety_notes(fleet), timeout=30, message="the parent's note")
    assert "child c1 was interrupted by the safety net: max_turns: step 2" in notes[0]
    stops = [json.loads(line) for line in env.ok("events", "--json", "--agent", "c1").splitlines()]
    last = [e["detail"] for e in stops if e["event"] == "hook:Stop"]
    assert len(last) == 1  # the second turn never ended on its own


def test_a_write_to_env_is_denied_with_a_reason_the_model_reads(
    claude_fleet: ClaudeFleet,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1", "c2")
    secret = fleet.project / ".env"
    for name in ("c1", "c2"):
        write = {"file_path": str(secret), "content": f"TOKEN={name}\n"}
        router.scripts[name].extend([tool_use("Write", write), text("Done.")])
    fleet.spawn("c1", "--permission-mode", "acceptEdits")
    env.ok("send", "c1", "write the .env file", "--wait", "--timeout", "60")
    (result,) = [r for body in agent_requests(fleet.api, "c1") for r in tool_results(body)]
    assert "protected path" in result.text and str(secret) in result.text
    assert "--allow-protected '.env'" in result.text
    assert not secret.exists()
    fleet.spawn("c2", "--permission-mode", "acceptEdits", "--allow-protected", ".env")
    env.ok("send", "c2", "write the .env file", "--wait", "--timeout", "60")
    assert secret.read_text() == "TOKEN=c2\n"
    assert env.json("status", "c2")["allow_protected"] == [".env"]


def test_a_bash_write_to_env_is_denied_before_any_prompt(claude_fleet: ClaudeFleet) -> None:
    """The Bash tool goes through auto-lock too: a command that writes a
    protected file is denied by the hook, before Claude asks for permission."""
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    secret = fleet.project / ".env"
    command = {"command": f"echo TOKEN=1 > {secret}", "description": "Write the token"}
    router.scripts["c1"].extend([tool_use("Bash", command), text("Done.")])
    fleet.spawn("c1")
    env.ok("send", "c1", "put the token in .env", "--wait", "--timeout", "60")
    (result,) = [r for body in agent_requests(fleet.api, "c1") for r in tool_results(body)]
    assert "protected path" in result.text and str(secret) in result.text
    assert not secret.exists()
    assert env.json("status", "c1")["state"] == "idle"  # never waited on a prompt


def test_max_cost_breached_by_a_turn(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    config["pricing"] = {MODEL: {"input": 10.0, "output": 10.0}}
    env.write_config(config)
    router = _router(fleet, "c1")
    # 1,000 tokens at $10 per million: $0.01 a response, against a $0.015 cap.
    usage = Usage(input_tokens=500, output_tokens=500, cache_read_input_tokens=0,
                  cache_creation_input_tokens=0)  # fmt: skip
    router.scripts["c1"].extend([text("Cheap.", usage=usage), text("Dear.", usage=usage)])
    _boss(fleet)
    fleet.spawn("c1", "--model", MODEL, "--parent", "boss", "--max-cost", "0.015")
    env.ok("send", "c1", "one", "--wait", "--timeout", "60")
    retry_until(lambda: env.json("status", "c1")["cost_usd"] > 0, message="cost read")
    assert _violations(fleet, "c1") == []
    env.ok("send", "c1", "two", "--wait", "--timeout", "60")
    (violation,) = retry_until(lambda: _violations(fleet, "c1"), timeout=30, message="violation")
    assert violation["limit"] == "max_cost" and violation["cap"] == 0.015
    assert abs(violation["value"] - 0.02) < 1e-9
    notes = retry_until(lambda: _safety_notes(fleet), timeout=30, message="the parent's note")
    assert "child c1 was interrupted by the safety net: max_cost: spent $0.0200" in notes[0]


def _priced(fleet: ClaudeFleet) -> Usage:
    """Claude agents on MODEL at $10 per million tokens; the usage of one
    $0.01 response."""
    config = yaml.safe_load(fleet.env.config_path.read_text())
    config["pricing"] = {MODEL: {"input": 10.0, "output": 10.0}}
    config["agents"]["claude"]["env"]["ANTHROPIC_MODEL"] = MODEL
    fleet.env.write_config(config)
    return Usage(input_tokens=500, output_tokens=500, cache_read_input_tokens=0,
                 cache_creation_input_tokens=0)  # fmt: skip


def _delegate(fleet: ClaudeFleet, *args: str) -> tuple[int, dict[str, Any]]:
    proc = fleet.env.cli(*args, "--json", timeout=300)
    assert "Traceback" not in proc.stderr and proc.stdout, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, result


def _touches(fleet: ClaudeFleet, name: str, count: int, usage: Usage) -> list[Any]:
    """``count`` Bash calls that each touch a marker file, then an answer; from
    the third on, the model takes a while (room for an interrupt to land)."""
    commands = [{"command": f"touch {fleet.project / f'{name}-{i}'}", "description": "mark"}
                for i in range(count)]  # fmt: skip
    calls = [
        tool_use("Bash", command, usage=usage, delay=2.0 if i >= 2 else 0.0)
        for i, command in enumerate(commands)
    ]
    return [*calls, text("All done.", usage=usage)]


def test_delegate_and_continue_max_cost_interrupt_the_turn(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    usage = _priced(fleet)
    router = _router(fleet, "d1")
    router.scripts["d1"].extend(_touches(fleet, "a", 4, usage))
    code, result = _delegate(
        fleet, "delegate", "d1", "touch four files", "--preset", "full", "--max-cost", "0.015",
        "--agent", "claude", "--cwd", str(fleet.project),
    )  # fmt: skip
    assert (code, result["status"]) == (1, "cost_exceeded"), result
    assert result["cost_usd"] >= 0.015 and result["can_continue"]
    assert result["safety"]["violations"][0].startswith("max_cost: spent $0.0")
    (violation,) = _violations(fleet, "d1")
    assert (violation["limit"], violation["cap"]) == ("max_cost", 0.015)
    # Interrupted in the middle: the last calls never ran.
    assert not (fleet.project / "a-3").exists()
    env.ok("wait", "d1", "--until", "idle", "--timeout", "60")
    # continue's cap counts from its own start: $0.01 a response again.
    router.scripts["d1"].clear()  # what the interrupted turn never asked for
    router.scripts["d1"].extend(_touches(fleet, "b", 4, usage))
    code, result = _delegate(fleet, "continue", "d1", "touch four more", "--max-cost", "0.015")
    assert (code, result["status"]) == (1, "cost_exceeded"), result
    assert 0.015 <= result["cost_usd"] < 0.05
    assert (fleet.project / "b-0").exists() and not (fleet.project / "b-3").exists()
    assert [v["limit"] for v in _violations(fleet, "d1")] == ["max_cost", "max_cost"]


def test_spawn_max_turns_counts_model_steps(claude_fleet: ClaudeFleet) -> None:
    """One prompt, four tool calls: the third step (after the second call) is
    over a cap of 2, as delegate --max-turns counts it."""
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    router.scripts["c1"].extend(_touches(fleet, "a", 4, Usage()))
    fleet.spawn("c1", "--max-turns", "2", "--permission-mode", "bypassPermissions",
                "--env", "IS_SANDBOX=1")  # fmt: skip
    env.ok("send", "c1", "touch four files")
    (violation,) = retry_until(lambda: _violations(fleet, "c1"), timeout=60, message="violation")
    assert (violation["limit"], violation["value"], violation["cap"]) == ("max_turns", 3, 2)
    env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
    assert not (fleet.project / "a-3").exists()


def test_delegate_cap_broken_by_the_final_answer_keeps_it(claude_fleet: ClaudeFleet) -> None:
    """One answer dearer than the cap: known only once the turn is over, so
    nothing is interrupted; the result says cost_exceeded and keeps the answer."""
    fleet = claude_fleet
    _priced(fleet)
    router = _router(fleet, "d1")
    router.scripts["d1"].append(text("Dear answer.", usage=Usage(1000, 1000, 0, 0)))
    code, result = _delegate(
        fleet, "delegate", "d1", "answer", "--max-cost", "0.015",
        "--agent", "claude", "--cwd", str(fleet.project),
    )  # fmt: skip
    assert (code, result["status"], result["response"]) == (1, "cost_exceeded", "Dear answer.")
    assert result["cost_usd"] == 0.02
    (violation,) = _violations(fleet, "d1")
    assert (violation["limit"], violation["action"]) == ("max_cost", "none")
