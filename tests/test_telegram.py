"""The Telegram bot (``tmuxorch telegram``, and inside ``serve``) against a
fake Bot API on 127.0.0.1 (tests/faketelegram.py), over fake agents whose
screens show a permission prompt.

One bot's life covers the contract: the commands, a reply that reaches its
agent, a ``waiting`` notice with Approve and Deny to every allowed chat, the
buttons answering the agent, other chats ignored and logged, bad input as one
line; then the bot restarts inside ``serve`` and tells what happened while it
was down, once, and nothing twice.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env, agent_requests
from tests.fakeapi import last_user_text, text, tool_use
from tests.faketelegram import FakeTelegram
from tests.helpers import agent_row, retry_until
from tmuxorch.claude.hooks import apply
from tmuxorch.core.config import Settings, load_config, resolve
from tmuxorch.core.errors import ConfigError
from tmuxorch.core.records import Event
from tmuxorch.store.opening import open_store
from tmuxorch.surfaces.telegram import runner
from tmuxorch.surfaces.telegram.follow import CURSOR_FILE, Told, entering
from tmuxorch.surfaces.telegram.notices import about, pressed, waiting_notice

TOKEN = "4242:SECRET-token-never-shown"
CHAT, SECOND, OTHER = 111, -100222, 999
Json = dict[str, Any]


# -- pure parts ------------------------------------------------------------

ENTERING = [
    pytest.param([("a", "busy"), ("a", "waiting")], [1], id="busy-to-waiting"),
    pytest.param([("a", "waiting"), ("a", "waiting")], [0], id="a-repeat-is-no-new-wait"),
    pytest.param([("a", "waiting"), ("a", None), ("a", "waiting")], [0], id="no-state-no-change"),
    pytest.param([("a", "waiting"), ("a", "busy"), ("a", "waiting")], [0, 2], id="waits-again"),
    pytest.param([("a", "waiting"), ("b", "waiting")], [0, 1], id="each-agent"),
    pytest.param([(None, "waiting")], [], id="no-agent"),
]


@pytest.mark.parametrize(("steps", "entered"), ENTERING)
def test_entering_waiting(steps: list[tuple[str | None, str | None]], entered: list[int]) -> None:
    events = [
        Event(i, 0.0, agent, "state", state, "", {})  # type: ignore[arg-type]
        for i, (agent, state) in enumerate(steps)
    ]
    states: dict[str, str] = {}
    assert [e.id for e in entering(events, states)] == entered


def test_a_seen_wait_stays_seen_across_calls() -> None:
    """The states carried from one batch (or one run of the bot) to the next."""
    states = {"a": "waiting"}
    assert entering([Event(5, 0.0, "a", "hook:Notification", "waiting", "")], states) == []


# (events after the notice of event 0, "permission prompt": (state, detail)),
# which of them edit the notice (their index), to what
EDITS = [
    pytest.param([("waiting", "Do you want to create a.txt?")], [0], id="the-question-comes"),
    pytest.param([("waiting", "permission prompt")], [], id="the-same-words"),
    pytest.param([("waiting", "")], [], id="no-words"),
    pytest.param([("busy", ""), ("waiting", "Do you want to?")], [], id="gone-then-a-new-wait"),
    pytest.param([("waiting", "Q1"), ("waiting", "Q2")], [0, 1], id="each-newer-question"),
    pytest.param([(None, "x"), ("waiting", "Q")], [1], id="an-event-without-state"),
]


@pytest.mark.parametrize(("later", "edits"), EDITS)
def test_a_notice_follows_the_question_while_the_agent_waits(
    later: list[tuple[str | None, str]], edits: list[int]
) -> None:
    told = Told()
    told.sent(Event(0, 0.0, "a", "state", "waiting", "permission prompt"), [(CHAT, 7)])
    found = []
    for i, (state, detail) in enumerate(later, start=1):
        newer = told.newer_question(Event(i, 0.0, "a", "state", state, detail))  # type: ignore[arg-type]
        if newer is not None:
            assert newer == (0, [(CHAT, 7)])  # the first prompt's buttons, its messages
            found.append(i - 1)
    assert found == edits


READS = [
    pytest.param(waiting_notice("fk-1.x", "Do it?"), "fk-1.x", id="notice"),
    pytest.param("🤖 fk · idle\nprofile fake", "fk", id="status-answer"),
    pytest.param("No agents.", None, id="not-about-one"),
    pytest.param("🤖 a;b · idle", None, id="not-a-name"),
    pytest.param(None, None, id="no-text"),
]


@pytest.mark.parametrize(("text", "name"), READS)
def test_the_agent_is_read_from_the_message(text: str | None, name: str | None) -> None:
    assert about(text) == name


BUTTONS = [
    pytest.param("approve 12", ("approve", 12), id="approve"),
    pytest.param("deny 3", ("deny", 3), id="deny"),
    pytest.param("approve x", None, id="no-event"),
    pytest.param("rm 3", None, id="unknown-action"),
    pytest.param(None, None, id="none"),
]


@pytest.mark.parametrize(("data", "action"), BUTTONS)
def test_button_data(data: str | None, action: tuple[str, int] | None) -> None:
    assert pressed(data) == action


CONFIGS = [
    pytest.param({"allowed_chats": [1, -1001234567890]}, None, id="group-ids-are-negative"),
    pytest.param({"token": "12:ab cd"}, "telegram.token", id="token-with-space"),
    pytest.param({"token": ""}, "telegram.token", id="empty-token"),
    pytest.param({"api_url": "ftp://x"}, "telegram.api_url", id="api-url-not-http"),
    pytest.param({"allowed_chats": ["111"]}, "telegram.allowed_chats[0]", id="chat-not-int"),
    pytest.param({"allowed_chats": 111}, "telegram.allowed_chats", id="chats-not-list"),
    pytest.param({"chats": [1]}, "telegram.chats", id="unknown-key"),
]


@pytest.mark.parametrize(("telegram", "error"), CONFIGS)
def test_config(tmp_path: Path, telegram: Json, error: str | None) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"telegram": telegram}))
    if error is None:
        assert load_config(path)[0].telegram.allowed_chats == telegram["allowed_chats"]
        return
    with pytest.raises(ConfigError, match=re.escape(error)) as caught:
        load_config(path)
    assert "ab cd" not in str(caught.value)  # a token is never repeated


def _failed() -> Any:
    try:
        raise OSError(f"POST http://api/bot{TOKEN}/getMe failed")
    except OSError:
        return sys.exc_info()


REDACTED = [
    pytest.param("polling %s", (f"/bot{TOKEN}/getUpdates",), None, id="in-args"),
    pytest.param(f"url /bot{TOKEN}/x", (), None, id="in-message"),
    pytest.param("request failed", (), "error", id="in-the-error"),
]


@pytest.mark.parametrize(("msg", "args", "exc"), REDACTED)
def test_log_handlers_write_the_token_as_a_mark(msg: str, args: tuple[str, ...], exc: Any) -> None:
    record = logging.LogRecord("httpx", logging.ERROR, __file__, 1, msg, args, None)
    if exc:
        record.exc_info = _failed()
    handler = logging.StreamHandler()
    handler.addFilter(runner.Redact(TOKEN))
    handler.filter(record)
    shown = logging.Formatter().format(record)
    assert TOKEN not in shown and "<token>" in shown, shown


# -- `tmuxorch telegram` that cannot start -----------------------------------


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


REFUSALS = [
    pytest.param(None, None, "no Telegram bot: set telegram.token", id="no-token"),
    pytest.param(TOKEN + "x", "fake", "telegram.token: the Bot API refused it", id="refused"),
    pytest.param(TOKEN, "closed", "cannot reach the Bot API at http://127.0.0.1:", id="no-api"),
]


def _alone(tmp_path: Path, token: str | None, url: str) -> dict[str, str]:
    """The environment of a fleet in ``tmp_path`` whose bot has ``token`` and ``url``."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"telegram": {"token": token, "api_url": url}}))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TMUXORCH_")}
    environ.update(TMUXORCH_HOME=str(tmp_path / "home"), TMUXORCH_CONFIG=str(config))
    return environ


