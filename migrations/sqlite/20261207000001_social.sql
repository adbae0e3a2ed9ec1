-- Profiles, friends, and the links friends share with each other. Mirrors
-- migrations/postgres/20261207000001_social.sql, which explains the shape; times are INTEGER microseconds and
-- ids hyphenated text, as in the core schema.

ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN display_name_visibility TEXT NOT NULL DEFAULT 'everyone'
    CHECK (display_name_visibility IN ('everyone', 'friends', 'nobody'));
ALTER TABLE users ADD COLUMN email_visibility TEXT NOT NULL DEFAULT 'nobody'
    CHECK (email_visibility IN ('friends', 'nobody'));

CREATE TABLE friend_requests (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, to_user_id),
    CHECK (user_id <> to_user_id)
);

CREATE INDEX friend_requests_received ON friend_requests (to_user_id, user_id);

CREATE TABLE friendships (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
);

CREATE INDEX friendships_by_friend ON friendships (friend_id);

CREATE TABLE shares (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
    url        TEXT,
    title      TEXT,
    note       TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX shares_sent ON shares (user_id, id DESC);

CREATE TABLE notifications (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    share_id INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    seen_at  INTEGER,
    PRIMARY KEY (user_id, share_id)
);

CREATE INDEX notifications_by_share ON notifications (share_id);
