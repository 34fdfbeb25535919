"""``list --state STATE`` and MCP ``list_agents(state=...)``: the agents in that
state; a state that does not exist is one line."""

from __future__ import annotations

import pytest

from tests.conftest import Env
from tests.helpers import retry_until
from tests.test_mcp import Client, serve


@pytest.fixture
def mixed(env: Env) -> Env:
    """Agent a idle, b busy, c exited (killed)."""
    for name in ("a", "b", "c"):
        env.spawn_ready(name, "--agent", "fake")
    env.ok("send", "b", "sleep 60")
    env.ok("kill", "c")
    retry_until(lambda: env.json("status", "b")["state"] == "busy", message="b busy")
    return env


# state asked for, the agents listed
STATES = [("idle", ["a"]), ("busy", ["b"]), ("exited", ["c"]), ("waiting", [])]


def test_list_by_state(mixed: Env) -> None:
    for state, names in STATES:
        assert [a["name"] for a in mixed.json("list", "--state", state)] == names, state
    assert mixed.ok("ls", "--state", "waiting").strip() == "no waiting agents"
    assert mixed.ok("list", "--state", "idle").splitlines()[1].split()[:3] == ["a", "fake", "idle"]

    async def body(client: Client) -> None:
        for state, names in STATES:
            listed = await client.ok("list_agents", state=state)
            assert [a["name"] for a in listed["agents"]] == names, state
        assert "unknown state 'bogus'" in await client.error("list_agents", state="bogus")

    serve(mixed, body)


@pytest.mark.parametrize("state", ["bogus", "lost ", "IDLE", ""])
def test_unknown_state_is_one_line(env: Env, state: str) -> None:
    proc = env.cli("list", "--state", state)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"tmuxorch: unknown state {state!r} "
        "(states: starting, idle, busy, waiting, error, exited, stopped)"
    ]
