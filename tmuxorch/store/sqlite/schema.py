"""The SQLite file: its name in the home, its schema (migrations, in order)
and its identity (the file a connection opened)."""

from __future__ import annotations

import os
import stat

from tmuxorch.core.errors import StoreError
from tmuxorch.core.private import check_entry

DB_NAME = "state.db"

MIGRATIONS: tuple[str, ...] = (
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
    # 8: the notifications' outbox: a row per notice and target until sent, and
    # the last event each host's daemon read for them.
    """
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL,
        agent TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        target TEXT NOT NULL,
        origin TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL,
        error TEXT,
        sent REAL,
        UNIQUE (event_id, kind, target)
    );
    CREATE INDEX notices_unsent ON notices (sent, id);
    CREATE TABLE notice_cursors (
        origin TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL
    );
    """,
    # 9: hosts. An agent's host ('' for rows from before: the local host's,
    # until a daemon adopts them); each host's daemon's heartbeat.
    """
    ALTER TABLE agents ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        last_seen REAL NOT NULL,
        started REAL NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        pid INTEGER,
        state TEXT NOT NULL DEFAULT 'up'
    );
    """,
    # 10: requests to a host's daemon (another host's command asks it to act
    # on an agent there), each claimed once, its result written back.
    """
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        host TEXT NOT NULL,
        agent TEXT NOT NULL,
        op TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        claimed_at REAL,
        claimed_by INTEGER,
        finished_at REAL,
        result TEXT,
        error TEXT
    );
    CREATE INDEX requests_host ON requests (host, status, id);
    """,
)


def identity(path: str) -> tuple[int, int]:
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
