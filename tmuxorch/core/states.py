"""Which word on an agent's state stands: the one rule every state writer goes through.

Writers are Claude's hooks, its notices (Notification hooks: the idle one
it repeats a minute after any turn, failed or not, and the ones that say a
person must answer), the screen and the fleet itself
(spawn, delivery, kill, stop, a process that ended, a window gone). Hooks say
what happened; the screen fills in what they do not (``monitor.decide``); the
notice is the weakest word of all. ``since`` is when the current state began:
a writer that repeats the state (or only changes its detail) does not move it.

:func:`transition` decides, the store persists its :class:`Decision` in the
same transaction that read the agent's row. Pure: no I/O, no clock.
"""

from __future__ import annotations

from tmuxorch.core.frozen import field, frozen
from tmuxorch.core.vocab import ENDED, STATES, WRITERS

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.core.vocab import EndedBy, EventKind, State, Until, Writer

HOOK: Writer = "hook"
NOTICE: Writer = "notice"
SCREEN: Writer = "screen"
FLEET: Writer = "fleet"

_LIVE = frozenset(STATES) - frozenset(ENDED)

# (writer, current state) -> the states that writer may not move it to.
REFUSED: dict[tuple[Writer, State], frozenset[State]] = {
    # "Claude is waiting for your input" after a failed turn: the failure stands.
    (NOTICE, "error"): frozenset({"idle"}),
    # Nor does it close a question still open on screen.
    (NOTICE, "waiting"): frozenset({"idle"}),
    # An ended agent lives again only when the fleet starts it: a late hook,
    # screen read or delivery does not revive it.
    **{(writer, ended): _LIVE for writer in (HOOK, NOTICE, SCREEN) for ended in ENDED},
    **{(FLEET, ended): _LIVE - {"starting"} for ended in ENDED},
}

# What each ``wait --until`` accepts; "done" is any state in which the agent
# stopped working: finished, needs an answer, failed or ended.
UNTIL: dict[Until, frozenset[State]] = {
    "idle": frozenset({"idle"}),
    "waiting": frozenset({"waiting"}),
    "exited": frozenset(ENDED),
    "done": frozenset({"idle", "waiting", "error", *ENDED}),
}

# The events of a start: the agent begins afresh.
LAUNCHES: tuple[EventKind, ...] = ("spawned", "resumed", "forked")


@frozen
class Row:
    """What the rule reads of the agent's row."""

    state: State
    detail: str = ""
    ended_by: EndedBy | None = None
    exit_status: int | None = None


@frozen
class Decision:
    """What a word does: ``fields`` to write on the agent's row (state and
    detail among them when they change); ``since`` moves when a new state
    begins; ``turn``: a turn starts, count it. ``record``: write an event of
    kind ``event`` whose state is ``state`` (None: the word did not stand)."""

    event: EventKind
    state: State | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    since: bool = False
    turn: bool = False
    record: bool = False

    @property
    def changed(self) -> bool:
        """Did the agent's state or detail change?"""
        return "state" in self.fields


def moves(writer: Writer, current: State, proposed: State) -> bool:
    """Does ``writer`` saying ``proposed`` move an agent that is ``current``?"""
    if writer not in WRITERS:
        raise ValueError(f"unknown state writer {writer!r}")
    return proposed != current and proposed not in REFUSED.get((writer, current), frozenset())


def transition(
    writer: Writer,
    row: Row,
    proposed: State | None,
    detail: str = "",
    event: EventKind = "state",
) -> Decision:
    """``writer`` says the agent of ``row`` is ``proposed`` (with ``detail``;
    None: the event says nothing of the state) in an event of kind ``event``.

    A hook's event is always recorded; any other only when it changes
    something. A start (``LAUNCHES``, the fleet's alone) begins afresh:
    starting, no detail (``detail``, the profile, goes to its event), and
    nothing left of how the last process ended.
    """
    if writer not in WRITERS:
        raise ValueError(f"unknown state writer {writer!r}")
    if event in LAUNCHES:
        if writer != FLEET:
            raise ValueError(f"only the fleet starts an agent, not the {writer}")
        fresh = {"state": "starting", "detail": "", "ended_by": None, "exit_status": None}
        return Decision(event, "starting", fresh, since=True, record=True)
    if proposed == "exited" and row.ended_by == "stop":
        # The process ended because `stop` asked it to, whoever saw it end.
        proposed = "stopped"
        event = "stopped" if event == "exited" else event
    turn = event == "hook:UserPromptSubmit"
    hook = event.startswith("hook:")
    if proposed is None:
        return Decision(event, None, turn=turn, record=hook)
    if moves(writer, row.state, proposed):
        changes = {"state": proposed, "detail": detail}
        return Decision(event, proposed, changes, since=True, turn=turn, record=True)
    if proposed == row.state:
        # A notice repeats the state in general words ("Claude Code needs your
        # input"): the detail a stronger writer gave (the question) stands.
        renamed = detail != row.detail and writer != NOTICE
        changes = {"state": proposed, "detail": detail} if renamed else {}
        return Decision(event, proposed, changes, turn=turn, record=hook or bool(changes))
    return Decision(event, None, turn=turn, record=hook)  # refused: the current word stands


def lost(row: Row, detail: str = "window gone") -> Decision:
    """The agent's window vanished unseen (with the tmux server, say): it is
    exited and ``lost``, so that ``up`` brings it back. Not when tmuxorch
    ended it (``ended_by`` is set before anything is killed) or it had ended,
    unless only its SessionEnd said so (no exit status: its pane was never
    seen dead): Claude ends its session as its tmux server goes. ``detail``
    says why: its window, or its whole host."""
    ended_unseen = row.state == "exited" and row.exit_status is None
    if row.ended_by is not None or (row.state in ENDED and not ended_unseen):
        return Decision("exited")
    changes = {"state": "exited", "detail": detail, "ended_by": "lost"}
    return Decision("exited", "exited", changes, since=True, record=True)
