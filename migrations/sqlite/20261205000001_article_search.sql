-- Full-text search on the timeline (`GET /v1/articles?q=`): mirrors
-- migrations/postgres/20261205000001_article_search.sql with FTS5. Contentless (the text stays in `articles`
-- only), one row per article under the article's id. The store writes each row in the transaction that inserts
-- the article, with HTML tags dropped and entities decoded, and the same caps as Postgres (store/sqlite/
-- search_index.rs). No diacritics folding and no stemming, as Postgres's 'simple' configuration.
CREATE VIRTUAL TABLE articles_search USING fts5 (
    title, summary, content,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- Articles stored before this migration are indexed as they are, tags and all.
INSERT INTO articles_search (rowid, title, summary, content)
SELECT id, substr(coalesce(title, ''), 1, 1000), substr(coalesce(summary, ''), 1, 10000),
       substr(coalesce(content, ''), 1, 100000)
FROM articles;

-- An article leaves the index with its row (a feed's deletion cascades to its articles).
CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
    DELETE FROM articles_search WHERE rowid = old.id;
END;