@pytest.mark.parametrize(("token", "api", "line"), REFUSALS)
def test_the_bot_that_cannot_start_says_why_in_one_line(
    tmp_path: Path, token: str | None, api: str | None, line: str
) -> None:
    with FakeTelegram(TOKEN) as tg:
        url = {"fake": tg.url, "closed": _closed_port()}.get(api or "", tg.url)
        proc = subprocess.run(
            [sys.executable, "-m", "tmuxorch", "telegram"],
            env=_alone(tmp_path, token, url), capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"tmuxorch: {line}"), proc.stderr
    assert proc.stderr.count("\n") == 1 and TOKEN not in proc.stderr + proc.stdout


def test_serve_goes_on_without_a_bot_that_cannot_start(tmp_path: Path) -> None:
    with FakeTelegram(TOKEN) as tg:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tmuxorch", "serve", "--port", "0"],
            env=_alone(tmp_path, TOKEN + "x", tg.url), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        try:
            port = int(proc.stdout.readline().split("http://127.0.0.1:")[1].split("/")[0])
            said = proc.stderr.readline()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health") as health:
                assert health.status == 200
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
    assert said == "telegram bot not started: telegram.token: the Bot API refused it\n"
    assert "Traceback" not in err and TOKEN not in said + err


def test_a_notice_outlasts_a_failing_bot_api_and_no_log_shows_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent that starts waiting is told once, sent again while the Bot API
    fails; httpx logs each request's URL, which holds the token, and errors
    may quote it: nothing logged at any level shows it."""
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    with FakeTelegram(TOKEN) as tg:
        config = tmp_path / "config.yaml"
        telegram = {"token": TOKEN, "api_url": tg.url, "allowed_chats": [CHAT]}
        config.write_text(yaml.safe_dump({"telegram": telegram}))
        with open_store(home) as store:
            store.insert_agent(agent_row("a", profile="claude", state="busy"))

        def settings() -> Settings:
            return resolve(str(home), "tmuxorch-test-none", str(config))

        async def life() -> None:
            stopping = asyncio.Event()
            bot = asyncio.create_task(runner.run_bot(settings, stopping))
            following = (home / CURSOR_FILE).exists
            await asyncio.to_thread(retry_until, following, message="the notices follow")
            tg.failing["sendMessage"] = 2
            with open_store(home) as store:
                apply(store, "a", "PermissionRequest", {"tool_name": "Write", "tool_input": {}})
            await asyncio.to_thread(tg.wait_sent, CHAT, lambda m: "a is waiting" in m["text"])
            tg.push_message(CHAT, "/list")
            await asyncio.to_thread(
                tg.wait_sent, CHAT, lambda m: "a · claude · waiting" in m["text"]
            )
            stopping.set()
            await bot

        asyncio.run(life())
    assert len(tg.calls("sendMessage")) == 4  # the notice three times, /list's answer
    assert len([m for m in tg.sent(CHAT) if "is waiting" in m["text"]]) == 1
    assert "notice about a to chat 111: Bad Gateway; again in" in caplog.text
    assert "telegram.ext.Updater" in {r.name for r in caplog.records}  # all was captured
    assert TOKEN not in caplog.text


# -- one bot's life over fake agents -----------------------------------------


class Chat:
    """A person in an allowed chat, talking to the bot through the fake."""

    def __init__(self, tg: FakeTelegram, chat: int = CHAT) -> None:
        self.tg, self.chat = tg, chat

    def newest(self) -> int:
        return max((m["message_id"] for m in self.tg.sent()), default=0)

    def next_sent(self, after: int, match: Callable[[Json], bool]) -> Json:
        try:  # a copy: the message as sent, whatever edits it later
            found = self.tg.wait_sent(self.chat, lambda m: m["message_id"] > after and match(m))
            return copy.deepcopy(found)
        except AssertionError as exc:
            said = [m["text"][:300] for m in self.tg.sent(self.chat) if m["message_id"] > after]
            raise AssertionError(f"{exc}; the bot said since: {said}") from None

    def ask(self, text: str, expect: str, reply_to: Json | None = None) -> Json:
        """Send ``text``; the bot's answer that contains ``expect``."""
        after = self.newest()
        self.tg.push_message(self.chat, text, reply_to)
        return self.next_sent(after, lambda m: expect in m["text"])

    def refused(self, text: str, expect: str, reply_to: Json | None = None) -> None:
        """``text`` is answered with one error line that says ``expect``."""
        answer = self.ask(text, "tmuxorch: ", reply_to)["text"]
        assert expect in answer and "\n" not in answer and "Traceback" not in answer, answer

    def notice(self, after: int, prompt: str) -> Json:
        return self.next_sent(after, lambda m: "is waiting" in m["text"] and prompt in m["text"])

    def press(self, notice: Json, label: str) -> str:
        """Press the button ``label`` under ``notice``; the text of the answer."""
        (buttons,) = notice["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for b in buttons if b["text"] == label)
        answers = len(self.tg.calls("answerCallbackQuery"))
        self.tg.press(self.chat, notice, data)
        answer = retry_until(
            lambda: self.tg.calls("answerCallbackQuery")[answers:], message="an answered press"
        )
        return str(answer[0].params.get("text"))


def _start(env: Env, *command: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "-v", *command],
        env=env.environ, cwd=env.tmp, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(f"tmuxorch {command[0]}: ")
    return proc


def _end(proc: subprocess.Popen[str]) -> str:
    """Stop the bot; its stderr, with neither a traceback nor the token."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the bot did not stop on SIGTERM: {err}") from None
    assert "Traceback" not in err and TOKEN not in err, err
    return err


def _state(env: Env, name: str) -> str:
    return str(env.json("status", name)["state"])


def _approvals(env: Env) -> list[str]:
    lines = env.ok("events", "--json", "-n", "500").splitlines()
    return [e for e in (json.loads(line)["event"] for line in lines) if e in ("approved", "denied")]


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


def _configure(env: Env, tg: FakeTelegram, chats: list[int], **more: Any) -> None:
    """The env's config.yaml with the bot on, over ``tg``."""
    config = yaml.safe_load(env.config_path.read_text())
    config["telegram"] = {"token": TOKEN, "api_url": tg.url, "allowed_chats": chats}
    env.write_config({**config, **more})


def test_the_bot_commands_replies_notices_and_buttons(env: Env, tg: FakeTelegram) -> None:
    # /new starts agents whose prompts a test answers.
    _configure(env, tg, [CHAT, SECOND], default_agent="fake")
    chat, other = Chat(tg), Chat(tg, OTHER)
    bot = _start(env, "telegram")
    try:
        assert chat.ask("/list", "No agents.")
        assert "🤖 fk · " in chat.ask("/new fk", "🤖 fk")["text"]
        chat.ask("/new fk2 hello there", "🤖 fk2")
        env.ok("wait", "fk", "fk2", "--timeout", "60")
        assert "hello there" in env.records()  # /new's prompt
        listed_answer = chat.ask("/list", "fk2")
        assert listed_answer["text"].splitlines() == ["fk · fake · idle", "fk2 · fake · idle"]
        status = chat.ask("/status fk", "🤖 fk · idle")

        # A reply to a message about fk goes to fk; fk then waits, and says so.
        after = chat.newest()
        assert "to fk: delivered" in chat.ask("ask Proceed", "to fk", reply_to=status)["text"]
        notice = chat.notice(after, "Do you want to Proceed?")
        assert Chat(tg, SECOND).notice(after, "Proceed")  # every allowed chat is told
        assert _state(env, "fk") == "waiting"

        # Another chat's command and press do nothing.
        other.tg.push_message(OTHER, "/kill fk")
        tg.press(OTHER, notice, notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        retry_until(tg.taken, message="the other chat's updates fetched")

        # In a group people talk: the bot answers commands and replies to its own.
        group = Chat(tg, SECOND)
        before = group.newest()
        talk = tg.push_message(SECOND, "hello all")
        tg.push_message(SECOND, "agreed", reply_to=talk)
        retry_until(tg.taken, message="the group's talk fetched")
        listed_there = group.ask("/list", "fk2")
        assert [m["message_id"] for m in tg.sent(SECOND) if m["message_id"] > before] == [
            listed_there["message_id"]
        ]

        assert chat.press(notice, "Approve") == "Approved: fk"
        retry_until(lambda: _state(env, "fk") == "idle", message="fk approved")
        edit = tg.calls("editMessageReplyMarkup")[-1].params
        assert int(edit["message_id"]) == notice["message_id"]
        assert edit["reply_markup"]["inline_keyboard"][0][0]["text"] == "✓ Approved"
        assert "not waiting" in chat.press(notice, "Approve")  # pressed again: one line
        assert _approvals(env) == ["approved"]  # once: the other chat's press did nothing

        chat.refused("/status a;b", "invalid agent name 'a;b'")
        chat.refused("/status ghost", "no agent named 'ghost'")
        chat.refused("/status", "usage: /status NAME")
        chat.refused("/new a;b do it", "invalid agent name")
        chat.refused("/new fk", "fk")
        chat.refused("/kill ghost", "ghost")
        chat.refused("x" * 200_000, "the limit is", reply_to=status)
        assert chat.ask("hello", "/status NAME")  # what the bot takes
        assert chat.ask("echo hi", "Reply to a message of mine", reply_to=listed_answer)
        assert "🤖 fk2 · stopped" in chat.ask("/stop fk2", "🤖 fk2")["text"]
    finally:
        err = _end(bot)
    assert f"ignored an update from chat {OTHER}" in err
    assert not [c for c in tg.calls("sendMessage") if c.params["chat_id"] in (OTHER, str(OTHER))]
    assert env.records().count("ask Proceed") == 1

    # While the bot is down fk waits again: the bot, now inside serve, tells
    # that once, and the first notice not again.
    env.ok("send", "fk", "ask Again")
    retry_until(lambda: _state(env, "fk") == "waiting", message="fk waits again")
    after = chat.newest()
    served = _start(env, "serve", "--port", "0")
    try:
        again = chat.notice(after, "Do you want to Again?")
        env.ok("send", "fk", "ask Third", "--mode", "urgent")  # a newer prompt than Again's
        later = chat.notice(again["message_id"], "Third")
        assert "newer prompt" in chat.press(again, "Deny")
        assert chat.press(later, "Deny") == "Denied: fk"
        retry_until(lambda: _state(env, "fk") == "idle", message="fk denied")
        assert "🤖 fk · exited" in chat.ask("/kill fk", "🤖 fk")["text"]
    finally:
        _end(served)
    notices = [m["text"] for m in tg.sent(CHAT) if "is waiting" in m["text"]]
    assert len(notices) == 3, notices  # Proceed, Again, Third: none twice
    assert _approvals(env) == ["approved", "denied"]


def test_a_real_claude_agent_is_told_and_answered_from_telegram(
    claude_fleet: ClaudeFleet, tg: FakeTelegram
) -> None:
    """The real Claude Code (fake Messages API): a reply reaches it, its
    permission prompt becomes a notice, and Approve lets the write happen."""
    fleet, env = claude_fleet, claude_fleet.env
    _configure(env, tg, [CHAT])
    fleet.spawn("c1", "--permission-mode", "default")
    target = fleet.project / "a.txt"
    fleet.api.enqueue(
        tool_use("Write", {"file_path": str(target), "content": "hello\n"}), text("All done.")
    )
    chat = Chat(tg)
    bot = _start(env, "telegram")
    try:
        status = chat.ask("/status c1", "🤖 c1 · idle")
        after = chat.newest()
        chat.ask("please write a.txt", "to c1: delivered", reply_to=status)
        notice = chat.notice(after, "a.txt")
        assert "please write a.txt" in last_user_text(agent_requests(fleet.api, "c1")[0])
        assert chat.press(notice, "Approve") == "Approved: c1"
        env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
        assert target.read_text() == "hello\n"
    finally:
        _end(bot)
