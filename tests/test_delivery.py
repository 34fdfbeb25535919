"""Adversarial payloads typed into a fake agent that records exactly what it received."""

from __future__ import annotations

import pytest
from libtmux.server import Server

from tests.conftest import Env, base_config
from tests.helpers import retry_until
from tmuxorch.fleet.delivery import needs_paste, visible_tail
from tmuxorch.fleet.messaging import MAX_BYTES
from tmuxorch.tmux.panes import arg

BIG = "".join(f"line {i:04d} " + "x" * 88 + "\n" for i in range(200)).rstrip("\n")  # ~20 KB

PAYLOADS = [
    ("plain", "hello world"),
    ("multi-line", "line one\nline two\n\tindented three"),
    ("20KB", BIG),
    ("trailing-semicolon", "echo done;"),
    ("only-semicolon", ";"),
    ("backslash-semicolon", "a\\;"),
    ("command-substitution", "$(rm -rf /tmp/x) `id` ${HOME} $((1+1))"),
    ("quotes", '"double" \'single\' \\"escaped\\" \\\''),
    ("tabs", "a\tb\t\tc"),
    ("unicode", "héllo wörld — 日本語 🎉 ünïcödé"),
    ("raw-escape", "before\x1b[31mred\x1b[0m after \x1b done"),
    ("key-names", "C-c Enter Escape BSpace"),
    ("leading-dash", "-t %0 -l"),
    ("tmux-format", "#{pane_id} #S %Y"),
]


