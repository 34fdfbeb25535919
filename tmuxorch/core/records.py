"""Plain records shared by the store and the domain modules."""

from __future__ import annotations

import time

from tmuxorch.core.frozen import field, frozen

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.core.vocab import EndedBy, EventKind, Mode, NoticeKind, State, Until


def now() -> float:
    return time.time()


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC, the form every JSON time takes."""
    if ts is None:
        return None
    from datetime import datetime, timezone  # here: the hooks import records, never call this

    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


@frozen
class Agent:
    name: str
    profile: str
    state: State
    cwd: str
    created: float
    since: float
    detail: str = ""
    parent: str | None = None
    pane_id: str | None = None
    window_id: str | None = None
    pid: int | None = None
    session_id: str | None = None
    transcript_path: str | None = None
    exit_status: int | None = None
    # Why the process ended when tmuxorch ended it, or "lost" (its window vanished).
    ended_by: EndedBy | None = None
    task: str | None = None
    turns: int = 0
    tokens_input: int = 0
    tokens_output: int = 0
    tokens_cache_read: int = 0
    tokens_cache_creation: int = 0
    cost_usd: float = 0.0
    # How it was started (argv, env, model, ...), to restart it the same way.
    spec: dict[str, Any] = field(default_factory=dict)
    # The host whose daemon and tmux server run it ("": a row from before
    # hosts, the local host's until a daemon adopts it).
    host: str = ""


@frozen
class Host:
    """A host of the fleet, as its daemon's heartbeats left it; ``state`` is
    ``lost`` once another host's daemon found it silent for ``host.lost_after``."""

    name: str
    last_seen: float
    started: float
    version: str = ""
    pid: int | None = None
    state: str = "up"


@frozen
class Event:
    id: int
    ts: float
    agent: str | None
    event: EventKind
    state: State | None
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@frozen
class Message:
    id: int
    ts: float
    sender: str | None
    recipient: str
    mode: Mode
    body: str
    status: str
    delivered_at: float | None = None
    error: str | None = None
    claimed_at: float | None = None
    claimed_by: int | None = None
    claimed_start: int | None = None
    # How far the delivery got: None (claimed), typing, typed, submitting;
    # posting (through the agent's inbox).
    stage: str | None = None
    # Text someone had in the input line, taken out to deliver this message.
    draft: str | None = None


@frozen
class Watch:
    """A ``wait --notify``: message ``watcher`` when ``targets`` reach ``until``."""

    id: int
    watcher: str
    targets: list[str]
    until: Until
    any_of: bool
    created: float
    deadline: float | None


@frozen
class Lock:
    """A held file lock. ``agent`` is set when the holder is a fleet agent;
    ``pid``/``pid_start`` identify the process whose death frees the lock."""

    path: str
    holder: str
    since: float
    expires: float
    reason: str = ""
    agent: str | None = None
    pid: int | None = None
    pid_start: int | None = None


@frozen
class Waiter:
    """A process waiting for a lock; ``wake`` names its FIFO in the home."""

    id: int
    path: str
    holder: str
    pid: int
    since: float
    wake: str


@frozen
class Turn:
    """One turn of a Claude conversation, read from its transcript: a prompt and
    the reply up to the next prompt. ``duration`` is Claude's own measure when
    it wrote one; ``response`` the reply's last text (``response_key`` the
    message it came from); ``answered``: the last response ended the turn
    (``end_turn``), its answer is written (the Stop hook may not have run yet)."""

    agent: str
    seq: int
    prompt: str
    started: float | None = None
    ended: float | None = None
    duration: float | None = None
    session_id: str | None = None
    response: str = ""
    response_key: str = ""
    tools: list[str] = field(default_factory=list)
    answered: bool = False


@frozen
class MessageUsage:
    """Tokens of one API response (``key``: message id + request id), counted
    in turn ``turn`` of its agent."""

    agent: str
    key: str
    turn: int
    model: str
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0


@frozen
class Notice:
    """What a person is told of one event (tmuxorch.fleet.notices builds it):
    ``event_id`` is the event's, or the newest one's of a merged notice."""

    agent: str
    kind: NoticeKind
    title: str
    body: str
    event_id: int


@frozen
class Outgoing:
    """A notice in the outbox, for one target (``target``: a digest of its
    URL, never the URL, which may hold a secret) until it is sent."""

    id: int
    notice: Notice
    target: str
    created: float
    attempts: int = 0
    next_try: float = 0.0
    error: str | None = None


@frozen
class Request:
    """What one host asks of another's daemon: an operation (``op``) on an
    agent of ``host``, claimed by exactly one daemon there, then ``done`` with
    its ``result`` or ``failed`` with one ``error`` line."""

    id: int
    ts: float
    host: str
    agent: str
    op: str
    args: dict[str, Any]
    status: str  # queued, working, done, failed
    claimed_at: float | None = None
    claimed_by: int | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None
