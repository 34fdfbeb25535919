"""auto-lock with two real Claude Code agents in one directory, offline.

Each agent's requests are answered from its own script (the fake API routes
on the system prompt tmuxorch appends: "You are agent 'a'"), so the two
conversations can interleave freely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ClaudeFleet, Router
from tests.fakeapi import Response, text, tool_results, tool_use
from tests.helpers import retry_until

# Locks are held until the holder's turn ends: the Stop hook must free them.


@pytest.fixture
def duo(claude_fleet: ClaudeFleet) -> tuple[ClaudeFleet, Router]:
    router = Router("a", "b")
    claude_fleet.api.default = router
    return claude_fleet, router


def start(fleet: ClaudeFleet, wait: float) -> None:
    config = json.loads(json.dumps(_config(fleet)))
    config["locks"] = {"wait": wait}
    fleet.env.write_config(config)
    for name in ("a", "b"):
        fleet.spawn(name, "--permission-mode", "acceptEdits")


def _config(fleet: ClaudeFleet) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(fleet.env.config_path.read_text())
    return data


def write(path: Path, content: str, **kw: Any) -> Response:
    return tool_use("Write", {"file_path": str(path), "content": content}, **kw)


def holder(fleet: ClaudeFleet, path: Path) -> tuple[str | None, list[str]]:
    for row in fleet.env.json("locks"):
        if row["path"] == str(path):
            return row["holder"], row["waiters"]
    return None, []


def results_of(fleet: ClaudeFleet, name: str) -> list[str]:
    return [
        r.text
        for req in fleet.api.turn_requests()
        if f"You are agent '{name}'" in json.dumps(req.body.get("system", ""))
        for r in tool_results(req.body)
    ]


def a_then_b(fleet: ClaudeFleet, router: Router, a_after: Response) -> Path:
    """a writes f and then answers ``a_after``; b then asks to write f too."""
    f = fleet.project / "f.txt"
    router.scripts["a"].extend([write(f, "A\n"), a_after])
    router.scripts["b"].extend([write(f, "B\n"), text("B done.")])
    fleet.env.ok("send", "a", "write f")
    retry_until(lambda: f.exists() and f.read_text() == "A\n", timeout=60, message="A's write")
    fleet.env.ok("send", "b", "write f too")
    return f


def test_second_write_waits_for_the_first_turn_to_end(duo: tuple[ClaudeFleet, Router]) -> None:
    fleet, router = duo
    start(fleet, wait=60)
    f = a_then_b(fleet, router, text("A done.", delay=4))
    retry_until(lambda: holder(fleet, f) == ("a", ["b"]), timeout=30, message="b queued")
    assert f.read_text() == "A\n"  # b's write is held back while a's turn goes on
    fleet.env.ok("wait", "a", "--until", "idle", "--timeout", "60")
    fleet.env.ok("wait", "b", "--until", "idle", "--timeout", "60")
    assert f.read_text() == "B\n"
    assert not any("locked by" in r for r in results_of(fleet, "b"))


def test_short_wait_denies_and_the_model_reads_why(duo: tuple[ClaudeFleet, Router]) -> None:
    fleet, router = duo
    start(fleet, wait=1)
    f = a_then_b(fleet, router, text("A done.", delay=10))
    reasons = retry_until(
        lambda: [r for r in results_of(fleet, "b") if "locked by agent a" in r],
        timeout=60,
        message="the deny reason in b's next request",
    )
    assert str(f) in reasons[0]
    assert f.read_text() == "A\n"


def test_killed_holder_frees_the_file(duo: tuple[ClaudeFleet, Router]) -> None:
    fleet, router = duo
    start(fleet, wait=60)
    f = a_then_b(fleet, router, text("never finishes", delay=120))
    retry_until(lambda: holder(fleet, f) == ("a", ["b"]), timeout=30, message="b queued")
    fleet.env.ok("kill", "a")
    # How fast (issue 4: within 2 s) is bench/locks.py's "dead holder" figure:
    # a timing here would fail on a loaded machine, not on a slow release.
    # Nor is b seen holding the lock: its turn may end (and free it) between
    # two looks. What shows is its write, landed and never denied.
    retry_until(lambda: f.read_text() == "B\n", timeout=60, message="b's write")
    assert not any("locked by" in r for r in results_of(fleet, "b"))


def test_crossing_writes_are_denied_at_once(duo: tuple[ClaudeFleet, Router]) -> None:
    fleet, router = duo
    start(fleet, wait=60)
    one, two = fleet.project / "one.txt", fleet.project / "two.txt"
    router.scripts["a"].extend([write(one, "A\n"), write(two, "A\n", delay=3), text("A done.")])
    router.scripts["b"].extend([write(two, "B\n"), write(one, "B\n", delay=3), text("B done.")])
    fleet.env.ok("send", "a", "write one then two")
    retry_until(lambda: one.exists(), timeout=60, message="a holds one")
    fleet.env.ok("send", "b", "write two then one")
    fleet.env.ok("wait", "a", "b", "--until", "idle", "--timeout", "90")
    denials = [r for name in ("a", "b") for r in results_of(fleet, name) if "deadlock" in r]
    assert len(denials) == 1 and str(one) in denials[0] and str(two) in denials[0]
    assert one.read_text() == "A\n" and two.read_text() == "A\n"  # a went on once b's turn ended
