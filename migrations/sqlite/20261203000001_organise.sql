-- Organising subscriptions. Mirrors migrations/postgres/20261203000001_organise.sql, which explains the shape;
-- times are INTEGER microseconds and user ids hyphenated text, as in the core schema.

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
    UNIQUE (user_id, name)
);

ALTER TABLE subscriptions ADD COLUMN category_id INTEGER REFERENCES categories (id) ON DELETE SET NULL;
ALTER TABLE subscriptions ADD COLUMN title TEXT;

CREATE INDEX subscriptions_by_category ON subscriptions (category_id) WHERE category_id IS NOT NULL;

CREATE TABLE subscription_tags (
    user_id TEXT NOT NULL,
    feed_id INTEGER NOT NULL,
    name    TEXT NOT NULL,
    PRIMARY KEY (user_id, feed_id, name),
    FOREIGN KEY (user_id, feed_id) REFERENCES subscriptions (user_id, feed_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX subscription_tags_by_name ON subscription_tags (user_id, name, feed_id);

INSERT INTO categories (user_id, name)
SELECT DISTINCT user_id, folder FROM subscriptions WHERE folder IS NOT NULL;
UPDATE subscriptions SET category_id =
    (SELECT c.id FROM categories c WHERE c.user_id = subscriptions.user_id AND c.name = subscriptions.folder)
WHERE folder IS NOT NULL;
ALTER TABLE subscriptions DROP COLUMN folder;
