"""``what NAME --summary``: a small model's summary through the claude profile's
command (the real Claude Code in print mode, against the fake API), and the
factual view with one line saying why when there is no model to ask."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env
from tests.fakeapi import Usage, error, text
from tests.test_mcp import Client, serve
from tmuxorch.fleet import summary
from tmuxorch.fleet.views.doing import DoingView

MODEL = "claude-haiku-summary-test"
ANSWER = "c1 memorised a fruit and now waits for the next task."


def _configure(env: Env, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(env.config_path.read_text())
    for key, value in changes.items():
        section, field = key.split("__")
        config.setdefault(section, {})[field] = value
    env.write_config(config)
    return config


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_summary_comes_from_the_small_model_through_the_profile_command(
    claude_fleet: ClaudeFleet, tmp_path: Path
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    runs = tmp_path / "wrapper-runs"
    config = yaml.safe_load(env.config_path.read_text())
    real = config["agents"]["claude"]["command"]
    # The wrapper records each run's arguments, one JSON line each.
    wrapper = _script(
        tmp_path / "claude-wrapper",
        f"python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' \"$@\" >> {runs}\n"
        f'exec {real} "$@"',
    )
    _configure(env, agents__claude={**config["agents"]["claude"], "command": wrapper})
    _configure(env, summary__model=MODEL)
    fleet.spawn("c1")
    env.ok("send", "c1", "remember the word pineapple $(touch /tmp/owned)", "--wait")
    fleet.api.side_response = text(ANSWER, usage=Usage(input_tokens=50, output_tokens=12))

    proc = env.cli("what", "c1", "--summary", "--json")

    assert proc.returncode == 0 and proc.stderr == ""
    shown = json.loads(proc.stdout)
    assert shown["summary"] == ANSWER and shown["summary_error"] is None
    assert shown["name"] == "c1" and shown["state"] == "idle"
    asked = [r.body for r in fleet.api.requests if r.body.get("model") == MODEL]
    assert len(asked) == 1 and not asked[0].get("tools")
    assert "remember the word pineapple" in json.dumps(asked[0]["messages"])
    printed = [json.loads(line) for line in runs.read_text().splitlines()]
    assert [a[a.index("--model") + 1] for a in printed if "-p" in a] == [MODEL]
    # The agent's words reach the model as data on stdin, never as arguments.
    assert not any("pineapple" in arg for run in printed for arg in run)
    assert env.ok("what", "c1", "--summary").strip() == ANSWER


def _failing_model(tmp_path: Path, fleet: ClaudeFleet) -> dict[str, Any]:
    fleet.api.side_response = error(400, "model: no such model")
    return {}


def _not_installed(tmp_path: Path, fleet: ClaudeFleet) -> dict[str, Any]:
    return {"command": str(tmp_path / "no-such-claude")}


def _crashing(tmp_path: Path, fleet: ClaudeFleet) -> dict[str, Any]:
    return {"command": _script(tmp_path / "crash", "echo 'cannot start: boom' >&2; exit 3")}


def _hanging(tmp_path: Path, fleet: ClaudeFleet) -> dict[str, Any]:
    # A wrapper whose child hangs on: the timeout must end both.
    return {"command": _script(tmp_path / "hang", "sleep 300 & wait")}


# id, what breaks the claude profile, summary.timeout, what stderr says
FALLBACKS = [
    ("model-fails", _failing_model, 60, "exit 1): API Error: 400 model: no such model"),
    ("not-installed", _not_installed, 60, "cannot run"),
    ("crashes", _crashing, 60, "exit 3): cannot start: boom"),
    ("times-out", _hanging, 1, "no answer in 1s"),
]


@pytest.mark.parametrize(
    ("make", "timeout", "why"), [f[1:] for f in FALLBACKS], ids=[f[0] for f in FALLBACKS]
)
def test_without_a_model_what_shows_the_facts_and_says_why(
    claude_fleet: ClaudeFleet, tmp_path: Path, make: Any, timeout: int, why: str
) -> None:
    env = claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    _configure(env, agents__claude={**config["agents"]["claude"], **make(tmp_path, claude_fleet)})
    _configure(env, summary__timeout=timeout)
    env.spawn_ready("a1", "--agent", "fake")

    proc = env.cli("what", "a1", "--summary")
    as_json = env.cli("what", "a1", "--summary", "--json")

    assert proc.returncode == 0 and as_json.returncode == 0
    assert proc.stdout.startswith("a1 is idle\n")
    for run in (proc, as_json):
        assert run.stderr.startswith("tmuxorch: no summary (") and run.stderr.count("\n") == 1
        assert why in run.stderr and "Traceback" not in run.stderr
    shown = json.loads(as_json.stdout)
    assert shown["summary"] is None and why in shown["summary_error"]
    assert shown["name"] == "a1" and shown["state"] == "idle"


def test_mcp_what_is_agent_doing_takes_summary(claude_fleet: ClaudeFleet) -> None:
    env = claude_fleet.env
    _configure(env, summary__model=MODEL)
    env.spawn_ready("a1", "--agent", "fake")
    claude_fleet.api.side_response = text(ANSWER)
    shown: dict[str, Any] = {}

    async def body(client: Client) -> None:
        shown["plain"] = await client.ok("what_is_agent_doing", name="a1")
        shown["summary"] = await client.ok("what_is_agent_doing", name="a1", summary=True)

    serve(env, body)
    assert "summary" not in shown["plain"]
    assert shown["summary"]["summary"] == ANSWER and shown["summary"]["summary_error"] is None
    assert shown["summary"] == env.json("what", "a1", "--summary")


def _record(kind: str, content: Any) -> str:
    return json.dumps({"type": kind, "message": {"role": kind, "content": content}})


def test_transcript_tail_reads_prompts_answers_and_tool_calls(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [
        _record("user", "fix the parser"),
        _record("assistant", [{"type": "text", "text": "Looking at it."}]),
        _record("assistant", [{"type": "tool_use", "name": "Read", "input": {"file_path": "p"}}]),
        _record("user", [{"type": "tool_result", "tool_use_id": "x", "content": "secret"}]),
        "not json",
    ]
    path.write_text("\n".join(rows) + "\n")
    assert summary.transcript_tail(str(path)) == [
        "user: fix the parser",
        "assistant: Looking at it.",
        'tool: Read {"file_path": "p"}',
    ]
    assert summary.transcript_tail(str(tmp_path / "missing.jsonl")) == []


def test_model_input_is_bounded_and_keeps_the_latest_lines() -> None:
    doing = DoingView(
        name="a1", state="busy", detail="", task="t" * 5000, tools=["Bash ls"],
        last_response="", screen=["$ make"],
    )  # fmt: skip
    tail = [f"assistant: step {i} " + "x" * 300 for i in range(200)]
    data = summary.model_input(doing, tail)
    assert len(data) <= summary.INPUT_CHARS
    assert "step 199 " in data and "step 0 " not in data
    assert data.endswith("screen, last lines:\n$ make")
