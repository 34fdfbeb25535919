"""Which word on an agent's state stands: the one rule every state writer goes through.

Writers are Claude's hooks, its idle notice (the Notification it repeats a
minute after any turn, failed or not), the screen and the fleet itself
(spawn, delivery, kill, stop, a process that ended). Hooks say what happened;
the screen fills in what they do not (``monitor.decide``); the notice is the
weakest word of all. ``since`` is when the current state began: a writer
that repeats the state (or only changes its detail) does not move it.
"""

from __future__ import annotations

from tmuxorch.core.records import ENDED, STATES

HOOK = "hook"
NOTICE = "notice"
SCREEN = "screen"
FLEET = "fleet"
WRITERS = (HOOK, NOTICE, SCREEN, FLEET)

_LIVE = frozenset(STATES) - frozenset(ENDED)

# (writer, current state) -> the states that writer may not move it to.
REFUSED: dict[tuple[str, str], frozenset[str]] = {
    # "Claude is waiting for your input" after a failed turn: the failure stands.
    (NOTICE, "error"): frozenset({"idle"}),
    # Nor does it close a question still open on screen.
    (NOTICE, "waiting"): frozenset({"idle"}),
    # An ended agent lives again only when the fleet starts it: a late hook or
    # screen read does not revive it.
    **{(writer, ended): _LIVE for writer in (HOOK, NOTICE, SCREEN) for ended in ENDED},
}


def moves(writer: str, current: str, proposed: str) -> bool:
    """Does ``writer`` saying ``proposed`` move an agent that is ``current``?"""
    if writer not in WRITERS:
        raise ValueError(f"unknown state writer {writer!r}")
    return proposed != current and proposed not in REFUSED.get((writer, current), frozenset())
