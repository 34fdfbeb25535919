"""The CLI's ``--json`` and the MCP tools serialise the same views: for the same
fleet they return identical objects, keys in the contract's order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Env
from tests.test_cost import lines, make_agent, prompt, reply, said
from tests.test_mcp import Client, serve
from tmuxorch.store.opening import open_store

# The agent object's keys, in the order `list`/`status --json` gave them
# before the views (the contract's first, then those added since).
AGENT_KEYS = [
    "name", "profile", "state", "detail", "since", "cwd", "parent", "pane_id", "window_id",
    "pid", "session_id", "created", "turns", "tokens", "cost_usd", "locks", "queued",
    "exit_status", "task", "worktree", "limits", "violations", "allow_protected", "host",
]  # fmt: skip

# (what is compared, the CLI's arguments (--json added), the MCP tool and its
# arguments, the part of the tool's object the CLI prints).
SAME: list[tuple[str, list[str], str, dict[str, Any], str | None]] = [
    # First: the MCP server must read the transcript itself (CLI status did,
    # get_status did not, and showed no tokens).
    ("status of a transcript's agent", ["status", "t1"], "get_status", {"name": "t1"}, None),
    ("status", ["status", "w1"], "get_status", {"name": "w1"}, None),
    ("status of a child", ["status", "w2"], "get_status", {"name": "w2"}, None),
    ("list", ["list"], "list_agents", {}, "agents"),
    ("locks", ["locks"], "list_locks", {}, "locks"),
    ("cost", ["cost"], "get_cost", {}, None),
    ("history", ["history", "t1"], "get_history", {"name": "t1"}, "turns"),
    ("what", ["what", "w1"], "what_is_agent_doing", {"name": "w1"}, None),
]


def _fleet(env: Env, tmp_path: Path) -> None:
    """Two fake agents, a child with a lock, and a stopped Claude agent whose
    transcript no one has read yet (stopped: a live one without a pane would
    keep the monitor from ending with tmux)."""
    env.spawn_ready("w1", "--agent", "fake")
    env.spawn_ready("w2", "--agent", "fake", "--parent", "w1", "--max-cost", "5")
    env.ok("lock", str(tmp_path / "shared"), "--reason", "views", env={"TMUXORCH_AGENT": "w2"})
    transcript = tmp_path / "t1.jsonl"
    transcript.write_text(
        lines(prompt("count", at=0), reply("m1", (10, 20, 300, 40), said("Three."), at=1))
    )
    with open_store(env.home) as store:
        store.set_state(make_agent(store, transcript, "t1"), "stopped", event="stopped")


def test_cli_and_mcp_return_identical_objects(env: Env, tmp_path: Path) -> None:
    _fleet(env, tmp_path)
    shown: dict[str, Any] = {}

    async def body(client: Client) -> None:
        for what, _, tool, args, _ in SAME:
            shown[what] = await client.ok(tool, **args)
        # Events last: the calls above leave none.
        shown["events"] = await client.ok("get_events", agent="w1", limit=20)

    serve(env, body)
    assert shown["status of a transcript's agent"]["tokens"]["cache_read"] == 300
    for what, cli, _, _, part in SAME:
        mcp = shown[what] if part is None else shown[what][part]
        assert env.json(*cli) == mcp, what
    events = env.ok("events", "--agent", "w1", "-n", "20", "--json").splitlines()
    assert [json.loads(line) for line in events] == shown["events"]["events"]
    assert list(shown["status"]) == [*AGENT_KEYS, "children", "subagents"]
    assert shown["status"]["subagents"] == []
    assert shown["status"]["children"] == ["w2"]
    assert shown["status of a child"]["locks"] == [str(tmp_path / "shared")]
    assert [list(a) for a in shown["list"]["agents"]] == [AGENT_KEYS] * 3


def test_cli_and_mcp_send_the_same_message_object(env: Env) -> None:
    env.spawn_ready("w1", "--agent", "fake")
    sent: dict[str, Any] = {}

    async def body(client: Client) -> None:
        sent.update(await client.ok("send_message", name="w1", message="from mcp"))

    serve(env, body)
    env.ok("wait", "w1", "--timeout", "60")
    by_cli = env.json("send", "w1", "from the cli")
    assert list(sent) == ["id", "to", "mode", "status"]
    assert by_cli == {**sent, "id": sent["id"] + 1}
