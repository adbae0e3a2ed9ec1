-- Full-text search on the timeline (`GET /v1/articles?q=`). The 'simple' configuration (no stemming, no stop
-- words) so that a word matches as it does on SQLite; its parser drops HTML tags and entities. Title weighs A,
-- summary B, content C. Each part is capped before it is parsed, so a huge article costs at most ~110,000
-- characters of index (a tsvector holds at most 1 MB, and positions stop counting at 16,383 anyway).
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', left(coalesce(title, ''), 1000)), 'A')
    || setweight(to_tsvector('simple', left(coalesce(summary, ''), 10000)), 'B')
    || setweight(to_tsvector('simple', left(coalesce(content, ''), 100000)), 'C')
) STORED;

CREATE INDEX articles_search ON articles USING gin (search_vector);
