"""Tests for tests/fakeagent.py, driven through a real (private) tmux server.

They double as executable notes on tmux behaviour the sender relies on:
what `send-keys -l` and `paste-buffer -p` really deliver to a pane.

Every test gets its own tmux socket from libtmux's `session` fixture; tmux
commands are run as plain subprocesses so the exact argv is under our control
(libtmux would otherwise add its own quoting/flags).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from libtmux.session import Session

from tests.helpers import retry_until

FAKEAGENT = Path(__file__).with_name("fakeagent.py")
BUSY_MARKER = "Working… (esc to interrupt)"


@dataclass
class Agent:
    """A fake agent running in its own tmux window."""

    socket: str
    pane: str  # pane id, e.g. %3
    record: Path
    prompt: str = "> "

    def tmux(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            input=stdin,
            capture_output=True,
            check=False,
            timeout=30,
        )

    def send_literal(self, text: str) -> None:
        # `--` so text starting with '-' is not parsed as flags; a trailing ';'
        # must be escaped or tmux eats it as a command separator.
        # tmux turns a trailing "\\;" into ";", so always replacing the final
        # ';' with "\\;" is exact even for text that itself ends in "\\;".
        arg = text[:-1] + "\\;" if text.endswith(";") else text
        r = self.tmux("send-keys", "-t", self.pane, "-l", "--", arg)
        assert r.returncode == 0, r.stderr

    def paste(self, text: str | bytes, name: str = "fakeagent-test") -> None:
        data = text.encode() if isinstance(text, str) else text
        r = self.tmux("load-buffer", "-b", name, "-", stdin=data)
        assert r.returncode == 0, r.stderr
        r = self.tmux("paste-buffer", "-p", "-d", "-b", name, "-t", self.pane)
        assert r.returncode == 0, r.stderr

    def keys(self, *keys: str) -> None:
        r = self.tmux("send-keys", "-t", self.pane, *keys)
        assert r.returncode == 0, r.stderr

    def screen(self) -> list[str]:
        r = self.tmux("capture-pane", "-p", "-t", self.pane)
        return r.stdout.decode("utf-8", "replace").split("\n")[:-1]

    def bottom(self) -> str:
        return self.screen()[-1].rstrip()

    def fmt(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.pane, fmt).stdout.decode().strip()

    def records(self) -> list[str]:
        if not self.record.exists():
            return []
        return [json.loads(line)["text"] for line in self.record.read_text().splitlines()]

    # ---- waits (behaviour, never fixed sleeps) ---------------------------

    def _wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            retry_until(check, timeout, message=what)
        except AssertionError as e:
            # The screen at failure time is what makes these debuggable.
            tail = "\n".join(self.screen()[-6:])
            raise AssertionError(f"{e}\n--- screen tail ---\n{tail}") from None

    def wait_screen(self, needle: str, timeout: float = 10.0) -> list[str]:
        self._wait(
            lambda: any(needle in line for line in self.screen()),
            timeout,
            f"{needle!r} never appeared on screen",
        )
        return self.screen()

    def wait_bottom(self, expected: str, timeout: float = 10.0) -> None:
        self._wait(
            lambda: self.bottom() == expected, timeout, f"bottom line never became {expected!r}"
        )

    def wait_idle(self, composer: str = "") -> None:
        self.wait_bottom((self.prompt + composer).rstrip())

    def wait_records(self, n: int, timeout: float = 10.0) -> list[str]:
        self._wait(lambda: len(self.records()) >= n, timeout, f"expected {n} record(s)")
        return self.records()

    def wait_dead(self) -> int:
        def status() -> str:
            if self.fmt("#{pane_dead}") != "1":
                return ""
            if not (st := self.fmt("#{pane_dead_status}")):
                # tmux 3.3a quirk: the pane can be dead (pty closed) while the
                # child is an unreaped zombie, and it may stay so: the exit
                # races libutempter's own SIGCHLD handler (tmux#311), so
                # #{pane_dead_status} stays "" until some other child of the
                # server exits.  A throwaway run-shell child provokes the
                # SIGCHLD that makes tmux reap it.
                self.tmux("run-shell", "true")
                st = self.fmt("#{pane_dead_status}")
            return st

        return int(
            retry_until(status, message="agent did not exit (or tmux never reported its status)")
        )


def start_agent(session: Session, tmp_path: Path, *args: str, wait: bool = True) -> Agent:
    socket = session.server.socket_name
    assert socket, "libtmux fixture must provide a private socket"
    record = tmp_path / "record.jsonl"
    cmd = shlex.join([sys.executable, str(FAKEAGENT), "--record", str(record), *args])
    # Keep dead panes so exit statuses can be read; set globally *before* the
    # window exists, otherwise a fast exit could race the option.
    session.server.cmd("set-option", "-g", "remain-on-exit", "on")
    window = session.new_window(window_name="agent", window_shell=f"exec {cmd}", attach=True)
    pane = window.active_pane
    assert pane is not None and pane.pane_id is not None
    agent = Agent(socket=socket, pane=pane.pane_id, record=record)
    if wait:
        agent.wait_idle()
    return agent


@pytest.fixture
def agent(session: Session, tmp_path: Path) -> Agent:
    return start_agent(session, tmp_path)


# ---------------------------------------------------------------------------
# Exact delivery
# ---------------------------------------------------------------------------

PAYLOADS = [
    pytest.param("hello", id="plain"),
    pytest.param("ls; echo done;", id="trailing-semicolon"),
    pytest.param(";", id="only-semicolon"),
    pytest.param("find . -exec rm {} \\;", id="trailing-backslash-semicolon"),
    pytest.param("echo $(rm -rf /tmp/x) ${HOME}", id="command-substitution"),
    pytest.param("run `whoami` now", id="backticks"),
    pytest.param("""it's "quoted" 'both' \\ backslash""", id="quotes"),
    pytest.param("col1\tcol2\tcol3", id="tabs"),
    pytest.param("héllo wörld — 日本語 🎉", id="unicode"),
    pytest.param("-n starts with a dash", id="leading-dash"),
    pytest.param("#{pane_id} #S %1 ~/x", id="tmux-format-chars"),
]