@pytest.mark.parametrize("payload", [p[1] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_payload_arrives_exactly(env: Env, payload: str) -> None:
    env.spawn_ready("rec", "--agent", "fake")
    out = env.ok("send", "rec", "-", "--json", input=payload.encode())
    assert '"status": "delivered"' in out
    assert retry_until(env.records, message="recorded") == [payload]


def test_message_argument_and_stdin_agree(env: Env) -> None:
    env.spawn_ready("rec", "--agent", "fake")
    env.ok("send", "rec", "from argv ;")
    env.ok("send", "rec", "-", input="from stdin ;\n")
    retry_until(lambda: len(env.records()) == 2, message="two records")
    assert env.records() == ["from argv ;", "from stdin ;"]


def test_swallowed_enter_is_pressed_again(env: Env) -> None:
    config = base_config(env.tmp)
    config["agents"]["fake"]["args"].insert(0, "--drop-first-enter")
    env.write_config(config)
    env.spawn_ready("rec", "--agent", "fake")
    env.ok("send", "rec", "needs two enters")
    assert retry_until(env.records) == ["needs two enters"]


def test_copy_mode_is_left_first(env: Env, server: Server) -> None:
    env.spawn_ready("rec", "--agent", "fake")
    pane_id = env.json("status", "rec")["pane_id"]
    fleet = env.fleet()
    fleet.tmux.cmd("copy-mode", "-t", pane_id)
    assert fleet.tmux.pane(pane_id).in_mode  # type: ignore[union-attr]
    env.ok("send", "rec", "typed after copy-mode")
    assert retry_until(env.records) == ["typed after copy-mode"]


def test_never_submitted_is_reported(env: Env) -> None:
    """A program that never takes Enter: the message is marked failed, not delivered."""
    config = base_config(env.tmp)
    config["delivery"] = {"verify_timeout": 0.5, "retries": 1}
    # In raw mode Enter is just a byte for cat: the text stays on the line.
    sink = "stty raw -icrnl; printf '> '; exec cat > /dev/null"
    config["agents"]["sink"] = {"command": "/bin/sh", "args": ["-c", sink], "ready": [r"^>"]}
    env.write_config(config)
    env.spawn_ready("cat", "--agent", "sink")
    proc = env.cli("send", "cat", "stuck text")
    assert proc.returncode == 1 and "never submitted" in proc.stderr
    with env.fleet() as fleet:
        message = fleet.store.get_message(1)
        assert message is not None and message.status == "failed"
        assert message.error is not None and "never submitted" in message.error


ARGS = [
    ("plain", "a", "a"),
    ("trailing", "a;", "a\\;"),
    ("only", ";", "\\;"),
    ("bs", "a\\;", "a\\\\;"),
]


@pytest.mark.parametrize(("text", "expected"), [a[1:] for a in ARGS], ids=[a[0] for a in ARGS])
def test_tmux_arg_escapes_trailing_semicolon(text: str, expected: str) -> None:
    assert arg(text) == expected


TAILS = [
    ("plain", "hello", "hello"),
    ("last-line", "one\ntwo three", "two three"),
    ("after-escape", "red\x1b[0mdone", "[0mdone"),
    ("long", "x" * 40 + "END", "x" * 13 + "END"),
    ("trailing-newline", "abc\n", "abc"),
]


@pytest.mark.parametrize(("text", "tail"), [t[1:] for t in TAILS], ids=[t[0] for t in TAILS])
def test_visible_tail(text: str, tail: str) -> None:
    assert visible_tail(text) == tail


def test_needs_paste() -> None:
    assert not needs_paste("short; text")
    assert needs_paste("a\nb") and needs_paste("a\tb") and needs_paste("x" * 300)
    assert needs_paste("\x1b")


def test_paste_end_sequence_refused(env: Env) -> None:
    env.spawn_ready("rec", "--agent", "fake")
    proc = env.cli("send", "rec", "-", input="a\x1b[201~\nrm -rf /")
    assert proc.returncode == 1 and "ESC[201~" in proc.stderr
    assert env.records() == []


# (id, command line, stdin, what the one line on stderr says)
REFUSED = [
    ("nul", ["send", "rec", "-"], "before\0after", "NUL"),
    ("over-the-limit", ["send", "rec", "-"], "x" * (MAX_BYTES + 1), "limit"),
    ("broadcast-empty", ["broadcast", ""], None, "empty"),
    ("broadcast-nul", ["broadcast", "-"], "a\0b", "NUL"),
]


@pytest.mark.parametrize(
    ("argv", "stdin", "said"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_undeliverable_text_is_refused_before_queueing(
    env: Env, argv: list[str], stdin: str | None, said: str
) -> None:
    """Text no agent can take whole is refused with one line (exit 1) and
    nothing queued: a NUL used to cut the message silently, an empty
    broadcast queued one failure per agent."""
    env.spawn_ready("rec", "--agent", "fake")
    proc = env.cli(*argv, input=stdin)
    assert proc.returncode == 1 and said in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    with env.fleet() as fleet:
        assert fleet.store.messages() == []
    assert env.records() == []


@pytest.mark.parametrize("draft", ["my draft", ""], ids=["draft", "no-draft"])
def test_failed_delivery_leaves_only_the_draft(env: Env, draft: str) -> None:
    """A message that is never submitted (a submit key the agent ignores) is
    taken out of the composer again, not left for a later Enter, and the
    person's draft put back."""
    config = base_config(env.tmp)
    config["delivery"] = {"verify_timeout": 0.5, "retries": 0}
    config["agents"]["fake"]["submit_key"] = "F12"
    env.write_config(config)
    env.spawn_ready("rec", "--agent", "fake")
    pane = str(env.json("status", "rec")["pane_id"])
    composer = f"> {draft}".rstrip()
    if draft:
        env.fleet().tmux.send_literal(pane, draft)
        retry_until(lambda: env.ok("output", "rec").rstrip().endswith(composer), message="typed")
    proc = env.cli("send", "rec", "the message")
    assert proc.returncode == 1 and "never submitted" in proc.stderr
    retry_until(
        lambda: env.ok("output", "rec").rstrip().split("\n")[-1] == composer,
        message="only the draft left",
    )
    assert env.records() == []


def test_shell_command_still_running_counts_as_submitted(env: Env) -> None:
    """A shell's command line is the cursor's row: the command just run stays
    on the row above while it runs, and is not input still to submit."""
    env.spawn_ready("s")
    sent = env.json("send", "s", "sleep 600")
    assert sent["status"] == "delivered"
    assert env.json("status", "s")["state"] == "busy"
