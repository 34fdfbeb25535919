"""``spawn --system-prompt``, ``--allowed-tools`` and Claude arguments after
``--`` on the real Claude Code: what reaches the API request, and what runs
unasked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ClaudeFleet, agent_requests
from tests.fakeapi import text, tool_use


def _system(body: dict[str, Any]) -> str:
    system = body["system"]
    return system if isinstance(system, str) else "".join(b.get("text", "") for b in system)


# Text that a shell or tmux would act on, and a terminal would draw: it must
# reach the model as written.
SYSTEM_PROMPTS = [
    ("shell", "Reply in haiku. $(touch PWNED); `touch PWNED2` && touch PWNED3 'q\" end;"),
    ("lines and escapes", "first line\nsecond line\n\n\x1b[31mred\x1b[0m tab\there #{pane_id}"),
]


@pytest.mark.parametrize(
    "prompt", [p[1] for p in SYSTEM_PROMPTS], ids=[p[0] for p in SYSTEM_PROMPTS]
)
def test_system_prompt_reaches_claude_verbatim(claude_fleet: ClaudeFleet, prompt: str) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--system-prompt", prompt)
    env.ok("send", "c1", "hello", "--wait", "--timeout", "120")
    system = _system(agent_requests(fleet.api, "c1")[-1])
    assert prompt in system
    assert system.index("You are agent 'c1'") < system.index(prompt)  # tmuxorch's lines stay
    assert not list(env.tmp.rglob("PWNED*"))


# options, the state a Write leaves the agent in
ALLOWED = [
    ("allowed", ["--allowed-tools", "Read,Write"], "idle"),
    ("not allowed", [], "waiting"),
]


@pytest.mark.parametrize(
    ("options", "state"), [a[1:] for a in ALLOWED], ids=[a[0] for a in ALLOWED]
)
def test_allowed_tools_run_without_asking(
    claude_fleet: ClaudeFleet, options: list[str], state: str
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "default", *options)
    target = fleet.project / "made.txt"
    fleet.api.enqueue(tool_use("Write", {"file_path": str(target), "content": "hi\n"}), text("ok"))
    env.ok("send", "c1", "write it")
    env.ok("wait", "c1", "--until", "done", "--timeout", "90")
    assert env.json("status", "c1")["state"] == state
    assert target.exists() == (state == "idle")


def test_claude_arguments_after_double_dash(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--", "--model", "passthrough-model-1")
    env.ok("send", "c1", "hello", "--wait", "--timeout", "120")
    assert agent_requests(fleet.api, "c1")[-1]["model"] == "passthrough-model-1"


def test_delegate_model_and_system_prompt_reach_the_request(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    prompt = "Answer tersely.\n$(touch PWNED); end;"
    proc = env.cli(
        "delegate", "d1", "say hi", "--agent", "claude", "--cwd", str(fleet.project),
        "--model", "delegate-model-2", "--system-prompt", prompt, "--json", timeout=300,
    )  # fmt: skip
    result = json.loads(proc.stdout)
    assert (proc.returncode, result["status"]) == (0, "completed"), proc.stderr
    request = agent_requests(fleet.api, "d1")[-1]
    assert request["model"] == "delegate-model-2"
    assert prompt in _system(request)
    assert result["safety"]["limits"] == {"max_cost": 2.0, "max_turns": 50, "timeout": 600.0}
    assert not list(env.tmp.rglob("PWNED*"))
