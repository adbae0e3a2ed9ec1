-- The event log: what `GET /v1/events` streams and replays. One writer, the event bus, appends to it only
-- after the transaction that caused the events committed, and numbers each user's events from the user's own
-- counter, moved in the same transaction, so ids never go backwards, not even after a restart or a copy.
ALTER TABLE users ADD COLUMN last_event_id bigint NOT NULL DEFAULT 0;

CREATE TABLE events (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         bigint NOT NULL,
    kind       text NOT NULL,
    -- No foreign key: an event about a feed outlives the feed, as a log line would.
    feed_id    bigint,
    -- The kind's fields as JSON text, written and read back byte for byte.
    data       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, id)
);

-- Pruning by age walks the oldest events first.
CREATE INDEX events_created_at ON events (created_at);
