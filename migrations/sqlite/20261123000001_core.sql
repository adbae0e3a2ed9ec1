-- Core schema on SQLite: users, feeds, articles, subscriptions and each user's article state.
-- Mirrors migrations/postgres/20261123000001_core.sql. SQLite has no uuid, timestamptz or array types, so:
--   * ids of users are hyphenated UUID text, readable in the sqlite3 shell;
--   * every timestamp is INTEGER microseconds since the Unix epoch (UTC): it sorts chronologically as stored,
--     which the keyset paging on (published_at, article_id) relies on, and keeps Postgres' microsecond precision;
--   * categories is a JSON text array.
-- AUTOINCREMENT mirrors identity columns: an id is never reused, since caches hold article ids.
-- The defaults below are fallbacks: the store binds its own times so that they carry microseconds.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
);

CREATE TABLE feeds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT NOT NULL UNIQUE,
    title          TEXT,
    site_url       TEXT,
    etag           TEXT,
    last_modified  TEXT,
    status         TEXT NOT NULL DEFAULT 'pending',
    last_polled_at INTEGER,
    next_poll_at   INTEGER,
    error_count    INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    created_at     INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id      INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    dedupe_key   TEXT NOT NULL,
    guid         TEXT,
    url          TEXT,
    title        TEXT,
    summary      TEXT,
    content      TEXT,
    author       TEXT,
    categories   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(categories) AND json_type(categories) = 'array'),
    -- The entry's own date, else the time it was first fetched: every article has a place on the timeline.
    published_at INTEGER NOT NULL,
    fetched_at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    UNIQUE (feed_id, dedupe_key)
);

-- Serves "a feed's most recent articles" for new subscribers.
CREATE INDEX articles_feed_recent ON articles (feed_id, published_at DESC, id DESC);

CREATE TABLE subscriptions (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    feed_id    INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    PRIMARY KEY (user_id, feed_id)
) WITHOUT ROWID;

-- Fan-out of new articles to a feed's subscribers.
CREATE INDEX subscriptions_by_feed ON subscriptions (feed_id, user_id);

-- published_at is copied from the article so the timeline is paged by keyset on one index, with no join to sort.
CREATE TABLE user_articles (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    feed_id      INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    published_at INTEGER NOT NULL,
    read_at      INTEGER,
    starred_at   INTEGER,
    PRIMARY KEY (user_id, article_id)
) WITHOUT ROWID;

CREATE INDEX user_articles_timeline ON user_articles (user_id, published_at DESC, article_id DESC);
CREATE INDEX user_articles_unread ON user_articles (user_id, published_at DESC, article_id DESC) WHERE read_at IS NULL;
CREATE INDEX user_articles_starred ON user_articles (user_id, published_at DESC, article_id DESC) WHERE starred_at IS NOT NULL;
CREATE INDEX user_articles_by_feed ON user_articles (user_id, feed_id, published_at DESC, article_id DESC);
