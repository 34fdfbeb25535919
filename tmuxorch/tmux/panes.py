"""A pane as tmuxorch sees it, and arguments made safe for tmux.

Formats and commands are never built from user strings: a name, a path or a
message reaches tmux through ``arg`` (its command parser) and ``literal``
(its format expansion) only.
"""

from __future__ import annotations

import shlex

from tmuxorch.core.frozen import frozen

# What tmuxorch reads of a pane, in this order: the format of ``-F`` and the
# attributes of a libtmux Pane alike.
PANE_FIELDS = (
    "pane_id",
    "window_id",
    "window_name",
    "pane_pid",
    "pane_dead",
    "pane_dead_status",
    "pane_dead_signal",
    "pane_in_mode",
    "cursor_x",
    "cursor_y",
    "pane_height",
    "pane_width",
)
PANE_FORMAT = "\t".join(f"#{{{name}}}" for name in PANE_FIELDS)


@frozen
class Pane:
    pane_id: str
    window_id: str
    window_name: str
    pid: int | None
    dead: bool
    dead_status: int | None
    in_mode: bool
    cursor_x: int
    cursor_y: int
    height: int
    width: int


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def parse_pane(line: str) -> Pane:
    """A pane from its ``PANE_FORMAT`` line."""
    f = line.split("\t")
    signal = _int(f[6])
    return Pane(
        pane_id=f[0],
        window_id=f[1],
        window_name=f[2],
        pid=_int(f[3]),
        dead=f[4] == "1",
        # A process killed by a signal reports it as a shell would: 128 + N.
        dead_status=_int(f[5]) if signal is None else 128 + signal,
        in_mode=f[7] == "1",
        cursor_x=_int(f[8]) or 0,
        cursor_y=_int(f[9]) or 0,
        height=_int(f[10]) or 0,
        width=_int(f[11]) or 0,
    )


def arg(text: str) -> str:
    """Protect one argument from tmux's command parser.

    tmux treats an argument ending in ``;`` as a command separator (and turns
    a final ``\\;`` into ``;``), so a trailing ``;`` is written as ``\\;``:
    the text then arrives unchanged, even when it ends in a backslash.
    """
    return text[:-1] + "\\;" if text.endswith(";") else text


def literal(text: str) -> str:
    """``text`` for an argument tmux expands as a format (``new-window -c``
    and ``-n``, ``new-session -s``): ``#`` doubled arrives as written, so a
    path like ``d#(cmd)`` runs nothing and ``build#Debug`` stays itself."""
    return text.replace("#", "##")


def program(argv: list[str]) -> list[str]:
    # tmux runs a lone argument through ``sh -c``: quote it so a program path
    # with spaces or ``$(...)`` is a path, not shell code.
    return [f"exec {shlex.quote(argv[0])}"] if len(argv) == 1 else argv
