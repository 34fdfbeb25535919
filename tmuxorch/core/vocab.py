"""tmuxorch's words, each defined once: an agent's states, message modes,
``wait --until`` targets, event kinds, state writers, and why tmuxorch ended
an agent.

``typing.Literal`` types, not Enums: the values go to JSON and SQL as plain
strings, and Claude's hook path imports this module, where neither ``typing``
nor ``enum`` may load. So at run time ``Literal[...]`` below is just its tuple
of values (type checkers see typing's own), and ``get_args`` gives the runtime
tuple either way: each word is spelled once, and mypy checks every writer's.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, get_args
else:

    class _Literal:
        def __getitem__(self, values):
            values = values if isinstance(values, tuple) else (values,)
            # Literal[A, B] of two Literals is their values, as typing's.
            return tuple(
                v for value in values for v in (value if isinstance(value, tuple) else (value,))
            )

    Literal = _Literal()

    def get_args(values):
        return values


State = Literal["starting", "idle", "busy", "waiting", "error", "exited", "stopped"]
STATES: tuple[State, ...] = get_args(State)
# States in which the agent's process is gone.
ENDED: tuple[State, ...] = ("exited", "stopped")

# Who says what an agent's state is (tmuxorch.core.states ranks them).
Writer = Literal["hook", "notice", "screen", "fleet"]
WRITERS: tuple[Writer, ...] = get_args(Writer)

# Why the process ended when tmuxorch ended it (``lost``: its window vanished
# unseen, and ``up`` brings it back).
EndedBy = Literal["stop", "kill", "lost"]

# How a message is delivered: urgent interrupts, important goes ahead of sequential.
Mode = Literal["sequential", "important", "urgent"]
MODES: tuple[Mode, ...] = get_args(Mode)
# The order in which an agent's queue is delivered (oldest first within a mode).
DELIVERY_ORDER: tuple[Mode, ...] = ("urgent", "important", "sequential")

# What ``wait --until`` accepts.
Until = Literal["idle", "waiting", "exited", "done"]
UNTILS: tuple[Until, ...] = get_args(Until)

# An event of a Claude hook: ``hook:`` and the hook's name.
HookKind = Literal[
    "hook:SessionStart",
    "hook:UserPromptSubmit",
    "hook:PreToolUse",
    "hook:PostToolUse",
    "hook:PostToolUseFailure",
    "hook:PermissionRequest",
    "hook:PermissionDenied",  # auto mode's classifier refused a tool call
    "hook:Notification",
    "hook:SubagentStart",
    "hook:SubagentStop",
    "hook:PreCompact",
    "hook:PostCompact",
    "hook:Elicitation",  # an MCP server asks the person a question
    "hook:ElicitationResult",
    "hook:Stop",
    "hook:StopFailure",
    "hook:SessionEnd",
]
HOOK_KINDS: tuple[HookKind, ...] = get_args(HookKind)

# The event log's kinds besides the hooks'.
FleetKind = Literal[
    "state",  # a state the screen or a delivery set
    "spawned",
    "resumed",
    "forked",
    "renamed",  # data: {"from": the old name}
    "exited",
    "stopped",
    "killed",
    "removed",
    "dialog",  # a first-run dialog answered
    "approved",
    "denied",
    "interrupted",
    "cleared",
    "message",
    "message-failed",
    "awaited",  # a fired `wait --notify` covered this agent's state
    "protected",  # a write to a protected path denied
    "cost",
    "violation",  # a limit (max_cost, ...) reached
    "host-lost",  # no agent; data: {"host": its name}; its agents' own events say "exited"
]
EventKind = Literal[HookKind, FleetKind]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)


def hook_kind(hook: str) -> HookKind | None:
    """``hook:Stop`` for ``Stop``; None for a hook tmuxorch does not take."""
    for kind in HOOK_KINDS:
        if kind[5:] == hook:
            return kind
    return None
