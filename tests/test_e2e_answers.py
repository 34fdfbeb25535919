"""``send --wait`` and ``spawn --wait`` print the agent's answer (the last
response of that turn), and ``--json`` carries it as ``response``: on the
real Claude Code against the fake API, and on an agent without hooks."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ClaudeFleet, Env
from tests.fakeapi import last_user_text, text
from tests.test_mcp import Client, serve


def _echo(body: dict[str, Any]) -> Any:
    return text(f"answer to: {last_user_text(body)}\nsecond line")


def test_spawn_and_send_wait_print_the_answer_of_their_turn(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.api.default = _echo
    spawned = json.loads(
        env.ok("spawn", "c1", "what is 6*7?", "--agent", "claude", "--cwd", str(fleet.project),
               "--wait", "--timeout", "120", "--json")
    )  # fmt: skip
    assert spawned["name"] == "c1" and spawned["state"] == "idle"
    assert spawned["response"] == "answer to: what is 6*7?\nsecond line"
    out = env.ok("send", "c1", "and 7*8?", "--wait", "--timeout", "120").splitlines()
    assert out[0].isdigit() and out[1:] == ["answer to: and 7*8?", "second line"]
    sent = json.loads(env.ok("send", "c1", "last one", "--wait", "--timeout", "120", "--json"))
    assert sent == {
        "id": sent["id"], "to": "c1", "mode": "sequential", "status": "delivered",
        "response": "answer to: last one\nsecond line",
    }  # fmt: skip
    # Without --wait there is no turn to answer yet: no response key.
    assert "response" not in json.loads(env.ok("send", "c1", "no wait", "--json"))


def test_an_agent_without_hooks_answers_nothing_it_can_tell(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    sent = json.loads(env.ok("send", "f", "hello", "--wait", "--timeout", "60", "--json"))
    assert sent["status"] == "delivered" and sent["response"] == ""
    assert env.ok("send", "f", "again", "--wait", "--timeout", "60").strip().isdigit()

    async def body(client: Client) -> None:
        waited = await client.ok("send_message", name="f", message="mcp", wait=True, timeout_s=60)
        assert waited["status"] == "delivered" and waited["response"] == ""
        assert "response" not in await client.ok("send_message", name="f", message="no wait")

    serve(env, body)
