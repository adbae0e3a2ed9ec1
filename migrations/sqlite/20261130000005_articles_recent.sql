-- The newest articles of the whole database, with what a timeline page needs of them: mirrors
-- migrations/postgres/20261130000005_articles_recent.sql (SQLite has no INCLUDE, so they are key columns). On
-- SQLite the per-feed lookup costs 12-16 us per followed feed, so this scan matters more still.
CREATE INDEX articles_recent ON articles (published_at DESC, id DESC, feed_id, seq);
