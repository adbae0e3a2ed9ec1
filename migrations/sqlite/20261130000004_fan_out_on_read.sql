-- Fan-out on read (issue #13). Mirrors migrations/postgres/20261130000004_fan_out_on_read.sql, which explains the
-- shape: articles numbered per feed (seq, feeds.last_seq), a read cutoff per subscription, and per user only the
-- marks that differ from it, counted on the subscription. Existing state moves over exactly.

ALTER TABLE articles ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET seq = n.seq
FROM (SELECT id, row_number() OVER (PARTITION BY feed_id ORDER BY id) AS seq FROM articles) n
WHERE articles.id = n.id;

ALTER TABLE feeds ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE feeds SET last_seq = m.last_seq
FROM (SELECT feed_id, max(seq) AS last_seq FROM articles GROUP BY feed_id) m
WHERE feeds.id = m.feed_id;

ALTER TABLE subscriptions ADD COLUMN read_through_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN marked_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0;

UPDATE subscriptions SET read_through_seq = COALESCE(
    (SELECT min(a.seq) - 1 FROM user_articles ua JOIN articles a ON a.id = ua.article_id
     WHERE ua.user_id = subscriptions.user_id AND ua.feed_id = subscriptions.feed_id AND ua.read_at IS NULL),
    (SELECT f.last_seq FROM feeds f WHERE f.id = subscriptions.feed_id));

CREATE TABLE article_marks (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    feed_id      INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    -- 1 or 0 where the user marked the article read or unread against the cutoff; NULL for a star only.
    read_mark    INTEGER CHECK (read_mark IN (0, 1)),
    read_at      INTEGER,
    starred_at   INTEGER,
    PRIMARY KEY (user_id, article_id)
) WITHOUT ROWID;

INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at)
SELECT s.user_id, a.id, a.feed_id, a.published_at, 1,
       COALESCE(ua.read_at, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)), ua.starred_at
FROM subscriptions s
JOIN articles a ON a.feed_id = s.feed_id AND a.seq > s.read_through_seq
LEFT JOIN user_articles ua ON ua.user_id = s.user_id AND ua.article_id = a.id
WHERE ua.article_id IS NULL OR ua.read_at IS NOT NULL;

INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at)
SELECT ua.user_id, ua.article_id, ua.feed_id, ua.published_at, NULL, ua.read_at, ua.starred_at
FROM user_articles ua WHERE ua.starred_at IS NOT NULL
ON CONFLICT (user_id, article_id) DO NOTHING;

UPDATE subscriptions SET marked_read = m.marked
FROM (SELECT user_id, feed_id, count(*) AS marked FROM article_marks WHERE read_mark = 1 GROUP BY user_id, feed_id) m
WHERE subscriptions.user_id = m.user_id AND subscriptions.feed_id = m.feed_id;

DROP TABLE user_articles;

-- A page of one feed's articles, newest first, with seq for the read state.
DROP INDEX articles_feed_recent;
CREATE INDEX articles_feed_recent ON articles (feed_id, published_at DESC, id DESC, seq);
CREATE INDEX article_marks_starred ON article_marks (user_id, published_at DESC, article_id DESC)
    WHERE starred_at IS NOT NULL;
CREATE INDEX article_marks_by_feed ON article_marks (user_id, feed_id);
