-- Fan-out on read (issue #13). A new article is written once, for its feed, whatever its number of subscribers;
-- a user's timeline is read from the subscribed feeds' articles. Per user there is only what differs:
--   * articles.seq numbers each feed's articles 1, 2, 3… in the order they were stored, and feeds.last_seq is the
--     highest; the flush hands them out, one writer per feed;
--   * subscriptions.read_through_seq: the subscriber's articles up to it count as read, the later ones as unread;
--   * article_marks: a user's marks on single articles, where they differ from that default (read above the
--     cutoff, unread at or below it) and stars;
--   * subscriptions.marked_read / marked_unread count those read and unread exceptions, so that a feed's unread
--     count is last_seq - read_through_seq - marked_read + marked_unread, with no scan.
-- Existing state moves over exactly: every article that was linked and unread stays unread, every other article of
-- a subscribed feed is read (articles older than a subscription, which were not linked, now show as read), and
-- every star stays.

ALTER TABLE articles ADD COLUMN seq bigint;
UPDATE articles a SET seq = n.seq
FROM (SELECT id, row_number() OVER (PARTITION BY feed_id ORDER BY id) AS seq FROM articles) n
WHERE a.id = n.id;
ALTER TABLE articles ALTER COLUMN seq SET NOT NULL;

ALTER TABLE feeds ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
UPDATE feeds f SET last_seq = m.last_seq
FROM (SELECT feed_id, max(seq) AS last_seq FROM articles GROUP BY feed_id) m
WHERE f.id = m.feed_id;

ALTER TABLE subscriptions
    ADD COLUMN read_through_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN marked_read bigint NOT NULL DEFAULT 0,
    ADD COLUMN marked_unread bigint NOT NULL DEFAULT 0;

-- The cutoff sits just below the subscriber's oldest unread article of the feed; with none, at the feed's last.
UPDATE subscriptions s SET read_through_seq = COALESCE(
    (SELECT min(a.seq) - 1 FROM user_articles ua JOIN articles a ON a.id = ua.article_id
     WHERE ua.user_id = s.user_id AND ua.feed_id = s.feed_id AND ua.read_at IS NULL),
    f.last_seq)
FROM feeds f WHERE f.id = s.feed_id;

-- published_at is copied from the article so that starred articles are paged on one index.
CREATE TABLE article_marks (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id   bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    feed_id      bigint NOT NULL,
    published_at timestamptz NOT NULL,
    -- true or false where the user marked the article read or unread against the cutoff; NULL for a star only.
    read_mark    boolean,
    read_at      timestamptz,
    starred_at   timestamptz,
    PRIMARY KEY (user_id, article_id)
);

-- Above the cutoff, what was read, or never linked (and so never shown as unread), is marked read.
INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at)
SELECT s.user_id, a.id, a.feed_id, a.published_at, true, COALESCE(ua.read_at, now()), ua.starred_at
FROM subscriptions s
JOIN articles a ON a.feed_id = s.feed_id AND a.seq > s.read_through_seq
LEFT JOIN user_articles ua ON ua.user_id = s.user_id AND ua.article_id = a.id
WHERE ua.article_id IS NULL OR ua.read_at IS NOT NULL;

-- Every other star, including those on a feed the user no longer follows (a feed merged by a redirect).
INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at)
SELECT ua.user_id, ua.article_id, ua.feed_id, ua.published_at, NULL, ua.read_at, ua.starred_at
FROM user_articles ua WHERE ua.starred_at IS NOT NULL
ON CONFLICT (user_id, article_id) DO NOTHING;

UPDATE subscriptions s SET marked_read = m.marked
FROM (SELECT user_id, feed_id, count(*) AS marked FROM article_marks WHERE read_mark GROUP BY user_id, feed_id) m
WHERE s.user_id = m.user_id AND s.feed_id = m.feed_id;

DROP TABLE user_articles;

-- A page of one feed's articles, newest first; seq is included so that the read state needs no heap visit.
DROP INDEX articles_feed_recent;
CREATE INDEX articles_feed_recent ON articles (feed_id, published_at DESC, id DESC) INCLUDE (seq);
-- Starred articles, newest first.
CREATE INDEX article_marks_starred ON article_marks (user_id, published_at DESC, article_id DESC)
    WHERE starred_at IS NOT NULL;
-- A subscriber's marks on one feed: recounted when the cutoff moves, removed on unsubscribe.
CREATE INDEX article_marks_by_feed ON article_marks (user_id, feed_id);
