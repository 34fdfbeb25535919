"""The dashboard's picture of the fleet: rows read from the store, drawn as a
rich renderable, and the keys that steer it. Domain code: no terminal, no
printing (``tmuxorch.surfaces.cli.dashboard`` runs the live view).

Everything here is a store read: the monitor keeps states, costs, locks and
queues current, so the dashboard never looks at a pane.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text

from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import ENDED
from tmuxorch.store.interface import Store
from tmuxorch.surfaces.statusline import COUNTED

STATE_STYLE = {
    "idle": "green",
    "busy": "yellow",
    "waiting": "bold magenta",
    "error": "bold red",
    "starting": "cyan",
    "exited": "dim",
    "stopped": "dim",
}
# Row order: agents that need an answer first, then failures, the working
# fleet, and ended agents last; fleet (creation) order within each group.
_RANK = {"waiting": 0, "error": 1, "exited": 3, "stopped": 3}
KEY_HELP = "↑↓/jk select · a attach · y approve · n deny · i interrupt · q quit"
# Lines around the table: title, table header, "more" line, the selected
# agent's detail (up to 3 lines), keys, message.
_CHROME = 8

# Input bytes -> key names. Arrows come as CSI (ESC [) or, in the terminal's
# application cursor mode, SS3 (ESC O).
_SEQUENCES = {
    b"\x1b[A": "up",
    b"\x1bOA": "up",
    b"\x1b[B": "down",
    b"\x1bOB": "down",
    b"\x1b[H": "home",
    b"\x1bOH": "home",
    b"\x1b[1~": "home",
    b"\x1b[F": "end",
    b"\x1bOF": "end",
    b"\x1b[4~": "end",
    b"\x1b[5~": "pageup",
    b"\x1b[6~": "pagedown",
}
_LETTERS = {
    "k": "up",
    "j": "down",
    "g": "home",
    "G": "end",
    "a": "attach",
    "y": "approve",
    "n": "deny",
    "i": "interrupt",
    "q": "quit",
    "\x03": "quit",  # Ctrl-C, should the terminal pass it through
    "\x04": "quit",
}


@dataclass(frozen=True)
class Row:
    """One agent as the dashboard shows it."""

    name: str
    profile: str
    state: str
    detail: str
    since: float
    task: str
    cost_usd: float
    locks: tuple[str, ...]
    queued: int


# An agent's Claude Code teammates: (name, state, since) each.
Teammates = Callable[[Agent], Sequence[tuple[str, str, float | None]]]


def read_rows(store: Store, teammates: Teammates | None = None) -> list[Row]:
    """The fleet from the store (three queries), in display order; with
    ``teammates``, each lead's teammates right under it (``LEAD/NAME``)."""
    held = store.locks_by_agent()
    queued = store.queued_counts()
    agents = store.list_agents()
    rows = [
        Row(
            name=a.name,
            profile=a.profile,
            state=a.state,
            detail=a.detail,
            since=a.since,
            task=a.task or "",
            cost_usd=a.cost_usd,
            locks=tuple(held.get(a.name, ())),
            queued=queued.get(a.name, 0),
        )
        for a in agents
    ]
    if teammates is None:
        return ordered(rows)
    by_name = {a.name: a for a in agents}
    shown: list[Row] = []
    for row in ordered(rows):
        shown.append(row)
        shown += [
            Row(f"{row.name}/{name}", "teammate", state, "", since or row.since, "", 0.0, (), 0)
            for name, state, since in teammates(by_name[row.name])
        ]
    return shown


def ordered(rows: Sequence[Row]) -> list[Row]:
    """Waiting agents first (longest waiting at the top), then errors, the
    rest, and ended agents last; otherwise the order given (fleet order)."""
    return sorted(
        rows,
        key=lambda r: (_RANK.get(r.state, 2), r.since if r.state == "waiting" else 0.0),
    )


def age(seconds: float) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``: the time-in-state column."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def move(rows: Sequence[Row], selected: str | None, key: str, page: int = 10) -> str | None:
    """The selection after a movement key; it follows a name, not a position,
    so rows re-sorting under it never change what ``y`` answers."""
    if not rows:
        return None
    names = [r.name for r in rows]
    if selected not in names:
        return names[0]
    index = names.index(selected)
    steps = {"up": -1, "down": 1, "pageup": -page, "pagedown": page}
    if key == "home":
        index = 0
    elif key == "end":
        index = len(names) - 1
    else:
        index = min(max(index + steps.get(key, 0), 0), len(names) - 1)
    return names[index]