PASTE_ONLY_PAYLOADS = [
    pytest.param("line one\nline two\n\nline four", id="multi-line"),
    pytest.param("trailing newline\n", id="trailing-newline"),
    pytest.param("x" * 20_000, id="20KB"),
    pytest.param(("0123456789abcdef " * 64 + "\n") * 20, id="20KB-multi-line"),
    pytest.param("before\x1b[Aafter \x1b escape", id="raw-esc"),
    pytest.param("ctrl \x03 \x04 \x15 chars\x7f", id="control-chars"),
    pytest.param("ünï\ncödé\t🎉\n" * 500, id="unicode-multi-line-big"),
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_send_keys_literal_is_recorded_exactly(agent: Agent, text: str) -> None:
    agent.send_literal(text)
    agent.keys("Enter")
    assert agent.wait_records(1) == [text]
    agent.wait_screen("agent: ok")
    agent.wait_idle()


@pytest.mark.parametrize("text", PAYLOADS + PASTE_ONLY_PAYLOADS)
def test_bracketed_paste_is_recorded_exactly(agent: Agent, text: str) -> None:
    agent.paste(text)
    agent.keys("Enter")
    # tmux converts LF to CR when pasting and the agent maps CR back to LF,
    # so the round trip is exact.
    assert agent.wait_records(1) == [text]
    agent.wait_idle()


def test_paste_then_typed_text_share_one_message(agent: Agent) -> None:
    agent.paste("pasted\npart ")
    agent.send_literal("typed part")
    agent.keys("Enter")
    assert agent.wait_records(1) == ["pasted\npart typed part"]


def test_empty_enter_records_nothing(agent: Agent) -> None:
    agent.keys("Enter")
    agent.send_literal("marker")
    agent.keys("Enter")
    assert agent.wait_records(1) == ["marker"]


def test_idle_screen_shows_composer_on_bottom_line_with_cursor_at_end(agent: Agent) -> None:
    agent.send_literal("some text")
    agent.wait_idle("some text")
    height = int(agent.fmt("#{pane_height}"))
    assert agent.fmt("#{cursor_x},#{cursor_y}") == f"{len('> some text')},{height - 1}"
    assert agent.fmt("#{pane_title}") == "fakeagent"


@pytest.mark.parametrize(
    ("keys", "composer"),
    [
        pytest.param(["BSpace"], "abcde", id="backspace"),
        pytest.param(["BSpace", "BSpace", "BSpace"], "abc", id="backspace-x3"),
        pytest.param(["C-u"], "", id="ctrl-u"),
        pytest.param(["C-c"], "", id="ctrl-c-clears"),
    ],
)
def test_editing_keys(agent: Agent, keys: list[str], composer: str) -> None:
    agent.send_literal("abcdef")
    agent.wait_idle("abcdef")
    agent.keys(*keys)
    agent.wait_bottom(("> " + composer).rstrip())


# ---------------------------------------------------------------------------
# Scripted states
# ---------------------------------------------------------------------------


def submit(agent: Agent, text: str) -> None:
    agent.send_literal(text)
    agent.keys("Enter")


def test_sleep_shows_busy_then_returns_to_idle_with_typed_ahead_text(agent: Agent) -> None:
    submit(agent, "sleep 2")
    agent.wait_screen(BUSY_MARKER)
    assert agent.bottom().endswith(BUSY_MARKER), "composer is hidden while busy"
    assert agent.fmt("#{pane_title}").startswith("* ")
    agent.send_literal("typed while busy")
    agent.wait_idle("typed while busy")
    assert "agent: ok" in "\n".join(agent.screen())
    assert agent.records() == ["sleep 2"]


def test_esc_interrupts_busy(agent: Agent) -> None:
    submit(agent, "sleep 60")
    agent.wait_screen(BUSY_MARKER)
    agent.keys("Escape")
    agent.wait_idle()
    assert "Interrupted" in "\n".join(agent.screen())


def test_enter_while_busy_does_not_submit(agent: Agent) -> None:
    submit(agent, "sleep 60")
    agent.wait_screen(BUSY_MARKER)
    submit(agent, "queued")
    agent.keys("Escape")
    agent.wait_idle("queued")
    agent.keys("Enter")
    assert agent.wait_records(2) == ["sleep 60", "queued"]


@pytest.mark.parametrize(
    ("key", "outcome"),
    [
        pytest.param("1", "approved", id="1"),
        pytest.param("y", "approved", id="y"),
        pytest.param("Enter", "approved", id="enter"),
        pytest.param("2", "denied", id="2"),
        pytest.param("n", "denied", id="n"),
        pytest.param("Escape", "denied", id="escape"),
        pytest.param("Down Enter", "denied", id="down-enter"),
    ],
)
def test_ask_confirmation_prompt(agent: Agent, key: str, outcome: str) -> None:
    submit(agent, "ask delete everything")
    screen = agent.wait_screen("❯ 1. Yes")
    text = "\n".join(screen)
    assert "Do you want to delete everything?" in text
    assert screen[-1].rstrip() == "2. No".rjust(7)
    agent.keys(*key.split())
    agent.wait_idle()
    assert outcome in "\n".join(agent.screen())


def test_error_prints_api_error_and_stays_idle(agent: Agent) -> None:
    submit(agent, "error overloaded")
    agent.wait_screen("API Error: overloaded")
    agent.wait_idle()


@pytest.mark.parametrize(
    ("action", "status"),
    [
        pytest.param(["submit", "exit 3"], 3, id="exit-3"),
        pytest.param(["submit", "exit 0"], 0, id="exit-0"),
        pytest.param(["submit", "crash"], 1, id="crash"),
        pytest.param(["keys", "C-d"], 0, id="ctrl-d"),
        pytest.param(["keys", "C-c", "C-c"], 0, id="ctrl-c-twice"),
        pytest.param(["signal", "TERM"], 143, id="sigterm"),
    ],
)
def test_exit_status(agent: Agent, action: list[str], status: int) -> None:
    how, *args = action
    if how == "submit":
        submit(agent, args[0])
    elif how == "keys":
        agent.keys(*args)
    else:
        os.kill(int(agent.fmt("#{pane_pid}")), getattr(signal, "SIG" + args[0]))
    assert agent.wait_dead() == status
    if action[-1] == "crash":
        assert "Error: simulated crash" in "\n".join(agent.screen())


def test_ctrl_d_with_text_does_not_exit(agent: Agent) -> None:
    agent.send_literal("keep")
    agent.keys("C-d")
    agent.keys("Enter")
    assert agent.wait_records(1) == ["keep"]
    assert agent.fmt("#{pane_dead}") == "0"


def test_drop_first_enter_needs_a_second_enter(session: Session, tmp_path: Path) -> None:
    agent = start_agent(session, tmp_path, "--drop-first-enter")
    agent.paste("first message\nwith two lines")
    agent.keys("Enter")
    # The Enter was swallowed: the text is still on the input line ...
    agent.wait_screen("> first message")
    assert agent.records() == []
    # ... which is exactly what a sender must detect before pressing again.
    agent.keys("Enter")
    assert agent.wait_records(1) == ["first message\nwith two lines"]
    agent.wait_idle()
    submit(agent, "second")
    assert agent.wait_records(2)[1] == "second"


def test_start_delay_holds_input_until_ready(session: Session, tmp_path: Path) -> None:
    agent = start_agent(session, tmp_path, "--start-delay", "3", wait=False)
    agent.wait_bottom("starting…")
    agent.send_literal("early")
    # Input typed while starting shows up in the composer once it is drawn.
    agent.wait_idle("early")
    agent.keys("Enter")
    assert agent.wait_records(1) == ["early"]


def test_custom_prompt_and_name(session: Session, tmp_path: Path) -> None:
    agent = start_agent(session, tmp_path, "--prompt", "❯ ", "--name", "claude-fake", wait=False)
    agent.prompt = "❯ "
    agent.wait_idle()
    assert agent.fmt("#{pane_title}") == "claude-fake"
    submit(agent, "hi")
    assert agent.wait_records(1) == ["hi"]


def test_redraws_on_resize(agent: Agent) -> None:
    agent.send_literal("still here")
    agent.wait_idle("still here")
    agent.tmux("resize-window", "-t", agent.pane, "-x", "60", "-y", "15")
    retry_until(lambda: agent.fmt("#{pane_height}") == "15")
    agent.wait_idle("still here")
    assert len(agent.screen()) == 15


def test_long_composer_wraps_and_bottom_line_holds_cursor(agent: Agent) -> None:
    width = int(agent.fmt("#{pane_width}"))
    text = "w" * (width + 10)
    agent.send_literal(text)
    screen = agent.wait_screen("> www")
    # Continuation rows are indented to line up under the prompt.
    agent.wait_bottom("  " + "w" * 12)
    assert screen[-2] == "> " + "w" * (width - 2)
    assert agent.fmt("#{cursor_x}") == str(2 + 12)
    agent.keys("Enter")
    assert agent.wait_records(1) == [text]


# ---------------------------------------------------------------------------
# tmux behaviour the sender depends on (documents tmux 3.3a, not our code)
# ---------------------------------------------------------------------------


def test_tmux_unescaped_trailing_semicolon_is_lost(agent: Agent) -> None:
    # tmux's argv parser treats an argument ending in ';' as a command
    # separator and strips the ';'.  `\;` is the escape (see send_literal).
    r = agent.tmux("send-keys", "-t", agent.pane, "-l", "echo hi;")
    assert r.returncode == 0
    agent.keys("Enter")
    assert agent.wait_records(1) == ["echo hi"]


def test_tmux_send_keys_literal_needs_double_dash_for_leading_dash(agent: Agent) -> None:
    r = agent.tmux("send-keys", "-t", agent.pane, "-l", "-n foo")
    assert r.returncode != 0
    assert b"unknown flag" in r.stderr


def test_tmux_send_keys_has_a_command_size_limit(agent: Agent) -> None:
    # Arguments travel in one client->server message (~16 KB); long text
    # must go through load-buffer instead.
    r = agent.tmux("send-keys", "-t", agent.pane, "-l", "--", "x" * 20_000)
    assert r.returncode != 0
    assert b"too long" in r.stderr


def test_tmux_send_keys_literal_sends_lf_not_enter(agent: Agent) -> None:
    # `send-keys -l` delivers '\n' as a raw LF byte (Ctrl-J), which an agent
    # treats as a newline in the composer, not as a submit.
    agent.send_literal("a\nb")
    agent.keys("Enter")
    assert agent.wait_records(1) == ["a\nb"]


def test_tmux_paste_end_marker_inside_payload_ends_the_paste_early(agent: Agent) -> None:
    # paste-buffer -p does not filter ESC[201~ out of the data, so a payload
    # containing it closes the bracket early: what follows arrives as typed
    # keys (here: a CR that submits).  Senders must strip/refuse it.
    agent.paste("safe\x1b[201~\nrest")
    agent.keys("Enter")
    assert agent.wait_records(2) == ["safe", "rest"]


def test_without_bracketed_paste_each_pasted_line_is_submitted(
    session: Session, tmp_path: Path
) -> None:
    # tmux only adds the brackets when the app enabled mode 2004; otherwise
    # the LF->CR conversion turns every newline into an Enter.
    agent = start_agent(session, tmp_path, "--no-bracketed-paste")
    agent.paste("one\ntwo\nthree")
    agent.wait_records(2)
    agent.wait_idle("three")
    agent.keys("Enter")
    assert agent.wait_records(3) == ["one", "two", "three"]
