"""``tmuxorch mcp`` over stdio, driven by the official SDK's client: tools listed
with schemas, a shell agent steered through them, errors as tool errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from tests.conftest import Env
from tests.helpers import retry_until
from tmuxorch.surfaces.mcp.server import TOOLS

Body = Callable[["Client"], Awaitable[None]]


class Client:
    """A ClientSession with the checks every call wants."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session

    async def call(self, tool: str, **args: Any) -> CallToolResult:
        return await self.session.call_tool(tool, args)

    async def ok(self, tool: str, **args: Any) -> Any:
        result = await self.call(tool, **args)
        assert not result.is_error, f"{tool} failed: {text(result)}"
        assert isinstance(result.structured_content, dict)
        return result.structured_content

    async def error(self, tool: str, **args: Any) -> str:
        result = await self.call(tool, **args)
        assert result.is_error, f"{tool} did not fail: {result}"
        return text(result)


def text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def serve(env: Env, body: Body, extra_env: dict[str, str] | None = None) -> None:
    """Run ``python -m tmuxorch mcp`` with the test fleet's environment, then ``body``."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tmuxorch", "mcp"],
        env={**env.environ, **(extra_env or {})},
        cwd=str(env.tmp),
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await body(Client(session))

    try:
        anyio.run(main)
    except Exception as exc:  # the task groups wrap a failed assertion: show it plainly
        while len(getattr(exc, "exceptions", ())) == 1:
            exc = exc.exceptions[0]  # type: ignore[attr-defined]
        raise exc from None


async def spawn_idle(client: Client, name: str) -> dict[str, Any]:
    agent: dict[str, Any] = await client.ok("spawn_agent", name=name, profile="shell")
    assert await client.ok("wait_for", names=[name], until="idle", timeout_s=30) == {name: "idle"}
    return agent


def test_tools_are_listed_with_descriptions_and_schemas(env: Env) -> None:
    seen: dict[str, Any] = {}

    async def body(client: Client) -> None:
        seen.update({t.name: t for t in (await client.session.list_tools()).tools})

    serve(env, body)
    assert set(seen) == {t.fn.__name__ for t in TOOLS}
    for name, tool in seen.items():
        assert tool.description and len(tool.description) > 40, name
        assert tool.input_schema["type"] == "object", name
        for prop, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{name}.{prop} has no description"
    assert seen["wait_for"].input_schema["required"] == ["names"]
    assert seen["list_agents"].annotations.read_only_hint
    assert seen["kill_agent"].annotations.destructive_hint


def test_shell_agent_spawned_steered_and_killed(env: Env) -> None:
    async def body(client: Client) -> None:
        agent = await spawn_idle(client, "w1")
        # The agent object has the keys of `status --json` (which adds children,
        # the live sub-agents and the teammates).
        detail = {"children", "subagents", "teammates"}
        assert set(agent) == set(env.json("status", "w1")) - detail
        listed = await client.ok("list_agents")
        assert [(a["name"], a["state"]) for a in listed["agents"]] == [("w1", "idle")]
        sent = await client.ok("send_message", name="w1", message="echo mcp-$((6*7))")
        assert sent == {"id": sent["id"], "to": "w1", "mode": "sequential", "status": "delivered"}
        await client.ok("wait_for", names=["w1"], until="idle", timeout_s=30)
        screen = await client.ok("get_output", name="w1", lines=5)
        assert "mcp-42" in screen["result"]
        doing = await client.ok("what_is_agent_doing", name="w1")
        assert doing["name"] == "w1" and "mcp-42" in "\n".join(doing["screen"])
        assert await client.ok("get_history", name="w1") == {"turns": []}  # no transcript
        status = await client.ok("get_status", name="w1")
        assert status["children"] == [] and status["profile"] == "shell"
        killed = await client.ok("kill_agent", name="w1")
        assert killed["state"] == "exited" and killed["detail"] == "killed"
        events = await client.ok("get_events", agent="w1")
        assert {"spawned", "message", "killed"} <= {e["event"] for e in events["events"]}

    serve(env, body)
    assert [(a["name"], a["state"]) for a in env.json("list")] == [("w1", "exited")]


ERRORS = [
    ("unknown agent", "get_status", {"name": "ghost"}, "no agent named 'ghost'", "list_agents"),
    ("send to ghost", "send_message", {"name": "ghost", "message": "hi"}, "no agent named",
     "list_agents"),
    ("bad name", "spawn_agent", {"name": "a;b", "profile": "shell"}, "invalid agent name",
     "list_agents"),
    ("unknown profile", "spawn_agent", {"name": "x", "profile": "nope"},
     "unknown agent profile 'nope'", "Profiles:"),
    ("schema", "wait_for", {"names": []}, "names", ""),
    ("not waiting", "approve", {"name": "w1"}, "is idle, not waiting", "list_agents"),
    ("timeout", "wait_for", {"names": ["w1"], "until": "exited", "timeout_s": 0.5},
     "timed out waiting for exited: w1 is idle", "call wait_for again"),
    ("rename onto a taken name", "rename_agent", {"name": "w1", "new": "w1"},
     "an agent named 'w1' already exists", "list_agents"),
    ("unlock free", "unlock", {"path": "nothing-here"}, "is not locked", "list_locks"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "args", "message", "hint"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_are_tool_errors_with_a_hint_and_the_server_lives_on(
    env: Env, tool: str, args: dict[str, Any], message: str, hint: str
) -> None:
    async def body(client: Client) -> None:
        await spawn_idle(client, "w1")
        error = await client.error(tool, **args)
        assert message in error
        if hint:
            assert hint in error.partition("\nHint: ")[2]
        else:  # the SDK's own argument check: no domain error, no hint
            assert "Hint:" not in error
        assert "Traceback" not in error
        listed = await client.ok("list_agents")
        assert [a["name"] for a in listed["agents"]] == ["w1"]

    serve(env, body)


def test_inside_a_pane_tools_act_as_that_agent(env: Env) -> None:
    env.spawn_ready("boss", "--agent", "shell")
    target = env.tmp / "shared"
    target.mkdir()
    result: dict[str, Any] = {}

    async def body(client: Client) -> None:
        child = await spawn_idle(client, "child")
        assert child["parent"] == "boss"
        result["sent"] = await client.ok("send_message", name="child", message="echo from-boss")
        locked = await client.ok("lock", path=str(target), reason="mine")
        assert locked == {"path": str(target.resolve()), "holder": "boss"}
        table = await client.ok("list_locks")
        assert [(r["path"], r["holder"], r["reason"]) for r in table["locks"]] == [
            (str(target.resolve()), "boss", "mine")
        ]
        assert await client.ok("unlock", path=str(target)) == {
            "path": str(target.resolve()),
            "holder": "boss",
        }
        assert (await client.ok("list_locks"))["locks"] == []

    serve(env, body, {"TMUXORCH_AGENT": "boss"})
    message = env.fleet().store.get_message(result["sent"]["id"])
    assert message is not None and message.sender == "boss"
    assert env.json("status", "boss")["children"] == ["child"]
    retry_until(lambda: "from-boss" in env.ok("output", "child"), message="message typed")


def test_remove_frees_the_name(env: Env) -> None:
    async def body(client: Client) -> None:
        await spawn_idle(client, "w1")
        assert await client.ok("remove_agent", name="w1") == {"name": "w1", "removed": True}
        assert (await client.ok("list_agents"))["agents"] == []
        await spawn_idle(client, "w1")

    serve(env, body)
    assert json.loads(env.ok("list", "--json"))[0]["name"] == "w1"


def test_rename_agent_renames_everywhere(env: Env) -> None:
    async def body(client: Client) -> None:
        await spawn_idle(client, "w1")
        renamed = await client.ok("rename_agent", name="w1", new="w2")
        assert (renamed["name"], renamed["state"]) == ("w2", "idle")
        assert [a["name"] for a in (await client.ok("list_agents"))["agents"]] == ["w2"]
        await client.ok("send_message", name="w2", message="echo renamed-ok")

    serve(env, body)
    retry_until(lambda: "renamed-ok" in env.ok("output", "w2"), message="w2 took the message")


def test_lifecycle_broadcast_cost_and_batch_tools(env: Env) -> None:
    async def body(client: Client) -> None:
        await spawn_idle(client, "w1")
        stopped = await client.ok("stop_agent", name="w1")
        assert stopped["state"] == "stopped"
        resumed = await client.ok("resume_agent", name="w1")
        # Started again: a shell may already be idle when the answer is read.
        assert resumed["state"] in ("starting", "idle") and resumed["name"] == "w1"
        await client.ok("wait_for", names=["w1"], until="idle", timeout_s=30)
        forked = await client.ok("fork_agent", name="w1", new="w2")
        assert forked["name"] == "w2" and forked["cwd"] == resumed["cwd"]
        await client.ok("wait_for", names=["w2"], until="idle", timeout_s=30)
        sent = await client.ok("broadcast", message="echo to-all", scope="all")
        assert sorted(m["to"] for m in sent["messages"]) == ["w1", "w2"]
        spent = await client.ok("get_cost")
        assert [a["name"] for a in spent["agents"]] == ["w1", "w2"]
        assert spent["total"]["cost_usd"] == 0
        batch = await client.ok(
            "batch_run",
            tasks=[
                {"name": "b1", "prompt": "echo one", "agent": "shell"},
                {"name": "b2", "prompt": "echo two", "agent": "shell", "depends_on": "b1"},
            ],
            max_parallel=1,
        )
        assert batch["ok"] and [t["status"] for t in batch["tasks"]] == ["completed"] * 2
        error = await client.error("batch_run", tasks=[{"name": "x"}])
        assert "missing key 'prompt'" in error

    serve(env, body)
