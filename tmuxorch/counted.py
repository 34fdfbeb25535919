"""Knowing a turn's cost is final: its end record has been read from the transcript.

Claude Code buffers transcript writes, so its Stop hook can run before the
turn's last records reach the file; a cost read at the Stop hook can miss the
turn's last responses (or all of them). The monitor reads again in the
background (:class:`tmuxorch.cost.Refresher`); a caller that returns a
result (delegate, batch) reads until the turn is counted, first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tmuxorch.cost import REREAD_DELAYS, Pricing, refresh_agent

if TYPE_CHECKING:
    from tmuxorch.store import Store


def turn_counted(store: Store, name: str, ts: float) -> bool:
    """Has the turn that ended at ``ts`` (its Stop hook's time) been read to its
    end record (Claude's ``turn_duration``)?"""
    last = store.last_turn(name)
    return last is not None and last.duration is not None and (last.ended or 0.0) >= ts


def settle(store: Store, name: str, table: Pricing, after: int) -> None:
    """Read the agent's transcript until the last turn that ended (Stop hook)
    after event id ``after`` is counted, re-reading at :data:`REREAD_DELAYS`;
    one read when no such turn ended (an agent without hooks, an interrupt)."""
    stops = store.events(agent=name, after=after, kind="hook:Stop", limit=1)
    start = time.monotonic()
    for delay in REREAD_DELAYS if stops else (0.0,):
        time.sleep(max(0.0, start + delay - time.monotonic()))
        refresh_agent(store, name, table)
        if stops and turn_counted(store, name, stops[0].ts):
            return
