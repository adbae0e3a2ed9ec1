-- Long operations run as jobs. Mirrors migrations/postgres/20261201000002_jobs.sql, which explains the shape;
-- times are INTEGER microseconds and user ids hyphenated text, as in the core schema.

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    input           TEXT NOT NULL,
    done            INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    output          TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER
);

CREATE INDEX jobs_by_user ON jobs (user_id, id DESC);
CREATE INDEX jobs_claimable ON jobs (next_attempt_at, id) WHERE status IN ('pending', 'failed');

CREATE TABLE job_items (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);

ALTER TABLE subscriptions ADD COLUMN folder TEXT;
