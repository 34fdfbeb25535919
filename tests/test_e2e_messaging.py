"""Messaging and the manager/worker pattern on the real Claude Code (offline)."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

from tests.conftest import ClaudeFleet, Router, agent_requests
from tests.fakeapi import last_user_text, text, tool_use
from tests.helpers import retry_until

# How Claude Code shows the model a message that came through its inbox
# (another agent's, tmuxorch's notices), around the message's text.
PEER = "Another Claude session sent a message:\n"
_PEER_END = "\n\nThis came from another Claude session — not typed by your user"


def unwrapped(prompt: str) -> str:
    """The message's own text, of a prompt that came through the inbox."""
    if not prompt.startswith(PEER) or _PEER_END not in prompt:
        return prompt
    return prompt[len(PEER) : prompt.rindex(_PEER_END)]


def prompts(fleet: ClaudeFleet, name: str) -> list[str]:
    """The prompts agent ``name`` sent to the model, one per turn, in order
    (a message that came through the inbox: its own text)."""
    seen: list[str] = []
    for body in agent_requests(fleet.api, name):
        # Claude may put an environment block (role "system") after the prompt.
        last = [m for m in body["messages"] if m.get("role") == "user"][-1]
        content = last.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        if not any(b.get("type") == "tool_result" for b in blocks):
            prompt = unwrapped(last_user_text(body))
            if not seen or seen[-1] != prompt:
                seen.append(prompt)
    return seen


def _router(fleet: ClaudeFleet, *names: str) -> Router:
    router = Router(*names)
    fleet.api.default = router
    return router


