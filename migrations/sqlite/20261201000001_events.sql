-- The event log: what `GET /v1/events` streams and replays. Mirrors migrations/postgres/20261201000001_events.sql.
ALTER TABLE users ADD COLUMN last_event_id INTEGER NOT NULL DEFAULT 0;

CREATE TABLE events (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    -- No foreign key: an event about a feed outlives the feed, as a log line would.
    feed_id    INTEGER,
    -- The kind's fields as JSON text, written and read back byte for byte.
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;

-- Pruning by age walks the oldest events first.
CREATE INDEX events_created_at ON events (created_at);
