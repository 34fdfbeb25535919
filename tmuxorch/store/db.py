"""The fleet's state in SQLite. Every SQL statement of tmuxorch lives here.

One database per home, WAL mode so readers never block the writer, a busy
timeout so concurrent CLI calls queue instead of failing, and writes inside
``BEGIN IMMEDIATE`` so a read-modify-write can never interleave with another.
Keeping SQL in this one module is what lets a server backend replace it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator

from tmuxorch.core import states
from tmuxorch.core.errors import AgentError, StoreError
from tmuxorch.core.frozen import asdict
from tmuxorch.core.private import check_entry, check_home
from tmuxorch.core.records import (
    Agent,
    Event,
    Lock,
    Message,
    MessageUsage,
    Turn,
    Waiter,
    Watch,
    now,
)
from tmuxorch.store.storeerrors import store_error, translated

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

DB_NAME = "state.db"

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE agents (
        name TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        since REAL NOT NULL,
        cwd TEXT NOT NULL,
        created REAL NOT NULL,
        parent TEXT,
        pane_id TEXT,
        window_id TEXT,
        pid INTEGER,
        session_id TEXT,
        transcript_path TEXT,
        exit_status INTEGER,
        ended_by TEXT,
        task TEXT,
        turns INTEGER NOT NULL DEFAULT 0,
        tokens_input INTEGER NOT NULL DEFAULT 0,
        tokens_output INTEGER NOT NULL DEFAULT 0,
        tokens_cache_read INTEGER NOT NULL DEFAULT 0,
        tokens_cache_creation INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        spec TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        agent TEXT,
        event TEXT NOT NULL,
        state TEXT,
        detail TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_agent ON events (agent, id);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        sender TEXT,
        recipient TEXT NOT NULL,
        mode TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        delivered_at REAL,
        error TEXT
    );
    CREATE INDEX messages_recipient ON messages (recipient, status, id);
    CREATE TABLE locks (
        path TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        agent TEXT,
        since REAL NOT NULL,
        expires REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    """,
    # auto-lock: the process whose death frees a lock, and the FIFO queue of waiters.
    """
    ALTER TABLE locks ADD COLUMN pid INTEGER;
    ALTER TABLE locks ADD COLUMN pid_start INTEGER;
    CREATE TABLE lock_waiters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        since REAL NOT NULL,
        wake TEXT NOT NULL
    );
    """,
    # 3: messaging. A message is claimed ('delivering') by exactly one
    # deliverer before it is typed; watches are `wait --notify` requests.
    """
    ALTER TABLE messages ADD COLUMN claimed_at REAL;
    ALTER TABLE messages ADD COLUMN claimed_by INTEGER;
    CREATE TABLE watches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        watcher TEXT NOT NULL,
        targets TEXT NOT NULL,
        until TEXT NOT NULL,
        any_of INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        deadline REAL
    );
    """,
    # 4: cost and history: how far each transcript was read, the turns read
    # from it, and the usage of each API response (message id + request id).
    """
    CREATE TABLE transcripts (
        agent TEXT NOT NULL,
        path TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (agent, path)
    );
    CREATE TABLE turns (
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        started REAL,
        ended REAL,
        duration REAL,
        session_id TEXT,
        response TEXT NOT NULL DEFAULT '',
        response_key TEXT NOT NULL DEFAULT '',
        tools TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (agent, seq)
    );
    CREATE TABLE message_usage (
        agent TEXT NOT NULL,
        key TEXT NOT NULL,
        turn INTEGER NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        input INTEGER NOT NULL DEFAULT 0,
        output INTEGER NOT NULL DEFAULT 0,
        cache_read INTEGER NOT NULL DEFAULT 0,
        cache_creation INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (agent, key)
    );
    """,
    # 5: a deliverer is its pid and its start time (pids are reused).
    """
    ALTER TABLE messages ADD COLUMN claimed_start INTEGER;
    """,
    # 6: how far a delivery got (typing, typed, submitting) and the draft it
    # took out of the input line, so that recovery after a crash of the
    # deliverer neither retypes a submitted message nor loses the draft.
    """
    ALTER TABLE messages ADD COLUMN stage TEXT;
    ALTER TABLE messages ADD COLUMN draft TEXT;
    """,
    # 7: a turn whose answer is written (its last response ended it).
    """
    ALTER TABLE turns ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
    """,
)

