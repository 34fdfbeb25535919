"""The real Claude Code on a fleet whose state is on PostgreSQL (store.url),
offline against the scripted fake API: its hooks record its states in the
database, and auto-lock, which denies a managed agent's write it cannot
decide on, finds the store there and lets the write through."""

from __future__ import annotations

import json

import yaml

from tests.conftest import ClaudeFleet
from tests.fakeapi import text, tool_use
from tmuxorch.store.opening import open_store


def test_a_claude_agent_keeps_its_states_in_postgresql(
    claude_fleet: ClaudeFleet, pg_url: str
) -> None:
    env = claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    env.write_config({**config, "store": {"url": pg_url}})
    target = claude_fleet.project / "f.txt"
    claude_fleet.spawn("a", "--permission-mode", "acceptEdits")
    claude_fleet.api.enqueue(
        tool_use("Write", {"file_path": str(target), "content": "hi\n"}), text("Written.")
    )
    sent = json.loads(env.ok("send", "a", "write f", "--wait", "--json"))
    assert sent["status"] == "delivered" and target.read_text() == "hi\n"
    assert env.json("status", "a")["state"] == "idle"
    events = [json.loads(line) for line in env.ok("events", "--json", "--agent", "a").splitlines()]
    kinds = {e["event"] for e in events}
    assert {"hook:SessionStart", "hook:PreToolUse", "hook:PostToolUse", "hook:Stop"} <= kinds
    with open_store(env.home, url=pg_url, create=False) as store:
        assert store.locks() == []  # the Stop hook freed what auto-lock took
    assert not (env.home / "state.db").exists()
