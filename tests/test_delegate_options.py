"""delegate's safety net by default (config ``delegate``), ``--no-safety``, and
caps given on the call over config's; MCP delegate_task alike. On the fake
agent: its ``hold PATH`` keeps it busy until the test says otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Env
from tests.test_mcp import Client, serve
from tmuxorch.core.config import DelegateSettings

DEFAULTS = {"max_cost": 2.0, "max_turns": 50, "timeout": 600.0}


def _configure(env: Env, delegate: dict[str, Any]) -> None:
    config = yaml.safe_load(env.config_path.read_text())
    env.write_config({**config, "delegate": delegate})


def _delegate(env: Env, name: str, task: str, *options: str) -> tuple[int, dict[str, Any]]:
    proc = env.cli("delegate", name, task, "--agent", "fake", "--json", *options, timeout=120)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_defaults_are_the_documented_ones() -> None:
    assert vars(DelegateSettings()) == DEFAULTS


def test_config_caps_apply_unless_lifted_or_overridden(env: Env, tmp_path: Path) -> None:
    _configure(env, {"timeout": 0.5, "max_cost": 1.5})
    never = tmp_path / "never-created"
    code, held = _delegate(env, "d1", f"hold {never}")
    assert (code, held["status"]) == (124, "timeout")
    assert held["safety"] == {
        "violations": ["timeout 0.5s reached"],
        "limits": {"max_cost": 1.5, "max_turns": 50, "timeout": 0.5},
    }
    code, lifted = _delegate(env, "d2", "hello", "--no-safety")
    assert (code, lifted["status"]) == (0, "completed")
    assert lifted["safety"]["limits"] == {"max_cost": None, "max_turns": None, "timeout": None}
    code, given = _delegate(env, "d3", "hello", "--no-safety", "--max-turns", "7")
    assert given["safety"]["limits"] == {"max_cost": None, "max_turns": 7, "timeout": None}
    code, again = _delegate(env, "d4", "hello", "--timeout", "60")
    assert (code, again["status"]) == (0, "completed")
    assert again["safety"]["limits"] == {"max_cost": 1.5, "max_turns": 50, "timeout": 60.0}

    async def body(client: Client) -> None:
        limits = {"max_cost": 1.5, "max_turns": 50, "timeout": 0.5}
        result = await client.ok("delegate_task", name="m1", task=f"hold {never}")
        assert (result["status"], result["safety"]["limits"]) == ("timeout", limits)
        result = await client.ok("delegate_task", name="m2", task="hello", no_safety=True)
        assert result["status"] == "completed"
        assert set(result["safety"]["limits"].values()) == {None}

    config = yaml.safe_load(env.config_path.read_text())
    env.write_config({**config, "default_agent": "fake"})
    serve(env, body)


# options, the line
REFUSED = [
    ("system prompt on fake", ["--system-prompt", "be brief"],
     "--system-prompt does not apply to profile fake"),
    ("model on fake", ["--model", "m1"], "--model does not apply to profile fake"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_options_the_profile_does_not_take(env: Env, options: list[str], message: str) -> None:
    proc = env.cli("delegate", "d1", "hello", "--agent", "fake", *options)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"tmuxorch: {message}"]
    assert env.json("list") == []
