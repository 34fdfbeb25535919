"""MCP ``pause_session`` (stop, resumable) and ``abort_task`` (interrupt): the
names a manager used to other orchestrators reaches for, doing what their
tmuxorch twins do."""

from __future__ import annotations

import json

from tests.conftest import Env
from tests.helpers import retry_until
from tests.test_mcp import Client, serve


def test_abort_task_interrupts_and_pause_session_stops_resumably(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")

    async def body(client: Client) -> None:
        await client.ok("send_message", name="f", message="sleep 60")
        retry_until(lambda: env.json("status", "f")["state"] == "busy", message="busy")
        assert (await client.ok("abort_task", name="f"))["name"] == "f"
        await client.ok("wait_for", names=["f"], until="idle", timeout_s=30)
        assert "Interrupted" in (await client.ok("get_output", name="f"))["result"]
        paused = await client.ok("pause_session", name="f")
        assert (paused["state"], paused["detail"]) == ("stopped", "stopped")
        await client.ok("resume_agent", name="f", message="back again")
        await client.ok("wait_for", names=["f"], until="idle", timeout_s=30)
        for tool in ("pause_session", "abort_task"):
            assert "no agent named 'ghost'" in await client.error(tool, name="ghost")

    serve(env, body)
    retry_until(lambda: env.records()[-1:] == ["back again"], message="resumed and told")
    lines = env.ok("events", "--json", "--agent", "f", "-n", "1000").splitlines()
    assert {"interrupted", "stopped"} <= {json.loads(x)["event"] for x in lines}
