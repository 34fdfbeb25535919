"""Claude Code's own inbox: the messaging socket each session listens on.

Claude Code (2.1.3xx) takes newline-delimited JSON on a Unix socket; a
``user`` frame makes the session take the text as a prompt (its
UserPromptSubmit hook carries it), without touching its composer, tabs and
control bytes included. tmuxorch starts each Claude agent with a socket path
of its own (``--messaging-socket-path``) and posts one frame per message:
connect, write, close. No answer comes back on the connection: the hook says
the message was taken.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from pathlib import Path
from typing import Literal

from tmuxorch.core import private

logger = logging.getLogger(__name__)

# A frame's priority: ``next`` waits for the turn to end, ``now`` interrupts it.
Priority = Literal["now", "next"]
FLAG = "--messaging-socket-path"
# Claude holds a peer's message for a person's approval when the session
# bypasses permissions and the sender attests no mode of its own: a manager
# started with bypassPermissions would never be woken. The socket is reached
# only by its user (0700 directory), who can type into the pane anyway.
SETTINGS = {"crossSessionInbound": "accept"}
# sockaddr_un's sun_path holds 108 bytes, the final NUL included, but Claude
# Code 2.1.329 refuses a --messaging-socket-path over 103 ("too long for a
# Unix socket (106 bytes, max 103)") and exits at start.
_PATH_MAX = 103
# Seconds to connect and write: a session that does not take a frame by then
# is not listening, and the message is typed instead.
_TIMEOUT = 5.0


def socket_path(home: Path, launch: str) -> Path:
    """Where the agent started as ``launch`` listens: in the fleet's private
    home when the path fits a Unix socket address, else in a private
    directory under /tmp named after the home."""
    name = f"{launch[:16]}.sock"  # hex: also the form Claude's peers accept as a reply address
    inside = home / "inbox"
    if len(os.fsencode(inside / name)) <= _PATH_MAX:
        private.private_dir(inside)
        return inside / name
    short = outer_dir(home)
    private.private_dir(short.parent)
    private.private_dir(short)
    return short / name


def outer_dir(home: Path) -> Path:
    """The directory under /tmp of a home whose own path is too long."""
    return (
        Path("/tmp")
        / f"tmuxorch-{os.getuid()}"
        / hashlib.sha256(os.fsencode(home)).hexdigest()[:16]
    )


def frame(text: str, sender: str, priority: Priority = "next") -> bytes:
    """One user frame: a single line of JSON (every control character of
    ``text`` escaped), ending with a newline.

    ``sender`` names the frame's sender (its ``from``): Claude drops a
    sender's message identical to its previous one within 30 s, and allows
    each sender 30 messages and then one per 2 s. A repeated notice ("child
    w1 is idle. Last response: Done.") is a new message, and tmuxorch's
    queue already sends each once and one at a time: each message is a
    sender of its own."""
    message = {"type": "user", "message": {"role": "user", "content": text}}
    return (json.dumps({**message, "priority": priority, "from": sender}) + "\n").encode()


def post(path: Path, text: str, sender: str, priority: Priority = "next") -> bool:
    """Send ``text`` to the session listening at ``path``. False when nobody
    takes it there (no socket, refused, timed out): the caller types it
    instead. A frame cut short is never taken (Claude acts on whole lines
    only), so typing after a False never delivers the message twice."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_TIMEOUT)
            conn.connect(os.fsencode(path))
            conn.sendall(frame(text, sender, priority))
    except OSError as exc:
        logger.info("inbox %s does not answer (%s): typing instead", path, exc)
        return False
    return True
