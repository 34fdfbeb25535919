"""The PostgreSQL database's schema: migrations in order, the version they
reached and the fleet's identity in the ``fleet`` table, and the triggers
that NOTIFY every change (``listen`` wakes waiters on them).

The tables match SQLite's (tmuxorch.store.sqlite.schema) column for column:
the records are the same. Times are seconds since the epoch, as there.
"""

from __future__ import annotations

# The channel every write notifies (once per transaction: the server folds
# identical notifications of one transaction into one).
CHANNEL = "tmuxorch_changes"

_TABLES = (
    "agents", "events", "messages", "locks", "lock_waiters", "watches", "transcripts", "turns",
    "message_usage",
)  # fmt: skip

MIGRATIONS: tuple[str, ...] = (
    # 1: the tables of SQLite's migrations 1 to 7 at once.
    """
    CREATE TABLE agents (
        name TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        since DOUBLE PRECISION NOT NULL,
        cwd TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        parent TEXT,
        pane_id TEXT,
        window_id TEXT,
        pid BIGINT,
        session_id TEXT,
        transcript_path TEXT,
        exit_status BIGINT,
        ended_by TEXT,
        task TEXT,
        turns BIGINT NOT NULL DEFAULT 0,
        tokens_input BIGINT NOT NULL DEFAULT 0,
        tokens_output BIGINT NOT NULL DEFAULT 0,
        tokens_cache_read BIGINT NOT NULL DEFAULT 0,
        tokens_cache_creation BIGINT NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        spec TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        agent TEXT,
        event TEXT NOT NULL,
        state TEXT,
        detail TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_agent ON events (agent, id);
    CREATE TABLE messages (
        id BIGSERIAL PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        sender TEXT,
        recipient TEXT NOT NULL,
        mode TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        delivered_at DOUBLE PRECISION,
        error TEXT,
        claimed_at DOUBLE PRECISION,
        claimed_by BIGINT,
        claimed_start BIGINT,
        stage TEXT,
        draft TEXT
    );
    CREATE INDEX messages_recipient ON messages (recipient, status, id);
    CREATE TABLE locks (
        path TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        agent TEXT,
        since DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        pid BIGINT,
        pid_start BIGINT
    );
    CREATE TABLE lock_waiters (
        id BIGSERIAL PRIMARY KEY,
        path TEXT NOT NULL,
        holder TEXT NOT NULL,
        pid BIGINT NOT NULL,
        since DOUBLE PRECISION NOT NULL,
        wake TEXT NOT NULL
    );
    CREATE TABLE watches (
        id BIGSERIAL PRIMARY KEY,
        watcher TEXT NOT NULL,
        targets TEXT NOT NULL,
        until TEXT NOT NULL,
        any_of BOOLEAN NOT NULL DEFAULT false,
        created DOUBLE PRECISION NOT NULL,
        deadline DOUBLE PRECISION
    );
    CREATE TABLE transcripts (
        seq BIGSERIAL,
        agent TEXT NOT NULL,
        path TEXT NOT NULL,
        position BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (agent, path)
    );
    CREATE TABLE turns (
        agent TEXT NOT NULL,
        seq BIGINT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        started DOUBLE PRECISION,
        ended DOUBLE PRECISION,
        duration DOUBLE PRECISION,
        session_id TEXT,
        response TEXT NOT NULL DEFAULT '',
        response_key TEXT NOT NULL DEFAULT '',
        tools TEXT NOT NULL DEFAULT '[]',
        answered BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (agent, seq)
    );
    CREATE TABLE message_usage (
        seq BIGSERIAL,
        agent TEXT NOT NULL,
        key TEXT NOT NULL,
        turn BIGINT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        input BIGINT NOT NULL DEFAULT 0,
        output BIGINT NOT NULL DEFAULT 0,
        cache_read BIGINT NOT NULL DEFAULT 0,
        cache_creation BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (agent, key)
    );
    CREATE FUNCTION tmuxorch_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('"""
    + CHANNEL
    + """', '');
        RETURN NULL;
    END $$;
    """
    + "".join(
        f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION tmuxorch_notify();\n"
        for table in _TABLES
    ),
    # 2: the notifications' outbox (SQLite's migration 8).
    """
    CREATE TABLE notices (
        id BIGSERIAL PRIMARY KEY,
        event_id BIGINT NOT NULL,
        agent TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        target TEXT NOT NULL,
        origin TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_try DOUBLE PRECISION NOT NULL,
        error TEXT,
        sent DOUBLE PRECISION,
        UNIQUE (event_id, kind, target)
    );
    CREATE INDEX notices_unsent ON notices (sent, id);
    CREATE TABLE notice_cursors (
        origin TEXT PRIMARY KEY,
        event_id BIGINT NOT NULL
    );
    CREATE TRIGGER notices_notify AFTER INSERT OR UPDATE OR DELETE ON notices
    FOR EACH STATEMENT EXECUTE FUNCTION tmuxorch_notify();
    """,
    # 3: hosts (SQLite's 9). No trigger on ``hosts``: a heartbeat every few
    # seconds would wake every waiter of every host for nothing.
    """
    ALTER TABLE agents ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        last_seen DOUBLE PRECISION NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        pid BIGINT,
        state TEXT NOT NULL DEFAULT 'up'
    );
    """,
    # 4: requests to a host's daemon (SQLite's migration 10).
    """
    CREATE TABLE requests (
        id BIGSERIAL PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        host TEXT NOT NULL,
        agent TEXT NOT NULL,
        op TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        claimed_at DOUBLE PRECISION,
        claimed_by BIGINT,
        finished_at DOUBLE PRECISION,
        result TEXT,
        error TEXT
    );
    CREATE INDEX requests_host ON requests (host, status, id);
    CREATE TRIGGER requests_notify AFTER INSERT OR UPDATE OR DELETE ON requests
    FOR EACH STATEMENT EXECUTE FUNCTION tmuxorch_notify();
    """,
)

# The fleet's identity and schema version: one row, made with the schema.
FLEET_TABLE = """
CREATE TABLE fleet (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created DOUBLE PRECISION NOT NULL
)
"""
