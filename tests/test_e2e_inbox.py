"""Delivery through Claude Code's own inbox (its messaging socket), on the
real Claude Code offline: exact text, a person's draft never touched, and
typing when the inbox does not answer."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.conftest import ClaudeFleet, agent_requests
from tests.fakeapi import last_user_text, text
from tests.helpers import retry_until
from tests.test_e2e_messaging import PEER, prompts

# Tabs, an ESC sequence and 50 KB, on many lines.
EXACT = (
    "tab\there \x1b[31mred\x1b[0m\n" + "".join(f"{i:05d}\tcol\tcol\n" for i in range(3700)) + "end"
)


def _raw_prompts(fleet: ClaudeFleet, name: str) -> list[str]:
    return [last_user_text(body) for body in agent_requests(fleet.api, name)]


def _prompts_with(fleet: ClaudeFleet, name: str, text: str) -> int:
    """How many of the agent's UserPromptSubmit hooks carried ``text``."""
    with fleet.env.fleet() as tmuxorch:
        events = tmuxorch.store.events(agent=name, kind="hook:UserPromptSubmit")
    return sum(text in str(e.data.get("prompt", "")) for e in events)


def test_inbox_delivery_is_exact_wakes_the_manager_and_falls_back_to_typing(
    claude_fleet: ClaudeFleet,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    draft_shown = fleet.spawn_with_draft("boss")
    as_boss, as_kid = {"TMUXORCH_AGENT": "boss"}, {"TMUXORCH_AGENT": "kid"}
    env.ok("spawn", "kid", env=as_boss)  # a shell: its turns end at once
    env.ok("wait", "kid", "--timeout", "60")

    # Another agent's message: byte-exact in the model's request, through
    # the inbox (the model reads it as a peer's), the draft left alone.
    assert len(EXACT.encode()) > 50_000
    env.ok("send", "boss", "-", input=EXACT, env=as_kid)
    retry_until(lambda: prompts(fleet, "boss"), message="the turn on the message")
    assert prompts(fleet, "boss") == ["[message from kid] " + EXACT]
    assert _raw_prompts(fleet, "boss")[-1].startswith(PEER)
    assert draft_shown()
    # The same message again at once is a message again (Claude drops a
    # sender's repeat within 30 s).
    for _ in range(2):
        env.ok("send", "boss", "same again", env=as_kid)
        env.ok("wait", "boss", "--timeout", "60")
    assert _prompts_with(fleet, "boss", "same again") == 2

    # tmuxorch's notices: a `wait --notify` on an idle child ends at once,
    # then the child ends a turn.
    env.ok("wait", "kid", "--notify", env=as_boss)
    retry_until(
        lambda: any("wait for kid (idle) is over" in p for p in prompts(fleet, "boss")),
        message="boss woken by its wait",
    )
    env.ok("wait", "boss", "--timeout", "60")
    env.ok("send", "kid", "true")
    retry_until(
        lambda: any(p.startswith("[tmuxorch] child kid is idle") for p in prompts(fleet, "boss")),
        message="boss woken by its child",
    )
    assert all(p.startswith(PEER) for p in _raw_prompts(fleet, "boss"))
    assert draft_shown()

    # An urgent message cuts a busy turn through the inbox: no key pressed.
    env.ok("wait", "boss", "--timeout", "60")
    fleet.api.enqueue(text("This takes forever.", delay=120))
    env.ok("send", "boss", "the long task", env=as_kid)
    retry_until(lambda: env.json("status", "boss")["state"] == "busy", message="busy")
    env.ok("send", "boss", "stop and do this", "--mode", "urgent", env=as_kid)
    env.ok("wait", "boss", "--timeout", "60")
    assert prompts(fleet, "boss")[-2:] == [
        "[message from kid] the long task",
        "[message from kid] stop and do this",
    ]
    with env.fleet() as tmuxorch:
        assert tmuxorch.store.count_events("boss", ("interrupted",)) == 0
    assert draft_shown()

    # The inbox gone, then refusing (a socket nobody listens on): typed.
    with env.fleet() as tmuxorch:
        agent = tmuxorch.store.get_agent("boss")
        assert agent is not None
        path = Path(agent.spec["inbox"])
    away = path.with_suffix(".away")
    os.rename(path, away)
    try:
        for case in ("gone", "refusing"):
            if case == "refusing":
                with socket.socket(socket.AF_UNIX) as dead:
                    dead.bind(str(path))
            env.ok("send", "boss", f"typed\tbecause the inbox is {case}", env=as_kid)
            typed = f"[message from kid] typed    because the inbox is {case}"
            retry_until(lambda t=typed: t in prompts(fleet, "boss"), message=f"typed ({case})")
            env.ok("wait", "boss", "--timeout", "60")
            assert _prompts_with(fleet, "boss", f"because the inbox is {case}") == 1
            assert not _raw_prompts(fleet, "boss")[-1].startswith(PEER)
        retry_until(draft_shown, message="draft put back after typing")
    finally:
        os.replace(away, path)  # Claude removes its own socket as it exits