def test_queue_order_and_important_first(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    fleet.spawn("c1")
    router.scripts["c1"].append(text("Working on it.", delay=4))
    env.ok("send", "c1", "first turn")
    for body in ("one", "two", "three"):
        assert json.loads(env.ok("send", "c1", body, "--json"))["status"] == "queued"
    env.ok("send", "c1", "jump the queue", "--mode", "important")
    retry_until(lambda: len(prompts(fleet, "c1")) == 5, timeout=90, message="five turns")
    assert prompts(fleet, "c1") == ["first turn", "jump the queue", "one", "two", "three"]
    env.ok("wait", "c1", "--timeout", "60")
    assert env.json("status", "c1")["queued"] == 0


def test_urgent_interrupts_a_long_turn(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    fleet.spawn("c1")
    router.scripts["c1"].append(text("This takes forever.", delay=120))
    env.ok("send", "c1", "long task")
    retry_until(lambda: env.json("status", "c1")["state"] == "busy", message="busy")
    out = json.loads(env.ok("send", "c1", "stop and do this", "--mode", "urgent", "--json"))
    assert out["status"] == "delivered"
    retry_until(lambda: prompts(fleet, "c1")[-1] == "stop and do this", message="the urgent turn")
    assert prompts(fleet, "c1") == ["long task", "stop and do this"]


PAYLOAD = "line one ; $(rm -rf /tmp/x) `id` \"double\" 'single'\n\tindented ünïcödé 🎉 中文\nlast;"


def test_multiline_payload_reaches_the_model(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1")
    env.ok("send", "c1", "-", input=PAYLOAD)
    # Exact, except that Claude Code turns tabs into four spaces itself.
    retry_until(lambda: prompts(fleet, "c1"), message="the turn request")
    assert prompts(fleet, "c1") == [PAYLOAD.replace("\t", "    ")]


def test_half_typed_composer_text_survives(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    draft_shown = fleet.spawn_with_draft("c1")
    env.ok("send", "c1", "from the fleet")
    retry_until(lambda: prompts(fleet, "c1"), message="the turn request")
    assert prompts(fleet, "c1") == ["from the fleet"]
    env.ok("wait", "c1", "--timeout", "60")
    retry_until(draft_shown, message="draft put back")


def test_monitor_killed_with_queued_messages(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    router = _router(fleet, "c1")
    fleet.spawn("c1")
    router.scripts["c1"].append(text("Slow.", delay=4))
    env.ok("send", "c1", "first")
    for body in ("queued a", "queued b"):
        env.ok("send", "c1", body)
    env.kill_monitor()
    env.ok("wait", "c1", "--timeout", "60")  # restarts the monitor
    retry_until(lambda: len(prompts(fleet, "c1")) == 3, timeout=60, message="all three")
    env.ok("wait", "c1", "--timeout", "60")
    assert prompts(fleet, "c1") == ["first", "queued a", "queued b"]


def _bash(command: str) -> Any:
    return tool_use("Bash", {"command": command, "description": "fleet"})


def test_manager_spawns_waits_and_routes(claude_fleet: ClaudeFleet) -> None:
    """A manager Claude spawns two workers, waits with --notify (idle, no tokens),
    is woken by each, and routes one worker's answer to the other."""
    fleet, env = claude_fleet, claude_fleet.env
    tmuxorch = f"{shlex.quote(sys.executable)} -m tmuxorch"
    cwd = shlex.quote(str(fleet.project))
    router = _router(fleet, "manager", "w1", "w2")
    router.scripts["w1"].append(text("The answer is 42."))
    router.scripts["w2"].extend([text("Standing by."), text("Thanks, noted 42.")])
    routed: list[str] = []

    def manager(body: dict[str, Any]) -> Any:
        prompt = last_user_text(body)
        if "The answer is 42" in prompt and not routed:
            routed.append(prompt)
            return _bash(f"{tmuxorch} send w2 'w1 says: the answer is 42'")
        return text("Noted.")

    router.scripts["manager"].extend(
        [
            _bash(
                f"{tmuxorch} spawn w1 --agent claude --cwd {cwd} 'find the answer' && "
                f"{tmuxorch} spawn w2 --agent claude --cwd {cwd} 'stand by' && "
                f"{tmuxorch} wait w1 --notify && {tmuxorch} wait w2 --notify"
            ),
            text("Workers are on it; I will wait."),
            *[manager] * 8,
        ]
    )
    env.write_config({**_config(env), "notify_parent": "never"})
    fleet.spawn("manager", "--permission-mode", "bypassPermissions", "--env", "IS_SANDBOX=1")
    env.ok("send", "manager", "coordinate two workers")
    retry_until(lambda: routed, timeout=120, message="manager woken with w1's answer")
    assert "wait for w1 (idle) is over: w1 is idle" in routed[0]
    retry_until(
        lambda: any("w1 says: the answer is 42" in p for p in prompts(fleet, "w2")),
        timeout=90,
        message="w2 got the routed result",
    )
    w2_note = next(p for p in prompts(fleet, "w2") if "w1 says" in p)
    assert w2_note.startswith("[message from manager] ")
    assert env.json("status", "w1")["parent"] == "manager"
    assert sorted(env.ok("children", env={"TMUXORCH_AGENT": "manager"}).split()) == ["w1", "w2"]
    retry_until(
        lambda: any("wait for w2 (idle) is over" in p for p in prompts(fleet, "manager")),
        timeout=60,
        message="manager woken by w2 too",
    )


def _config(env: Any) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(env.config_path.read_text())
    return data


def test_a_pending_wait_notify_folds_the_child_notice(claude_fleet: ClaudeFleet) -> None:
    """With notify_parent on_idle (the default), a manager waiting on w1 with
    --notify is woken once when w1 ends its turn: by the wait's notice."""
    fleet, env = claude_fleet, claude_fleet.env
    tmuxorch = f"{shlex.quote(sys.executable)} -m tmuxorch"
    cwd = shlex.quote(str(fleet.project))
    router = _router(fleet, "manager", "w1")
    router.scripts["w1"].append(text("The answer is 42.", delay=3))
    router.scripts["manager"].extend(
        [
            _bash(
                f"{tmuxorch} spawn w1 --agent claude --cwd {cwd} 'find the answer' && "
                f"{tmuxorch} wait w1 --notify"
            ),
            text("I will wait."),
            *[text("Noted.")] * 4,
        ]
    )
    fleet.spawn("manager", "--permission-mode", "bypassPermissions", "--env", "IS_SANDBOX=1")
    env.ok("send", "manager", "get the answer from a worker")
    retry_until(
        lambda: any("The answer is 42" in p for p in prompts(fleet, "manager")),
        timeout=120,
        message="manager woken with w1's answer",
    )
    env.ok("wait", "manager", "--timeout", "60")  # whatever else was queued is delivered
    wakes = [p for p in prompts(fleet, "manager") if p.startswith("[tmuxorch]")]
    assert len(wakes) == 1 and "wait for w1 (idle) is over" in wakes[0], wakes
