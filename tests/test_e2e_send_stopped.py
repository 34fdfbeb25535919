"""``send`` to a stopped agent: a Claude agent resumes in its conversation and
takes the message (config ``delivery.resume_stopped``); otherwise the message
fails at once, saying why and what brings the agent back."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import yaml

from tests.conftest import ClaudeFleet, Env, agent_requests


def _refused(env: Env, name: str, proc: subprocess.CompletedProcess[str], why: str) -> None:
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert why in proc.stderr and f"`tmuxorch resume {name}`" in proc.stderr
    assert "Traceback" not in proc.stderr
    status = env.json("status", name)
    assert status["state"] == "stopped" and status["queued"] == 0


def test_send_to_a_stopped_claude_agent_resumes_it_and_delivers(
    claude_fleet: ClaudeFleet,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    first = fleet.spawn("c1")
    env.ok("send", "c1", "remember the word pineapple", "--wait")
    env.ok("stop", "c1")

    sent = json.loads(env.ok("send", "c1", "what was the word?", "--wait", "--json"))

    assert sent["status"] == "delivered"
    status = env.json("status", "c1")
    assert status["state"] == "idle" and status["session_id"] == first["session_id"]
    history = json.dumps(agent_requests(fleet.api, "c1")[-1]["messages"])
    assert "what was the word?" in history and "remember the word pineapple" in history


def test_send_to_a_stopped_claude_agent_without_resume_stopped_is_refused(
    claude_fleet: ClaudeFleet,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    config: dict[str, Any] = yaml.safe_load(env.config_path.read_text())
    config["delivery"] = {"resume_stopped": False}
    env.write_config(config)
    fleet.spawn("c1")
    env.ok("stop", "c1")

    proc = env.cli("send", "c1", "are you there?")

    _refused(env, "c1", proc, "delivery.resume_stopped is false")


def test_send_to_a_stopped_agent_that_cannot_resume_is_refused(env: Env) -> None:
    env.spawn_ready("a1", "--agent", "fake")
    env.ok("stop", "a1")

    proc = env.cli("send", "a1", "are you there?")

    _refused(env, "a1", proc, "profile fake cannot resume a conversation")
    assert "are you there?" not in env.records()
