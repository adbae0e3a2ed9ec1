-- Timers. Mirrors migrations/postgres/20261202000002_timers.sql, which explains the shape; times are INTEGER
-- microseconds and user ids hyphenated text, as in the core schema.

CREATE TABLE timers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT,
    schedule_kind  TEXT NOT NULL,
    schedule_spec  TEXT,
    at_time        TEXT,
    timezone       TEXT NOT NULL DEFAULT 'UTC',
    anchor_at      INTEGER NOT NULL,
    webhook_id     INTEGER REFERENCES webhooks (id) ON DELETE CASCADE,
    owns_webhook   INTEGER NOT NULL DEFAULT 0,
    payload_kind   TEXT NOT NULL DEFAULT 'id',
    digest_feed_id INTEGER,
    status         TEXT NOT NULL DEFAULT 'active',
    next_fire_at   INTEGER,
    last_fired_at  INTEGER,
    fire_count     INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE INDEX timers_by_user ON timers (user_id, id DESC);
CREATE INDEX timers_due ON timers (next_fire_at, id) WHERE status = 'active';
