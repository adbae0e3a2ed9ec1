-- user_articles.feed_id is copied from the article it links, and articles.feed_id already references feeds with
-- ON DELETE CASCADE (which reaches user_articles through article_id). The second check on feeds bought no
-- integrity and cost a trigger call per linked row: about a tenth of a 10,000-row flush (BENCHMARKS.md).
ALTER TABLE user_articles DROP CONSTRAINT IF EXISTS user_articles_feed_id_fkey;