# Delivery order: urgent interrupts, important goes ahead of sequential.
_MODE_ORDER = "CASE mode WHEN 'urgent' THEN 0 WHEN 'important' THEN 1 ELSE 2 END"

_AGENT_COLUMNS = (
    "name", "profile", "state", "detail", "since", "cwd", "created", "parent", "pane_id",
    "window_id", "pid", "session_id", "transcript_path", "exit_status", "ended_by", "task",
    "turns", "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation",
    "cost_usd", "spec",
)  # fmt: skip


# A lock on a directory covers everything below it, so two lock paths conflict
# when equal or when one is a directory prefix of the other (``:p`` is the
# path asked for; substr, unlike LIKE, has no wildcard characters to escape).
_OVERLAPS = (
    "(path = :p OR substr(:p, 1, length(path) + 1) = path || '/' "
    "OR substr(path, 1, length(:p) + 1) = :p || '/')"
)


def ensure_home(home: Path | str) -> None:
    """Create the home 0700; refuse one that is not ours or not private."""
    check_home(home)


def _identity(path: str) -> tuple[int, int]:
    """The database file's (device, inode). A link is refused, and so is a
    zero-length file: SQLite would take it for a new, empty fleet (``_create``
    never leaves one)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise StoreError(f"cannot use {path}: {exc.strerror or exc}") from exc
    check_entry(path, st, stat.S_IFREG)
    if st.st_size == 0:
        raise StoreError(
            f"{path} is empty (0 bytes), not a fleet's database: restore it from a backup, "
            "or move it away to start a new fleet"
        )
    return (st.st_dev, st.st_ino)


def _create(path: str) -> None:
    """A new database, set up under a temporary name and linked into place
    whole: nobody ever opens a half-made (zero-length) ``state.db``."""
    tmp = os.path.join(
        os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.{time.monotonic_ns()}"
    )
    try:
        with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            Store(conn, tmp)._migrate()
        with contextlib.suppress(FileExistsError):  # a concurrent call made it first
            os.link(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from exc
    finally:
        for name in (tmp, tmp + "-wal", tmp + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


def _agent(row: sqlite3.Row) -> Agent:
    values = dict(row)
    values["spec"] = json.loads(values["spec"] or "{}")
    return Agent(**values)


def _turn(row: sqlite3.Row) -> Turn:
    values = dict(row)
    values["tools"] = json.loads(values["tools"] or "[]")
    values["answered"] = bool(values["answered"])
    return Turn(**values)


def _event(row: sqlite3.Row) -> Event:
    values = dict(row)
    values["data"] = json.loads(values["data"] or "{}")
    return Event(**values)


@translated
class Store:
    """A connection to one fleet's database (its methods raise StoreError,
    naming the file, for any error of the file: tmuxorch.store.storeerrors)."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.identity = _identity(path)

    @classmethod
    def open(cls, home: Path | str, *, create: bool = True) -> Store:
        # os.path, not pathlib: Claude's hooks open the store on every tool call.
        path = os.path.join(home, DB_NAME)
        if create:
            ensure_home(home)
        elif not os.path.exists(path):
            raise StoreError(f"no fleet at {home}")
        else:
            check_home(home, create=False)
        old_umask = os.umask(0o077)  # the db, its WAL and shm files are 0600
        try:
            if create and not os.path.lexists(path):
                _create(path)
            _identity(path)  # SQLite would follow a link, or take an empty file
            for journal in (path + "-wal", path + "-shm"):
                if os.path.islink(journal):  # SQLite would write through it
                    check_entry(journal, os.lstat(journal), stat.S_IFREG)
            conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, path) from exc
        finally:
            os.umask(old_umask)
        conn.row_factory = sqlite3.Row
        try:
            store = cls(conn, path)
        except StoreError:
            conn.close()
            raise
        try:
            store._prepare()
        except StoreError:
            conn.close()
            raise
        return store

    def _prepare(self) -> None:
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self._use_wal()
        self._migrate()
        self.conn.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self.conn.close()

    def replaced(self) -> bool:
        """Was the database file deleted or replaced since it was opened?
        This connection then reads and writes a file nobody else sees."""
        try:
            return _identity(self.path) != self.identity
        except StoreError:
            return True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _use_wal(self) -> None:
        """Switch a new database to WAL (persistent, so once per file). The
        switch does not wait on the busy timeout: when connections race on a
        fresh file, the losers retry until they see WAL."""
        for attempt in range(300):
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.005 * (attempt + 1), 0.1))
        raise StoreError(f"cannot switch {self.path} to WAL: the database stays locked")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(_MIGRATIONS):
            return
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, len(_MIGRATIONS)):
                for statement in _MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front."""
        if self.conn.in_transaction:  # nested: join the outer one
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise store_error(exc, self.path) from exc

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            # The error that ended the transaction is the one to report.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    # -- agents ---------------------------------------------------------------

    def insert_agent(self, agent: Agent) -> None:
        values = {name: getattr(agent, name) for name in _AGENT_COLUMNS}
        values["spec"] = json.dumps(agent.spec)
        columns = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        with self.transaction() as conn:
            try:
                conn.execute(f"INSERT INTO agents ({columns}) VALUES ({marks})", values)
            except sqlite3.IntegrityError:
                raise AgentError(f"an agent named {agent.name!r} already exists") from None

    def get_agent(self, name: str) -> Agent | None:
        row = self.conn.execute("SELECT * FROM agents WHERE name = ?", (name,)).fetchone()
        return _agent(row) if row else None

    def list_agents(self) -> list[Agent]:
        rows = self.conn.execute("SELECT * FROM agents ORDER BY created, name").fetchall()
        return [_agent(r) for r in rows]

    def update_agent(self, name: str, **fields: Any) -> None:
        unknown = set(fields) - set(_AGENT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown agent fields {sorted(unknown)}")
        if "spec" in fields:
            fields["spec"] = json.dumps(fields["spec"])
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE agents SET {assignments} WHERE name = :_name", {**fields, "_name": name}
            )

    def delete_agent(self, name: str, *, record_event: bool = True) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM agents WHERE name = ?", (name,))
            conn.execute("DELETE FROM locks WHERE agent = ?", (name,))
            for table in ("transcripts", "turns", "message_usage"):
                conn.execute(f"DELETE FROM {table} WHERE agent = ?", (name,))
            conn.execute(
                "UPDATE messages SET status = 'failed', error = 'agent removed' "
                "WHERE recipient = ? AND status = 'queued'",
                (name,),
            )
            if record_event:
                self._add_event(name, "removed", None, "", {})

    def state_counts(self) -> dict[str, int]:
        """How many agents are in each state (the status line's one query)."""
        rows = self.conn.execute("SELECT state, count(*) FROM agents GROUP BY state").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def set_state(
        self,
        name: str,
        state: str,
        detail: str = "",
        *,
        event: str = "state",
        data: dict[str, Any] | None = None,
        expect: str | None = None,
        writer: str = states.FLEET,
        **fields: Any,
    ) -> bool:
        """Move an agent to ``state`` (as ``states.moves`` allows ``writer``);
        record an event only when something changed.

        With ``expect``, only if the agent is still in that state: a decision
        made on an older reading must not undo what a hook or a delivery did
        since. Returns whether the state or detail changed.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, detail FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None or (expect is not None and row["state"] != expect):
                return False
            moved = states.moves(writer, row["state"], state)
            changed = moved or (row["state"] == state and row["detail"] != detail)
            sets = dict(fields)
            if changed:
                sets.update(state=state, detail=detail)
            if moved:
                sets["since"] = now()
            if sets:
                if "spec" in sets:
                    sets["spec"] = json.dumps(sets["spec"])
                assignments = ", ".join(f"{k} = :{k}" for k in sets)
                conn.execute(
                    f"UPDATE agents SET {assignments} WHERE name = :_name", {**sets, "_name": name}
                )
            if changed:
                self._add_event(name, event, state, detail, data or {})
            return changed

    def mark_lost(self, name: str, since: float) -> bool:
        """An agent whose window vanished, unless tmuxorch itself ended it
        (``ended_by`` is set before it kills anything): ``up`` brings it back.
        ``since`` is the agent's as the caller saw it without a window: one
        started since (spawned again after a remove, brought back by ``up``)
        has a window the caller did not see."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE agents SET state = 'exited', detail = 'window gone', ended_by = 'lost', "
                "since = ? WHERE name = ? AND since = ? AND ended_by IS NULL "
                "AND state NOT IN ('exited', 'stopped')",
                (now(), name, since),
            ).rowcount
            if changed:
                self._add_event(name, "exited", "exited", "window gone", {})
            return bool(changed)

    def hook_event(
        self,
        name: str,
        event: str,
        state: str | None,
        detail: str,
        data: dict[str, Any],
        fields: dict[str, Any],
        writer: str = states.HOOK,
    ) -> bool:
        """One Claude hook event in one transaction: fields, event row, state
        (as ``states.moves`` allows ``writer``; the event row says none when
        the state stands).

        Returns False when the agent is unknown (a hook from a removed agent).
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state, ended_by FROM agents WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return False
            if state == "exited" and row["ended_by"] == "stop":
                state = "stopped"  # the session ended because `stop` asked it to
            if event == "hook:UserPromptSubmit":
                fields = {**fields, "turns": None}
            sets = dict(fields)
            if state is not None and states.moves(writer, row["state"], state):
                sets.update(state=state, detail=detail, since=now())
            elif state is not None and state == row["state"]:
                sets["detail"] = detail
            else:
                state = None
            if sets:
                assignments = ", ".join(
                    "turns = turns + 1" if k == "turns" else f"{k} = :{k}" for k in sets
                )
                conn.execute(
                    f"UPDATE agents SET {assignments} WHERE name = :_name", {**sets, "_name": name}
                )
            self._add_event(name, event, state, detail, data)
            return True

    # -- events ---------------------------------------------------------------

    def _add_event(
        self, agent: str | None, event: str, state: str | None, detail: str, data: dict[str, Any]
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO events (ts, agent, event, state, detail, data) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), agent, event, state, detail, json.dumps(data)),
        )
        return int(cur.lastrowid or 0)

    def add_event(
        self,
        agent: str | None,
        event: str,
        state: str | None = None,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        with self.transaction():
            return self._add_event(agent, event, state, detail, data or {})

    def last_event_id(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM events").fetchone()
        return int(row[0] or 0)

    def events(
        self,
        *,
        agent: str | None = None,
        after: int = 0,
        limit: int | None = None,
        kind: str | None = None,
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE id > ?"
        args: list[Any] = [after]
        if agent is not None:
            sql += " AND agent = ?"
            args.append(agent)
        if kind is not None:
            sql += " AND event = ?"
            args.append(kind)
        if limit is not None:
            # The newest ``limit`` events, still returned oldest first.
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id"
            args.append(limit)
        else:
            sql += " ORDER BY id"
        return [_event(r) for r in self.conn.execute(sql, args).fetchall()]

    def count_events(
        self, agent: str, kinds: tuple[str, ...], *, after: int = 0, since: float = 0.0
    ) -> int:
        """How many of the agent's events of these kinds came after event id
        ``after`` and at or after time ``since``."""
        marks = ", ".join("?" * len(kinds))
        row = self.conn.execute(
            f"SELECT count(*) FROM events WHERE agent = ? AND id > ? AND ts >= ? "
            f"AND event IN ({marks})",
            (agent, after, since, *kinds),
        ).fetchone()
        return int(row[0])

    # -- messages -------------------------------------------------------------

    def add_message(self, sender: str | None, recipient: str, mode: str, body: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO messages (ts, sender, recipient, mode, body, status) "
                "VALUES (?, ?, ?, ?, ?, 'queued')",
                (now(), sender, recipient, mode, body),
            )
            return int(cur.lastrowid or 0)

    def get_message(self, message_id: int) -> Message | None:
        row = self.conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return Message(**dict(row)) if row else None

    def fold_queued(self, message_ids: list[int], body: str) -> bool:
        """Replace still-queued messages by one: the first takes ``body`` (and
        keeps its place), the others go. False, changing nothing, if any of
        them left the queue meanwhile."""
        if not message_ids:
            return False
        with self.transaction() as conn:
            marks = ", ".join("?" * len(message_ids))
            queued = conn.execute(
                f"SELECT count(*) FROM messages WHERE id IN ({marks}) AND status = 'queued'",
                message_ids,
            ).fetchone()[0]
            if queued != len(message_ids):
                return False
            first, *rest = sorted(message_ids)
            conn.execute("UPDATE messages SET body = ? WHERE id = ?", (body, first))
            for message_id in rest:
                conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            return True

    def set_message_status(self, message_id: int, status: str, error: str | None = None) -> None:
        delivered = now() if status == "delivered" else None
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = ?, error = ?, delivered_at = ? WHERE id = ?",
                (status, error, delivered, message_id),
            )

    def claim_next(
        self, recipient: str, claimer: int, claimer_start: int | None = None
    ) -> Message | None:
        """Take the next queued message for ``recipient`` (urgent, then important,
        then sequential; oldest first) so that no other deliverer types it."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM messages WHERE recipient = ? AND status = 'queued' "
                f"ORDER BY {_MODE_ORDER}, id LIMIT 1",
                (recipient,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE messages SET status = 'delivering', claimed_at = ?, claimed_by = ?, "
                "claimed_start = ? WHERE id = ?",
                (now(), claimer, claimer_start, row[0]),
            )
        return self.get_message(int(row[0]))

    def set_message_stage(self, message_id: int, stage: str, draft: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET stage = ?, draft = ? WHERE id = ? AND status = 'delivering'",
                (stage, draft or None, message_id),
            )

    def next_queued(self, recipient: str) -> Message | None:
        row = self.conn.execute(
            "SELECT * FROM messages WHERE recipient = ? AND status = 'queued' "
            f"ORDER BY {_MODE_ORDER}, id LIMIT 1",
            (recipient,),
        ).fetchone()
        return Message(**dict(row)) if row else None

    def recipients_with_queued(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT recipient FROM messages WHERE status = 'queued'"
        ).fetchall()
        return [r[0] for r in rows]

    def claimed_messages(self) -> list[Message]:
        rows = self.conn.execute(
            "SELECT * FROM messages WHERE status = 'delivering' ORDER BY id"
        ).fetchall()
        return [Message(**dict(r)) for r in rows]

    def requeue_message(self, message_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE messages SET status = 'queued', claimed_at = NULL, claimed_by = NULL, "
                "claimed_start = NULL, stage = NULL, draft = NULL "
                "WHERE id = ? AND status = 'delivering'",
                (message_id,),
            )

    def fail_queued(self, recipient: str, reason: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'failed', error = ? "
                "WHERE recipient = ? AND status = 'queued'",
                (reason, recipient),
            )
            return cur.rowcount

    def messages(self, recipient: str | None = None) -> list[Message]:
        sql, args = "SELECT * FROM messages", []
        if recipient is not None:
            sql, args = sql + " WHERE recipient = ?", [recipient]
        return [Message(**dict(r)) for r in self.conn.execute(sql + " ORDER BY id", args)]

    # -- watches (wait --notify) ---------------------------------------------------

    def add_watch(
        self, watcher: str, targets: list[str], until: str, any_of: bool, deadline: float | None
    ) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO watches (watcher, targets, until, any_of, created, deadline) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (watcher, json.dumps(targets), until, int(any_of), now(), deadline),
            )
            return int(cur.lastrowid or 0)

    def watches(self) -> list[Watch]:
        rows = self.conn.execute("SELECT * FROM watches ORDER BY id").fetchall()
        return [
            Watch(**{**dict(r), "targets": json.loads(r["targets"]), "any_of": bool(r["any_of"])})
            for r in rows
        ]

    def delete_watch(self, watch_id: int) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,)).rowcount == 1

    def pending_count(self, recipient: str) -> int:
        """Messages not yet taken by ``recipient``: queued or being typed."""
        row = self.conn.execute(
            "SELECT count(*) FROM messages WHERE recipient = ? "
            "AND status IN ('queued', 'delivering')",
            (recipient,),
        ).fetchone()
        return int(row[0])

    def queued_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT recipient, count(*) FROM messages WHERE status = 'queued' GROUP BY recipient"
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- locks (the logic is tmuxorch.locks.filelocks; callers hold a transaction) ----------

    def locks_by_agent(self) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for row in self.conn.execute(
            "SELECT agent, path FROM locks WHERE agent IS NOT NULL ORDER BY path"
        ):
            held.setdefault(row[0], []).append(row[1])
        return held

    def locks(self) -> list[Lock]:
        return [Lock(**dict(r)) for r in self.conn.execute("SELECT * FROM locks ORDER BY path")]

    def locks_overlapping(self, path: str) -> list[Lock]:
        """Locks on ``path``, on a directory above it, or on anything below it."""
        rows = self.conn.execute(
            f"SELECT * FROM locks WHERE {_OVERLAPS} ORDER BY since, path", {"p": path}
        )
        return [Lock(**dict(r)) for r in rows]

    def put_lock(self, lock: Lock) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO locks (path, holder, agent, since, expires, reason, pid, "
            "pid_start) VALUES (:path, :holder, :agent, :since, :expires, :reason, :pid, "
            ":pid_start)",
            asdict(lock),
        )

    def extend_lock(self, path: str, expires: float) -> None:
        self.conn.execute("UPDATE locks SET expires = ? WHERE path = ?", (expires, path))

    def delete_lock(self, path: str) -> None:
        self.conn.execute("DELETE FROM locks WHERE path = ?", (path,))

    def delete_locks_of(self, holder: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT path FROM locks WHERE holder = ? ORDER BY path", (holder,)
        ).fetchall()
        self.conn.execute("DELETE FROM locks WHERE holder = ?", (holder,))
        return [r[0] for r in rows]

    def waiters(self) -> list[Waiter]:
        rows = self.conn.execute("SELECT * FROM lock_waiters ORDER BY id")
        return [Waiter(**dict(r)) for r in rows]

    def waiters_overlapping(self, path: str) -> list[Waiter]:
        rows = self.conn.execute(
            f"SELECT * FROM lock_waiters WHERE {_OVERLAPS} ORDER BY id", {"p": path}
        )
        return [Waiter(**dict(r)) for r in rows]

    def add_waiter(self, path: str, holder: str, pid: int, wake: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO lock_waiters (path, holder, pid, since, wake) VALUES (?, ?, ?, ?, ?)",
            (path, holder, pid, now(), wake),
        )
        return int(cur.lastrowid or 0)

    def delete_waiter(self, waiter_id: int) -> None:
        self.conn.execute("DELETE FROM lock_waiters WHERE id = ?", (waiter_id,))

    def agent_liveness(self, name: str) -> tuple[str, int | None, str | None] | None:
        """``(state, pane pid, task)`` of an agent, or None if there is no such agent."""
        row = self.conn.execute(
            "SELECT state, pid, task FROM agents WHERE name = ?", (name,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    # -- cost and history (the logic is tmuxorch.claude.cost) ------------------------------

    def transcript_positions(self, agent: str) -> dict[str, int]:
        """How far each of the agent's transcripts was read, in the order first seen."""
        rows = self.conn.execute(
            "SELECT path, position FROM transcripts WHERE agent = ? ORDER BY rowid", (agent,)
        )
        return {r[0]: int(r[1]) for r in rows}

    def set_transcript_position(self, agent: str, path: str, position: int) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO transcripts (rowid, agent, path, position) VALUES ("
            "(SELECT rowid FROM transcripts WHERE agent = ? AND path = ?), ?, ?, ?)",
            (agent, path, agent, path, position),
        )

    def last_turn(self, agent: str) -> Turn | None:
        row = self.conn.execute(
            "SELECT * FROM turns WHERE agent = ? ORDER BY seq DESC LIMIT 1", (agent,)
        ).fetchone()
        return _turn(row) if row else None

    def turns(self, agent: str) -> list[Turn]:
        rows = self.conn.execute("SELECT * FROM turns WHERE agent = ? ORDER BY seq", (agent,))
        return [_turn(r) for r in rows]

    def put_turn(self, turn: Turn) -> None:
        values = asdict(turn)
        values["tools"] = json.dumps(turn.tools)
        columns = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        self.conn.execute(f"INSERT OR REPLACE INTO turns ({columns}) VALUES ({marks})", values)

    def message_usages(self, agent: str, keys: list[str] | None = None) -> dict[str, MessageUsage]:
        """The agent's usage rows (only those of ``keys`` when given), by key."""
        if keys is None:
            rows = self.conn.execute(
                "SELECT * FROM message_usage WHERE agent = ? ORDER BY rowid", (agent,)
            ).fetchall()
        else:
            unique, rows = sorted(set(keys)), []
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows += self.conn.execute(
                    f"SELECT * FROM message_usage WHERE agent = ? AND key IN ({marks})",
                    (agent, *chunk),
                ).fetchall()
        return {r["key"]: MessageUsage(**dict(r)) for r in rows}

    def put_message_usage(self, usage: MessageUsage) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO message_usage (agent, key, turn, model, input, output, "
            "cache_read, cache_creation) VALUES (:agent, :key, :turn, :model, :input, :output, "
            ":cache_read, :cache_creation)",
            asdict(usage),
        )
