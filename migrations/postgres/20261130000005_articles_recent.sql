-- The newest articles of the whole database, with what a timeline page needs of them (feed and number). A user
-- who follows much of what the store holds finds a page in one short scan of this index (about 1 ms for 1,000
-- feeds, against 6-7 ms for a lookup per followed feed); a user who follows little of it costs one wasted scan of
-- a few hundred entries before the per-feed lookups (store/timeline_query.rs). One more index entry per article
-- written.
CREATE INDEX articles_recent ON articles (published_at DESC, id DESC) INCLUDE (feed_id, seq);
