-- Saved filters. Mirrors migrations/postgres/20261210000001_saved_filters.sql, which explains the shape; times
-- are INTEGER microseconds and user ids hyphenated text. AUTOINCREMENT: an id is never reused, so a webhook or
-- timer naming a deleted filter never comes to name another.
CREATE TABLE saved_filters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    q          TEXT,
    category   TEXT,
    tag        TEXT,
    author     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

ALTER TABLE webhooks ADD COLUMN saved_filter_id INTEGER;
ALTER TABLE timers ADD COLUMN digest_filter_id INTEGER;
