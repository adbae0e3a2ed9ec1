-- The newest articles of the whole database, with what a timeline page needs of them: an embedded store mostly
-- serves users who follow most of its feeds, whose pages are then found in one short scan of this index
-- (store/sqlite/timeline.rs), instead of one correlated lookup per followed feed.
CREATE INDEX articles_recent ON articles (published_at DESC, id DESC, feed_id, seq);
