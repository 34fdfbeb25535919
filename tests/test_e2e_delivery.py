"""Delivery to the real Claude Code (offline): long lines, the composer after
an interrupt, slash commands."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import ClaudeFleet, Router
from tests.fakeapi import text
from tests.helpers import retry_until
from tests.test_e2e_messaging import prompts
from tmuxorch.fleet.delivery import input_text
from tmuxorch.fleet.messaging import MAX_BYTES

# (id, characters on one line): the 16,000, and the documented limit.
LONG = [("16k", 16_000), ("limit", MAX_BYTES)]


@pytest.mark.parametrize("size", [s[1] for s in LONG], ids=[s[0] for s in LONG])
def test_long_single_line_arrives_whole_and_the_draft_comes_back(
    claude_fleet: ClaudeFleet, size: int
) -> None:
    """One line of ``size`` characters reaches the model whole, in one block
    (Claude Code wraps long input in <pasted_content> itself), and the draft
    a person had in the composer is back after it."""
    fleet, env = claude_fleet, claude_fleet.env
    draft_shown = fleet.spawn_with_draft("c1")
    payload = "".join(f"{i:06d} " for i in range(size // 7 + 1))[:size]
    sent = json.loads(env.ok("send", "c1", "-", "--json", input=payload, timeout=300))
    assert sent["status"] == "delivered"
    [prompt] = retry_until(lambda: prompts(fleet, "c1"), message="the turn request")
    block = re.fullmatch(
        r"\s*<pasted_content id=\"(\w+)\">\n(.*)\n</pasted_content id=\"\1\">\s*", prompt, re.S
    )
    assert block is not None and block.group(2) == payload
    retry_until(draft_shown, message="draft put back")


# (id, how the running turn is cut short)
CUTS = [
    ("interrupt", ["interrupt", "c1"]),
    ("urgent", ["send", "c1", "do this now", "--mode", "urgent"]),
]


@pytest.mark.parametrize("cut", [c[1] for c in CUTS], ids=[c[0] for c in CUTS])
def test_interrupted_prompt_does_not_stay_in_the_composer(
    claude_fleet: ClaudeFleet, cut: list[str]
) -> None:
    """Claude Code puts an interrupted prompt back in its composer; tmuxorch
    takes it out, or Enter from someone attached would run it again."""
    fleet, env = claude_fleet, claude_fleet.env
    router = Router("c1")
    fleet.api.default = router
    fleet.spawn("c1")
    pane = str(env.json("status", "c1")["pane_id"])
    router.scripts["c1"].append(text("This takes forever.", delay=120))
    env.ok("send", "c1", "the long task")
    retry_until(lambda: env.json("status", "c1")["state"] == "busy", message="busy")
    env.ok(*cut)
    env.ok("wait", "c1", "--timeout", "60")
    with env.fleet() as tmuxorch:
        composer = input_text(tmuxorch.tmux, pane, tmuxorch.profile("claude"))
    assert "the long task" not in composer
    env.ok("send", "c1", "next")
    retry_until(lambda: prompts(fleet, "c1")[-1:] == ["next"], message="the next turn")
    assert prompts(fleet, "c1").count("the long task") == 1


SLASH = [("model", "/model haiku"), ("compact", "/compact")]


@pytest.mark.parametrize("command", [c[1] for c in SLASH], ids=[c[0] for c in SLASH])
def test_slash_command_is_delivered_and_judged_by_the_screen(
    claude_fleet: ClaudeFleet, command: str
) -> None:
    """Claude Code runs a slash command without a UserPromptSubmit: the
    message is delivered (the screen shows it taken), and send says so."""
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1")
    sent = json.loads(env.ok("send", "c1", command, "--json"))
    assert sent["status"] == "delivered" and "slash command" in sent["note"]
    with env.fleet() as tmuxorch:
        message = tmuxorch.store.get_message(int(sent["id"]))
    assert message is not None and message.status == "delivered"
    assert command not in prompts(fleet, "c1")


def test_monitor_killed_between_typing_and_enter(claude_fleet: ClaudeFleet) -> None:
    """kill -9 of the monitor with a prompt typed into Claude's composer and
    Enter not pressed: the next monitor clears the composer and delivers the
    prompt once (not twice, nor left behind as a draft)."""
    fleet, env = claude_fleet, claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["claude"]["settle"] = 600  # typed, then a pause before Enter
    env.write_config(config)
    fleet.spawn("c1")
    with env.fleet() as tmuxorch:
        message_id = tmuxorch.store.add_message(None, "c1", "sequential", "exactly once please")

        def stage() -> str | None:
            message = tmuxorch.store.get_message(message_id)
            return message.stage if message else None

        retry_until(lambda: stage() == "typed", message="typed")
    env.kill_monitor()
    del config["agents"]["claude"]["settle"]
    env.write_config(config)
    env.ok("wait", "c1", "--timeout", "60")  # a new monitor recovers the claim
    retry_until(lambda: prompts(fleet, "c1"), message="the turn request")
    env.ok("wait", "c1", "--timeout", "60")
    assert prompts(fleet, "c1") == ["exactly once please"]
    pane = str(env.json("status", "c1")["pane_id"])
    with env.fleet() as tmuxorch:
        message = tmuxorch.store.get_message(message_id)
        assert message is not None and message.status == "delivered"
        # Not kept as a "draft" either, for Enter to send it a second time.
        assert input_text(tmuxorch.tmux, pane, tmuxorch.profile("claude")) == ""
