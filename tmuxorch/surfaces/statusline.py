"""The fleet in one short segment for tmux's ``status-right``.

tmux runs the command again at every ``status-interval`` while a client is
attached, so this reads one query from the store and nothing else: no tmux
call, no config file, no click (``tmuxorch.entry`` dispatches here first):
a fleet on PostgreSQL is found through ``TMUXORCH_STORE``, which its agents'
panes have.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tmuxorch.core import storeurl
from tmuxorch.store.opening import open_store

# The states the segment counts, and the tmux style of a non-zero count.
COUNTED: tuple[tuple[str, str], ...] = (
    ("busy", "fg=yellow"),
    ("waiting", "fg=magenta,bold"),
    ("error", "fg=red,bold"),
)


def segment(counts: Mapping[str, int], *, styles: bool = True) -> str:
    """``2 busy · 1 waiting · 0 error``; non-zero counts coloured with tmux's ``#[...]``."""
    parts = []
    for state, style in COUNTED:
        count = counts.get(state, 0)
        text = f"{count} {state}"
        parts.append(f"#[{style}]{text}#[default]" if styles and count else text)
    return " · ".join(parts)


def read_counts(home: Path) -> dict[str, int]:
    """Agents per state; no fleet yet means no agents (and creates nothing)."""
    if not storeurl.state_present(str(home)):
        return {}
    with open_store(home, create=False) as store:
        return store.state_counts()
