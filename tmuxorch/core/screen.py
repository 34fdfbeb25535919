"""Reading an agent's state off its screen with the profile's pattern tables."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tmuxorch.core.profiles import Profile
from tmuxorch.core.vocab import State


@dataclass(frozen=True)
class Reading:
    """What the screen says: a state (or None when it says nothing) and its detail."""

    state: State | None
    detail: str = ""


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.MULTILINE) for p in patterns)


def _first(patterns: list[str], text: str) -> re.Match[str] | None:
    for pattern in _compiled(tuple(patterns)):
        match = pattern.search(text)
        if match:
            return match
    return None


def classify(profile: Profile, screen: str, *, typing: bool = False) -> Reading:
    """Waiting beats busy beats error beats idle: a prompt on screen needs an
    answer whatever else shows, and a spinner means work even if an old error
    banner is still visible.

    ``typing``: the cursor sits after text on its row, where typed input
    goes. Then a screen that says nothing is read again without the text in
    the input area: a prompt with a draft on it (half-typed, or left by a
    deliverer that died before Enter) is a prompt, not work.
    """
    text = "\n".join(line.rstrip() for line in screen.rstrip().split("\n"))
    reading = _read(profile, text)
    if reading.state is None and typing and profile.input_pattern:
        matches = list(re.finditer(profile.input_pattern, text, re.MULTILINE))
        # On the last row, where the cursor is (the screen ends with it).
        if matches and matches[-1].group(1).strip() and "\n" not in text[matches[-1].start() :]:
            draft = matches[-1]
            bare = text[: draft.start(1)] + text[draft.end(1) :]
            if _read(profile, bare).state == "idle":
                return Reading("idle")
    return reading


def _read(profile: Profile, text: str) -> Reading:
    readings: tuple[tuple[State, list[str]], ...] = (
        ("waiting", profile.waiting),
        ("busy", profile.busy),
        ("error", profile.error),
        ("idle", profile.ready),
    )
    for state, patterns in readings:
        match = _first(patterns, text)
        if match:
            # A pattern's first group, when it has one, is the detail to show.
            detail = (match.group(1) or "") if match.re.groups else ""
            return Reading(state, " ".join(detail.split()))
    return Reading(None)


# The selection cursor of menus (Claude's dialogs).
_CURSOR = "❯"


def menu_moves(screen: str, option: str) -> list[str]:
    """Up/Down presses that take the cursor of the menu on screen onto its
    first line matching ``option``; none when no such menu shows."""
    lines = [line.strip() for line in screen.rstrip().split("\n")]
    marked = [i for i, line in enumerate(lines) if line.startswith(_CURSOR)]
    if not marked:
        return []
    cursor = top = bottom = marked[-1]
    # The menu is the block of non-blank lines around the cursor.
    while top > 0 and lines[top - 1]:
        top -= 1
    while bottom + 1 < len(lines) and lines[bottom + 1]:
        bottom += 1
    pattern = re.compile(option)
    for row in range(top, bottom + 1):
        if pattern.search(lines[row].removeprefix(_CURSOR).strip()):
            return ["Up" if row < cursor else "Down"] * abs(row - cursor)
    return []