def parse_keys(data: bytes) -> list[str]:
    """Key names in a chunk of terminal input; unknown bytes are dropped."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        for sequence, name in _SEQUENCES.items():
            if data.startswith(sequence, i):
                keys.append(name)
                i += len(sequence)
                break
        else:
            if data[i] == 0x1B:  # an escape sequence we do not use: skip it whole
                i += 1
                if i < len(data) and data[i] in b"[O":
                    i += 1
                    while i < len(data) and not 0x40 <= data[i] <= 0x7E:
                        i += 1
                i += 1
                continue
            letter = _LETTERS.get(chr(data[i]))
            if letter:
                keys.append(letter)
            i += 1
    return keys


def _locks_text(paths: tuple[str, ...]) -> str:
    if not paths:
        return ""
    first = os.path.basename(paths[0].rstrip("/")) or paths[0]
    return first + (f" +{len(paths) - 1}" if len(paths) > 1 else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def signature(rows: Sequence[Row], now: float) -> tuple[object, ...]:
    """What a frame would show: equal signatures draw the same picture, so a
    once-a-second tick redraws only when a time-in-state label moved."""
    return tuple((row, age(now - row.since)) for row in rows)


# (title, right-aligned, share of the width left over): DETAIL and TASK take
# what the fixed columns leave, 3:2.
COLUMNS: tuple[tuple[str, bool, int], ...] = (
    ("NAME", False, 0),
    ("STATE", False, 0),
    ("FOR", True, 0),
    ("DETAIL", False, 3),
    ("TASK", False, 2),
    ("COST", True, 0),
    ("LOCKS", False, 0),
    ("QUEUED", True, 0),
)
_GAP = 2
_MAX_FIXED = 24  # a fixed column never takes more (names can be 64 characters)


def _cells(row: Row, now: float) -> list[tuple[str, str]]:
    """(text, style) of each column for one agent."""
    return [
        (row.name, ""),
        (row.state, STATE_STYLE.get(row.state, "")),
        (age(now - row.since), ""),
        (_one_line(row.detail), "magenta" if row.state == "waiting" else ""),
        (_one_line(row.task), ""),
        (f"${row.cost_usd:.2f}" if row.cost_usd else "", ""),
        (_locks_text(row.locks), ""),
        (str(row.queued) if row.queued else "", ""),
    ]


def _widths(lines: list[list[tuple[str, str]]], width: int) -> list[int]:
    """Column widths: fixed columns as wide as their widest cell, the flexible
    ones sharing the rest of ``width``."""
    widths = [
        0 if share else min(_MAX_FIXED, max(cell_len(line[i][0]) for line in lines))
        for i, (_, _, share) in enumerate(COLUMNS)
    ]
    left = max(0, width - sum(widths) - _GAP * (len(COLUMNS) - 1))
    shares = sum(share for _, _, share in COLUMNS)
    for i, (_, _, share) in enumerate(COLUMNS):
        if share:
            widths[i] = left * share // shares
    return widths


def _line(cells: list[tuple[str, str]], widths: list[int]) -> Text:
    line = Text(no_wrap=True, overflow="crop")
    for i, ((text, style), width) in enumerate(zip(cells, widths, strict=True)):
        if i:
            line.append(" " * _GAP)
        cell = Text(text, style=style)
        if COLUMNS[i][1] and cell_len(text) < width:
            cell = Text(" " * (width - cell_len(text))) + cell
        cell.truncate(width, overflow="ellipsis", pad=True)
        line.append_text(cell)
    return line


def render(
    rows: Sequence[Row],
    *,
    now: float,
    width: int = 120,
    selected: str | None = None,
    height: int | None = None,
    message: str = "",
    title: str = "tmuxorch",
    live: bool = True,
) -> RenderableType:
    """The whole dashboard frame for ``rows`` at time ``now``, ``width`` columns wide.

    ``height`` (terminal lines) limits the table to what fits, scrolled so the
    selected row stays visible; ``live`` adds the key help. The table is laid
    out here, one Text per line, rather than by rich's Table: a frame costs a
    tenth of the time, and the live view draws one every second.
    """
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    header = Text(f"{title} · {len(rows)} agent{'s' if len(rows) != 1 else ''}", style="bold")
    for state, _ in COUNTED:
        count = counts.get(state, 0)
        header.append(" · ")
        header.append(f"{count} {state}", STATE_STYLE[state] if count else "")
    total = sum(r.cost_usd for r in rows)
    if total:
        header.append(f" · ${total:.2f}")

    shown = list(rows)
    names = [r.name for r in rows]
    index = names.index(selected) if selected in names else -1
    more = 0
    if height is not None:
        fits = max(1, height - _CHROME)
        if len(shown) > fits:
            start = max(0, index - fits + 1) if index >= fits else 0
            shown = shown[start : start + fits]
            more = len(rows) - len(shown)
    titles = [[(title, "bold") for title, _, _ in COLUMNS]]
    body = [_cells(row, now) for row in shown]
    widths = _widths(titles + body, width)
    parts: list[RenderableType] = [header, _line(titles[0], widths)]
    for row, cells in zip(shown, body, strict=True):
        line = _line(cells, widths)
        if row.name == selected:
            line.stylize("reverse")
        parts.append(line)
    if more:
        parts.append(Text(f"… {more} more (↑↓ to scroll)", style="dim"))
    if not rows:
        parts.append(Text("no agents yet: tmuxorch spawn NAME", style="dim"))
    chosen = rows[index] if index >= 0 else None
    if chosen is not None:
        line = Text(f"{chosen.name}: ", style="bold")
        line.append(chosen.state, STATE_STYLE.get(chosen.state, ""))
        if chosen.detail:
            line.append(f" — {_one_line(chosen.detail)}")
        if chosen.locks:
            line.append(f" · locks: {', '.join(chosen.locks)}")
        if chosen.state in ENDED:
            line.append(" (ended)", style="dim")
        parts.append(line)
    if live:
        parts.append(Text(KEY_HELP, style="dim"))
    if message:
        parts.append(Text(message, style="bold"))
    return Group(*parts)
