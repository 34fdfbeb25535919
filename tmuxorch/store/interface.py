"""What the layers above need from a store: the contract every backend meets.

Callers (fleet, daemon, surfaces, claude, locks) hold a :class:`Store`; which
backend it is (``tmuxorch.store.sqlite``, ``tmuxorch.store.postgres``) is decided once, by
``tmuxorch.store.opening.open_store``. tests/test_store_contract.py is the
executable form of this contract: a new backend is done when it passes.

The store persists; it does not decide. Every method raises StoreError (one
line naming the store and what to do) for any failure of the store itself.

Claude's hooks reach the store too, and must not import typing: modules on
their path import this one only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from tmuxorch.core import states
from tmuxorch.core.records import (
    Agent,
    Event,
    Host,
    Lock,
    Message,
    MessageUsage,
    Notice,
    Outgoing,
    Request,
    Turn,
    Waiter,
    Watch,
)
from tmuxorch.core.vocab import EventKind, Mode, State, Until, Writer


class Changes(Protocol):
    """Wake-ups on the store's changes, made by any process (a hook, the
    monitor, another command). Open it before the read it guards, so no
    change falls between the two; any one thread may wait on it."""

    def wait(self, timeout: float | None) -> bool:
        """Sleep until the store changed since the last wait (or the opening),
        or ``timeout`` passed; whether it changed. It may wake for nothing:
        callers read again and decide. It wakes too when the state was
        deleted or replaced (then ``Store.replaced()`` says so)."""
        ...

    def close(self) -> None:
        """Also from another thread: a ``wait`` blocked in it returns (and
        any later one at once), so a thread can sleep with no timeout."""
        ...

    def __enter__(self) -> Changes: ...

    def __exit__(self, *exc: object) -> None: ...


class Store(Protocol):
    """One open connection to one fleet's state (not shared between threads)."""

    @property
    def path(self) -> str:
        """Where the state lives, as messages name it (SQLite: the file;
        PostgreSQL: the URL without its password)."""
        ...

    @property
    def home(self) -> str:
        """The fleet's home directory on this host (lock waiters' FIFOs live there)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...

    def replaced(self) -> bool:
        """Was the state this connection opened deleted or replaced since?
        Nothing written elsewhere will ever reach it then."""
        ...

    def transaction(self) -> AbstractContextManager[object]:
        """A write transaction: the calls inside it commit together, and no
        other writer interleaves (nested ones join the outer one)."""
        ...

    def changes(self) -> Changes:
        """Wake-ups on this store's changes (SQLite: its WAL file through
        watchdog; a server: its notifications)."""
        ...

    # -- agents ---------------------------------------------------------------

    def insert_agent(self, agent: Agent) -> None:
        """AgentError if the name is taken."""
        ...

    def get_agent(self, name: str) -> Agent | None: ...

    def list_agents(self) -> list[Agent]:
        """Oldest first (created, then name)."""
        ...

    def update_agent(self, name: str, **fields: Any) -> None:
        """ValueError for a field ``Agent`` does not have."""
        ...

    def delete_agent(self, name: str, *, record_event: bool = True) -> None:
        """The agent, its locks and cost rows; its queued messages fail."""
        ...

    def rename_agent(self, old: str, new: str) -> None:
        """Give agent ``old`` the name ``new`` in every row that names it (its
        record, children's ``parent``, messages both ways, events, locks and
        waiters, watches and their targets, transcripts, turns, usages) and
        record a ``renamed`` event (data ``{"from": old}``), in one
        transaction. AgentError, changing nothing, when ``old`` is unknown,
        ``new`` is taken, or a message to ``old`` is being delivered."""
        ...

    def launched_as(self, launch: str) -> str | None:
        """The agent whose current start has this launch token
        (``spec["launch"]``, its process's ``TMUXORCH_LAUNCH``), or None."""
        ...

    def state_counts(self) -> dict[str, int]:
        """How many agents are in each state (the status line's one query)."""
        ...

    def agent_liveness(self, name: str) -> tuple[str, int | None, str | None] | None:
        """``(state, pid, task)``, or None for no such agent."""
        ...

    def set_state(
        self,
        name: str,
        state: State,
        detail: str = "",
        *,
        event: EventKind = "state",
        data: dict[str, Any] | None = None,
        expect: State | None = None,
        writer: Writer = states.FLEET,
        **fields: Any,
    ) -> bool:
        """Move an agent to ``state`` as ``states.transition`` decides for
        ``writer``, with the writer's own ``fields``; record an event only
        when something changed. With ``expect``, only if the agent is still
        in that state: a decision made on an older reading must not undo what
        a hook or a delivery did since. Whether the state or detail changed."""
        ...

    def mark_lost(self, name: str, since: float) -> bool:
        """An agent whose window vanished, unless tmuxorch itself ended it
        (``ended_by`` is set before it kills anything): ``up`` brings it back.
        ``since`` is the agent's as the caller saw it without a window: one
        started since (spawned again after a remove, brought back by ``up``)
        has a window the caller did not see."""
        ...

    def lose_host(self, host: str, silent_since: float) -> dict[str, State] | None:
        """Decide once that ``host`` is lost: if it is still ``up`` and its
        last heartbeat is older than ``silent_since``, mark it ``lost``, its
        agents lost as ``mark_lost`` does (detail ``host HOST lost``), and
        record a ``host-lost`` event, in one transaction. The agents it
        marked, with the state each was in; None when it did not decide
        (another caller did first, or the host spoke since)."""
        ...

    def adopt_agents(self, host: str) -> list[str]:
        """Give ``host`` the agents of no host (rows from before hosts); their names."""
        ...

    def hook_event(
        self,
        name: str,
        event: EventKind,
        state: State | None,
        detail: str,
        data: dict[str, Any],
        fields: dict[str, Any],
        writer: Writer = states.HOOK,
    ) -> bool:
        """One Claude hook event in one transaction: fields, event row, state
        (as ``states.transition`` decides for ``writer``; the event row says
        none when the state stands). False when the agent is unknown (a hook
        from a removed agent)."""
        ...

    # -- events (ids grow with time; ``after`` is an id) ------------------------

    def add_event(
        self,
        agent: str | None,
        event: EventKind,
        state: State | None = None,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> int: ...

    def last_event_id(self) -> int: ...

    def events(
        self,
        *,
        agent: str | None = None,
        after: int = 0,
        limit: int | None = None,
        kind: EventKind | None = None,
    ) -> list[Event]:
        """Oldest first; with ``limit``, the newest ``limit`` of them."""
        ...

    def count_events(
        self, agent: str, kinds: tuple[EventKind, ...], *, after: int = 0, since: float = 0.0
    ) -> int:
        """How many of the agent's events of these kinds came after event id
        ``after`` and at or after time ``since``."""
        ...

    # -- messages: each is claimed by exactly one deliverer ----------------------

    def add_message(self, sender: str | None, recipient: str, mode: Mode, body: str) -> int: ...

    def get_message(self, message_id: int) -> Message | None: ...

    def fold_queued(self, message_ids: list[int], body: str) -> bool:
        """Replace still-queued messages by one: the first takes ``body`` (and
        keeps its place), the others go. False, changing nothing, if any of
        them left the queue meanwhile."""
        ...

    def set_message_status(
        self, message_id: int, status: str, error: str | None = None
    ) -> None: ...

    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        """The next queued message (urgent, important, then sequential; oldest
        first), now 'delivering': no two claimers ever get the same one."""
        ...

    def set_message_stage(self, message_id: int, stage: str, draft: str) -> None: ...

    def next_queued(self, recipient: str) -> Message | None: ...

    def recipients_with_queued(self) -> list[str]: ...

    def claimed_messages(self) -> list[Message]: ...

    def requeue_message(self, message_id: int) -> None: ...

    def fail_queued(self, recipient: str, reason: str) -> int: ...

    def messages(self, recipient: str | None = None) -> list[Message]: ...

    def pending_count(self, recipient: str) -> int:
        """Messages not yet taken by ``recipient``: queued or being typed."""
        ...

    def queued_counts(self) -> dict[str, int]: ...

    def add_watch(
        self, watcher: str, targets: list[str], until: Until, any_of: bool, deadline: float | None
    ) -> int: ...

    def watches(self) -> list[Watch]: ...

    def delete_watch(self, watch_id: int) -> bool: ...

    # -- requests to a host's daemon: each is claimed by exactly one daemon -------

    def add_request(self, host: str, agent: str, op: str, args: dict[str, Any]) -> int:
        """Ask ``host``'s daemon to carry out ``op`` on ``agent``; the request's id."""
        ...

    def get_request(self, request_id: int) -> Request | None: ...

    def requests(self, host: str | None = None) -> list[Request]:
        """Oldest first; only those for ``host`` when given."""
        ...

    def claim_request(self, host: str, claimer: int) -> Request | None:
        """The oldest queued request for ``host``, now 'working': no two
        claimers ever get the same one."""
        ...

    def finish_request(self, request_id: int, result: Any = None, error: str | None = None) -> bool:
        """A claimed request 'done' with its result (JSON), or 'failed' with
        ``error`` (``result`` then says more of it, if anything); False,
        changing nothing, if it was not 'working'."""
        ...

    def cancel_request(self, request_id: int, error: str) -> bool:
        """Fail a request nobody claimed yet (the asker gave up); False,
        changing nothing, once claimed or finished."""
        ...

    # -- locks (the rules are tmuxorch.locks.acquisition, inside a transaction) ----

    def locks_by_agent(self) -> dict[str, list[str]]: ...

    def locks(self) -> list[Lock]: ...

    def locks_overlapping(self, path: str) -> list[Lock]:
        """Locks on ``path``, on a directory above it, or on anything below it."""
        ...

    def put_lock(self, lock: Lock) -> None: ...

    def extend_lock(self, path: str, expires: float) -> None: ...

    def delete_lock(self, path: str) -> None: ...

    def delete_locks_of(self, holder: str) -> list[str]: ...

    def waiters(self) -> list[Waiter]: ...

    def waiters_overlapping(self, path: str) -> list[Waiter]: ...

    def add_waiter(self, path: str, holder: str, pid: int, wake: str) -> int: ...

    def delete_waiter(self, waiter_id: int) -> None: ...

    # -- cost and history (the rules are tmuxorch.claude.cost) ------------------

    def transcript_positions(self, agent: str) -> dict[str, int]:
        """How far each of the agent's transcripts was read, in the order first seen."""
        ...

    def set_transcript_position(self, agent: str, path: str, position: int) -> None: ...

    def last_turn(self, agent: str) -> Turn | None: ...

    def turns(self, agent: str) -> list[Turn]: ...

    def put_turn(self, turn: Turn) -> None: ...

    def message_usages(self, agent: str, keys: list[str] | None = None) -> dict[str, MessageUsage]:
        """The agent's usage rows (only those of ``keys`` when given), by key."""
        ...

    def put_message_usage(self, usage: MessageUsage) -> None: ...

    # -- the notifications' outbox (the rules are tmuxorch.daemon.notifier) --------

    def add_notice(self, notice: Notice, targets: list[str], origin: str) -> int:
        """Queue ``notice`` for each target (a digest naming a URL), to be
        sent by host ``origin``'s daemon: once per event, kind and target
        however often, and by whichever host, it is added; how many rows it added."""
        ...

    def unsent_notices(self, origin: str) -> list[Outgoing]:
        """The notices host ``origin`` is to send and has not yet, oldest first."""
        ...

    def notices_sent(self, ids: list[int]) -> None: ...

    def notices_failed(self, ids: list[int], attempts: int, next_try: float, error: str) -> None:
        """The send failed: try again at ``next_try`` (epoch seconds)."""
        ...

    def notice_cursor(self, origin: str) -> int | None:
        """The last event host ``origin``'s daemon read for notices, if it keeps one."""
        ...

    def set_notice_cursor(self, origin: str, event_id: int | None) -> None:
        """Keep it (None: forget it)."""
        ...

    # -- hosts: each daemon's heartbeats ------------------------------------------

    def heartbeat(self, name: str, version: str, pid: int, started: float) -> bool:
        """Host ``name``'s daemon is alive now (its tmuxorch version, pid and
        start time): the host is ``up``. Whether it had been ``lost``."""
        ...

    def hosts(self) -> list[Host]:
        """Every host that ever heartbeat, by name."""
        ...
