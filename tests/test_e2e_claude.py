"""The real Claude Code under tmuxorch, offline against the scripted fake API.

Each test drives Claude through its hooks and screen and checks the states a
script would see: idle, waiting (with the prompt's text), busy, error, exited.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest
import yaml

from tests.claude_env import DUMMY_API_KEY, write_claude_json
from tests.conftest import ClaudeFleet, Env, agent_requests
from tests.fakeapi import error, last_user_text, text, tool_use
from tests.helpers import HOST, retry_until
from tmuxorch.fleet import monitorproc


def _status(fleet: ClaudeFleet, name: str) -> dict[str, object]:
    result: dict[str, object] = fleet.env.json("status", name)
    return result


def _events(env: Env, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in env.ok("events", "--json", "--agent", name).splitlines()]


def test_spawn_reaches_idle_with_known_session(claude_fleet: ClaudeFleet) -> None:
    status = claude_fleet.spawn("c1", "--permission-mode", "default")
    assert status["state"] == "idle"
    assert status["session_id"]
    env = claude_fleet.env
    settings = json.loads((env.home / "claude" / "c1.json").read_text())
    assert "auto-lock" in settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    # The session id chosen at spawn is the one Claude reports through its hooks.
    events = [json.loads(line) for line in env.ok("events", "--json", "--agent", "c1").splitlines()]
    assert any(e["event"] == "hook:SessionStart" for e in events)
    assert _status(claude_fleet, "c1")["session_id"] == status["session_id"]


APPROVALS = [
    ("write", "Write", {"file_path": "a.txt", "content": "hello\n"}, "Do you want to create a.txt?",
     "a.txt"),
    ("bash", "Bash", {"command": "echo hi > out.txt", "description": "Write hi"},
     "Do you want to proceed?", "out.txt"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "tool_input", "question", "created"),
    [a[1:] for a in APPROVALS],
    ids=[a[0] for a in APPROVALS],
)
def test_permission_prompt_approve(
    claude_fleet: ClaudeFleet, tool: str, tool_input: dict[str, str], question: str, created: str
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "default")
    tool_input = {
        k: str(fleet.project / v) if k == "file_path" else v for k, v in tool_input.items()
    }
    fleet.api.enqueue(tool_use(tool, tool_input), text("All done."))
    env.ok("send", "c1", "please do it")
    env.ok("wait", "c1", "--until", "waiting", "--timeout", "60")
    retry_until(lambda: question in str(_status(fleet, "c1")["detail"]), message="prompt text")
    env.ok("approve", "c1")
    env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
    assert (fleet.project / created).exists()
    assert _status(fleet, "c1")["turns"] == 1


def test_permission_prompt_deny(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "default")
    target = fleet.project / "denied.txt"
    fleet.api.enqueue(tool_use("Write", {"file_path": str(target), "content": "no\n"}))
    env.ok("send", "c1", "write it")
    env.ok("wait", "c1", "--until", "waiting", "--timeout", "60")
    env.ok("deny", "c1")
    env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
    assert not target.exists()
    assert env.cli("approve", "c1").returncode == 1  # nothing to answer any more


def test_api_400_is_an_error(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1")
    # Claude retries some 400s itself: every answer of this turn is the error.
    fleet.api.default = error(400, "messages.0: scripted bad request")
    env.ok("send", "c1", "trigger an error")
    env.ok("wait", "c1", "--until", "done", "--timeout", "60")
    status = _status(fleet, "c1")
    assert status["state"] == "error"
    assert "400" in str(status["detail"])


def test_overloaded_529_is_busy_with_retry_detail(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1")
    fleet.api.enqueue(*[error(529) for _ in range(4)], text("Recovered."))
    env.ok("send", "c1", "trigger overload")
    status = retry_until(
        lambda: (
            (s := _status(fleet, "c1"))["state"] == "busy"
            and "etrying in" in str(s["detail"])
            and s
        ),
        timeout=60,
        message="busy with the retry line as detail",
    )
    assert "attempt" in str(status["detail"])
    env.ok("wait", "c1", "--until", "idle", "--timeout", "90")
    assert _status(fleet, "c1")["detail"] == ""


def test_process_exit_is_exited_with_status(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1")
    pid = int(str(_status(fleet, "c1")["pid"]))
    os.kill(pid, signal.SIGKILL)
    env.ok("wait", "c1", "--until", "exited", "--timeout", "30")
    status = _status(fleet, "c1")
    assert status["state"] == "exited" and status["exit_status"] == 128 + signal.SIGKILL


def test_monitor_killed_mid_turn_recovers(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "default")
    target = fleet.project / "later.txt"
    fleet.api.enqueue(tool_use("Write", {"file_path": str(target), "content": "x"}, delay=3))
    env.ok("send", "c1", "slow turn")
    lock = monitorproc.lock_file(env.home, HOST)
    old = env.kill_monitor()
    # The turn goes on without a monitor (hooks still write states); the next
    # command starts a new monitor, which reads the screen afresh and puts the
    # dialog's own question in the detail.
    env.ok("wait", "c1", "--until", "waiting", "--timeout", "60")
    assert monitorproc.is_running(env.home, HOST)
    assert int(lock.read_text().split()[0]) != old
    retry_until(
        lambda: "Do you want to create later.txt?" in str(_status(fleet, "c1")["detail"]),
        message="the new monitor read the prompt",
    )
    env.ok("approve", "c1")
    env.ok("wait", "c1", "--timeout", "60")
    assert target.read_text() == "x"


def _key_responses(fleet: ClaudeFleet) -> dict[str, list[str]]:
    config = json.loads((fleet.env.tmp / "claude-config" / ".claude.json").read_text())
    responses: dict[str, list[str]] = config["customApiKeyResponses"]
    return responses


def test_api_key_dialog_is_answered_by_accepting_the_key(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    write_claude_json(env.tmp / "claude-config", fleet.project, api_key_approved=False)
    fleet.spawn("c1")
    assert _key_responses(fleet) == {"approved": [DUMMY_API_KEY[-20:]], "rejected": []}
    # The event log says what was on screen and what was pressed.
    dialogs = [e for e in _events(env, "c1") if e["event"] == "dialog"]
    assert {d["detail"].split(" -> ")[-1] for d in dialogs} == {"Up", "Enter"}
    assert all("use this API key?" in d["detail"] and "\\s" not in d["detail"] for d in dialogs)


def test_approve_accepts_the_api_key(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    write_claude_json(env.tmp / "claude-config", fleet.project, api_key_approved=False)
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["claude"]["dialogs"] = {}  # nobody answers it but `approve`
    env.write_config(config)
    env.ok("spawn", "c1", "--agent", "claude", "--cwd", str(fleet.project))
    env.ok("wait", "c1", "--until", "waiting", "--timeout", "60")
    assert "Do you want to use this API key?" in str(_status(fleet, "c1")["detail"])
    env.ok("approve", "c1")
    env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
    assert _key_responses(fleet) == {"approved": [DUMMY_API_KEY[-20:]], "rejected": []}


def _idle_notices(env: Env, name: str) -> int:
    return sum(
        e.get("data", {}).get("notification_type") == "idle_prompt" for e in _events(env, name)
    )


def test_idle_notice_leaves_error_and_since_alone(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    # Claude says "waiting for your input" this long after a turn (default 60 s).
    write_claude_json(
        env.tmp / "claude-config", fleet.project, extra={"messageIdleNotifThresholdMs": 2000}
    )
    fleet.spawn("c1")
    for answer, state in ((text("Fine."), "idle"), (error(400, "scripted bad request"), "error")):
        fleet.api.default = answer
        notices = _idle_notices(env, "c1")
        env.ok("send", "c1", f"this turn ends {state}")
        env.ok("wait", "c1", "--until", "done", "--timeout", "60")
        before = _status(fleet, "c1")
        assert before["state"] == state
        retry_until(lambda n=notices: _idle_notices(env, "c1") > n, message="Claude's idle notice")
        after = _status(fleet, "c1")
        assert (after["state"], after["detail"], after["since"]) == (
            state, before["detail"], before["since"],
        )  # fmt: skip


# config's delivery.header (None: the default), what the system prompt says
# messages start with, and how one from agent "boss" starts.
HEADERS = [
    ("default", None, "[message from NAME]", "[message from boss] hello"),
    ("custom", "<<{sender}>> ", "<<NAME>>", "<<boss>> hello"),
]


@pytest.mark.parametrize(
    ("header", "told", "received"), [h[1:] for h in HEADERS], ids=[h[0] for h in HEADERS]
)
def test_system_prompt_names_the_real_message_header(
    claude_fleet: ClaudeFleet, header: str | None, told: str, received: str
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    if header is not None:
        config = yaml.safe_load(env.config_path.read_text())
        env.write_config({**config, "delivery": {"header": header}})
    fleet.spawn("c1")
    env.ok("send", "c1", "hello", "--wait", env={"TMUXORCH_AGENT": "boss"})
    body = agent_requests(fleet.api, "c1")[-1]
    assert f"start with {told} " in json.dumps(body["system"], ensure_ascii=False)
    assert last_user_text(body).startswith(received)


# The profile's own args, and the teammate mode Claude is started with.
TEAMMATE_MODES = [
    ("default", [], "in-process"),
    ("profile-says", ["--teammate-mode", "tmux"], "tmux"),
]


@pytest.mark.parametrize(
    ("args", "mode"), [t[1:] for t in TEAMMATE_MODES], ids=[t[0] for t in TEAMMATE_MODES]
)
def test_teammates_stay_in_the_agents_pane(
    claude_fleet: ClaudeFleet, args: list[str], mode: str
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["claude"]["args"] = args
    env.write_config(config)
    fleet.spawn("c1")  # the pinned Claude takes the flag and starts
    spawned = next(e for e in _events(env, "c1") if e["event"] == "spawned")
    argv = spawned["data"]["argv"]
    assert argv.count("--teammate-mode") == 1
    assert argv[argv.index("--teammate-mode") + 1] == mode
