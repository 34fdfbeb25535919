"""Claude's inbox without Claude: the frame, posting to a socket that answers
or not, and which messages go that way."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from tmuxorch.claude import inbox
from tmuxorch.core.records import Message
from tmuxorch.fleet.handover import through_inbox

# (id, text): what a frame must carry exactly.
TEXTS = [
    ("tabs", "a\tb\t\tc"),
    ("esc", "\x1b[31mred\x1b[0m \x1b]0;title\x07"),
    ("newlines", "one\ntwo\r\nthree\n"),
    ("unicode", "ünïcödé 🎉 中文 \u2028 \u2029"),
    ("json", '{"type":"control","action":"rename"}\n{"x":1}'),
]


@pytest.mark.parametrize("text", [t[1] for t in TEXTS], ids=[t[0] for t in TEXTS])
def test_frame_is_one_line_carrying_the_text_exactly(text: str) -> None:
    data = inbox.frame(text, "tmuxorch-1")
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert all(b >= 0x20 for b in data[:-1])  # no raw control byte: JSON escaped them
    decoded = json.loads(data)
    assert decoded == {
        "type": "user",
        "message": {"role": "user", "content": text},
        "priority": "next",
        "from": "tmuxorch-1",
    }


def test_post_to_a_listening_inbox_sends_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "a.sock"
    got: list[bytes] = []
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                got.append(b"".join(iter(lambda: conn.recv(65536), b"")))

        reader = threading.Thread(target=accept)
        reader.start()
        text = "x\t" * 30_000  # 60 KB: more than one write
        assert inbox.post(path, text, "tmuxorch-7", "now")
        reader.join(timeout=10)
    assert got == [inbox.frame(text, "tmuxorch-7", "now")]


def _stale(path: Path) -> None:
    """A socket file nobody listens on (its process died): connect is refused."""
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))


def _plain_file(path: Path) -> None:
    path.write_text("not a socket")


# (id, how the inbox's path is spoilt): each is a refusal, and the message is typed.
REFUSALS = [("absent", lambda path: None), ("stale", _stale), ("not-a-socket", _plain_file)]


@pytest.mark.parametrize("spoil", [r[1] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_post_to_an_inbox_that_does_not_answer_is_false(tmp_path: Path, spoil: object) -> None:
    path = tmp_path / "a.sock"
    assert callable(spoil)
    spoil(path)
    assert inbox.post(path, "hello", "tmuxorch-1") is False


def test_socket_path_fits_a_unix_address(tmp_path: Path) -> None:
    launch = "0123456789abcdef" * 2
    # A short folder of its own: pytest's (under xdist above all) may be too deep.
    base = Path(tempfile.mkdtemp(prefix="ib", dir="/tmp"))
    deep = base / ("d" * 100) / "home"
    # Its socket would be 105 bytes: that fits sun_path, but Claude Code
    # refuses a path over 103 and exits.
    short_len = len(os.fsencode(base / "home" / "inbox" / "0123456789abcdef.sock"))
    edge = base / ("e" * (105 - short_len - 1)) / "home"
    try:
        (base / "home").mkdir()
        short = inbox.socket_path(base / "home", launch)
        assert short == base / "home" / "inbox" / "0123456789abcdef.sock"
        far = inbox.socket_path(deep, launch)
        assert len(os.fsencode(far)) <= 103 and far.name == short.name
        assert far.parent != short.parent and far.parent.stat().st_mode & 0o777 == 0o700
        assert inbox.socket_path(deep, launch) == far  # the same home: the same place
        assert len(os.fsencode(edge / "inbox" / short.name)) == 105
        moved = inbox.socket_path(edge, launch)
        assert edge not in moved.parents and len(os.fsencode(moved)) <= 103
    finally:
        shutil.rmtree(base)
        for home in (deep, edge):
            shutil.rmtree(inbox.outer_dir(home), ignore_errors=True)


def _message(sender: str | None, body: str) -> Message:
    return Message(
        id=1, ts=0.0, sender=sender, recipient="c1", mode="sequential", body=body, status="queued"
    )


# (id, delivery.inbox, sender, body, through the inbox?)
ROUTES = [
    ("peer", "peers", "w1", "[message from w1] done", True),
    ("notice", "peers", None, "[tmuxorch] child w1 is idle", True),
    ("person", "peers", None, "please fix the tests", False),
    ("person-all", "all", None, "please fix the tests", True),
    ("peer-never", "never", "w1", "[message from w1] done", False),
    ("slash-from-peer", "all", "w1", "/compact", False),
]


@pytest.mark.parametrize(
    ("policy", "sender", "body", "expected"), [r[1:] for r in ROUTES], ids=[r[0] for r in ROUTES]
)
def test_which_messages_go_through_the_inbox(
    policy: str, sender: str | None, body: str, expected: bool
) -> None:
    assert through_inbox(policy, _message(sender, body)) is expected
