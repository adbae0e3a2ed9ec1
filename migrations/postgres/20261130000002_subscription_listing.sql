-- GET /v1/feeds pages a user's subscriptions by (created_at, feed_id) and counts each listed feed's unread
-- articles. Without these, a count on a fresh, un-analysed table could be planned over user_articles_unread and
-- scan every unread row of the user once per feed (171 s at 10,000 subscriptions, issue #12).
CREATE INDEX subscriptions_by_time ON subscriptions (user_id, created_at, feed_id);
CREATE INDEX user_articles_unread_by_feed ON user_articles (user_id, feed_id) WHERE read_at IS NULL;
