//! Seeding the search scenario directly in the database: feeds subscribed by one user, and their articles with
//! written text (`search_text`), oldest first so that ids grow with time as when the engine stores them. Postgres
//! takes the articles in one `COPY`, its generated `search_vector` computed per row as on any insert, with the
//! GIN index dropped before and built again after (the migration's definition) then `VACUUM ANALYZE` (and `ANALYZE` of the feeds and subscriptions); SQLite in
//! multi-row inserts, 20,000 articles a transaction, each article's `articles_search` row written in the same
//! transaction with the same statement as the store's (`store/sqlite/search_index.rs`; the text has no HTML, so
//! the tag stripping there leaves it as it is).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};
use syndic_testkit::database::BackendStore;

use crate::search_text::{ArticleText, ArticleWriter};

/// Where the seeded feeds point: the discard port, never polled (their next poll is a day away).
const SEARCH_URL_PREFIX: &str = "http://127.0.0.1:9/search/";
/// Articles per SQLite transaction, and rows per multi-row insert (10 binds each, under SQLite's 32,766).
const SQLITE_TRANSACTION: usize = 20_000;
const SQLITE_ROWS: usize = 500;
/// Bytes of COPY data sent at once.
const COPY_CHUNK: usize = 4 << 20;

/// What was seeded, and the time the index took apart (Postgres's GIN build and vacuum; none on SQLite, where
/// the index is written with the articles).
#[derive(Debug, Clone, Default)]
pub struct SeededSearch {
    pub feeds: usize,
    pub articles: usize,
    pub text_bytes: u64,
    pub index_elapsed: Duration,
}

/// One article to insert.
struct SeedArticle {
    feed_id: i64,
    /// 1 is the feed's oldest.
    seq: i64,
    published_at: DateTime<Utc>,
}

/// Seeds `feeds` feeds of `per_feed` articles each, all subscribed by `username` (who must exist). The feeds'
/// articles interleave in time, a second apart, the newest a second ago.
pub async fn seed_search(
    store: &BackendStore,
    username: &str,
    feeds: usize,
    per_feed: usize,
    seed: u64,
) -> anyhow::Result<SeededSearch> {
    let feed_ids = seed_feeds(store, username, feeds, per_feed).await?;
    let now = Utc::now();
    let total = i64::try_from(feeds * per_feed)?;
    // Oldest first: article k (0-based) of all is published (total - k) seconds ago.
    let articles = (0..per_feed).flat_map(move |round| {
        let feed_ids = feed_ids.clone();
        feed_ids.into_iter().enumerate().map(move |(index, feed_id)| {
            let k = i64::try_from(round * feeds + index).expect("fits");
            SeedArticle {
                feed_id,
                seq: i64::try_from(round).expect("fits") + 1,
                published_at: now - chrono::Duration::seconds(total - k),
            }
        })
    });
    let mut writer = ArticleWriter::new(seed);
    let mut seeded = match store {
        BackendStore::Postgres(store) => copy_articles(store.pool(), articles, &mut writer).await?,
        BackendStore::Sqlite(store) => insert_articles(store.pool(), articles, &mut writer).await?,
    };
    seeded.feeds = feeds;
    Ok(seeded)
}

/// The feeds and the subscriptions, in one transaction; the feeds' ids in id order.
async fn seed_feeds(store: &BackendStore, username: &str, feeds: usize, per_feed: usize) -> anyhow::Result<Vec<i64>> {
    let (feeds, per_feed) = (i64::try_from(feeds)?, i64::try_from(per_feed)?);
    let pattern = format!("{SEARCH_URL_PREFIX}%");
    let (insert, subscribe, list) = match store {
        BackendStore::Postgres(_) => (
            "INSERT INTO feeds (url, title, status, last_polled_at, next_poll_at, last_seq) \
             SELECT $2 || i || '.xml', 'Search feed ' || i, 'ok', now(), now() + interval '1 day', $3 \
             FROM generate_series(1, $1::bigint) AS i",
            "INSERT INTO subscriptions (user_id, feed_id) \
             SELECT u.id, f.id FROM users u, feeds f WHERE u.username = $1 AND f.url LIKE $2",
            "SELECT id FROM feeds WHERE url LIKE $1 ORDER BY id",
        ),
        BackendStore::Sqlite(_) => (
            "INSERT INTO feeds (url, title, status, last_polled_at, next_poll_at, last_seq) \
             WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < ?1) \
             SELECT ?2 || i || '.xml', 'Search feed ' || i, 'ok', \
                    CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), \
                    CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 86400000000, ?3 \
             FROM series",
            "INSERT INTO subscriptions (user_id, feed_id) \
             SELECT u.id, f.id FROM users u, feeds f WHERE u.username = ?1 AND f.url LIKE ?2",
            "SELECT id FROM feeds WHERE url LIKE ?1 ORDER BY id",
        ),
    };
    macro_rules! seed_on {
        ($store:expr) => {{
            let mut transaction = $store.pool().begin().await?;
            sqlx::query(insert)
                .bind(feeds)
                .bind(SEARCH_URL_PREFIX)
                .bind(per_feed)
                .execute(&mut *transaction)
                .await?;
            sqlx::query(subscribe)
                .bind(username)
                .bind(&pattern)
                .execute(&mut *transaction)
                .await?;
            let ids: Vec<i64> = sqlx::query_scalar(list)
                .bind(&pattern)
                .fetch_all(&mut *transaction)
                .await?;
            transaction.commit().await?;
            ids
        }};
    }
    Ok(match store {
        BackendStore::Postgres(store) => seed_on!(store),
        BackendStore::Sqlite(store) => seed_on!(store),
    })
}

async fn copy_articles(
    pool: &sqlx::PgPool,
    articles: impl Iterator<Item = SeedArticle>,
    writer: &mut ArticleWriter,
) -> anyhow::Result<SeededSearch> {
    use std::fmt::Write;
    let mut seeded = SeededSearch::default();
    sqlx::query("DROP INDEX articles_search").execute(pool).await?;
    let mut transaction = pool.begin().await?;
    let mut copy = transaction
        .copy_in_raw(
            "COPY articles (feed_id, dedupe_key, guid, url, title, summary, content, published_at, fetched_at, seq) \
             FROM STDIN",
        )
        .await?;
    let mut text = ArticleText::default();
    let mut buffer = String::with_capacity(COPY_CHUNK + (64 << 10));
    let fetched_at = Utc::now().format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    for article in articles {
        writer.write(&mut text);
        seeded.articles += 1;
        seeded.text_bytes += (text.title.len() + text.summary.len() + text.content.len()) as u64;
        // The text is letters and spaces: nothing to escape in COPY's text format.
        writeln!(
            buffer,
            "{feed}\tsearch-{seq}\tsearch-{feed}-{seq}\t{SEARCH_URL_PREFIX}{feed}/{seq}\t{}\t{}\t{}\t{}\t{fetched_at}\t{seq}",
            text.title,
            text.summary,
            text.content,
            article.published_at.format("%Y-%m-%d %H:%M:%S+00"),
            feed = article.feed_id,
            seq = article.seq,
        )?;
        if buffer.len() >= COPY_CHUNK {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    copy.finish().await?;
    transaction.commit().await?;

    let started = Instant::now();
    let mut connection = pool.acquire().await?;
    sqlx::query("SET maintenance_work_mem = '1GB'")
        .execute(&mut *connection)
        .await?;
    sqlx::query("CREATE INDEX articles_search ON articles USING gin (search_vector)")
        .execute(&mut *connection)
        .await?;
    sqlx::query("VACUUM ANALYZE articles").execute(&mut *connection).await?;
    // The new feeds and subscriptions too: with no statistics the planner takes the user's subscriptions for a
    // handful of rows and probes the search index once per feed.
    sqlx::query("ANALYZE feeds, subscriptions")
        .execute(&mut *connection)
        .await?;
    seeded.index_elapsed = started.elapsed();
    Ok(seeded)
}

async fn insert_articles(
    pool: &sqlx::SqlitePool,
    articles: impl Iterator<Item = SeedArticle>,
    writer: &mut ArticleWriter,
) -> anyhow::Result<SeededSearch> {
    let mut seeded = SeededSearch::default();
    let mut next_id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM articles")
        .fetch_one(pool)
        .await?;
    let fetched_at = Utc::now().timestamp_micros();
    let mut batch: Vec<(i64, SeedArticle, ArticleText)> = Vec::with_capacity(SQLITE_TRANSACTION);
    let mut articles = articles.peekable();
    while articles.peek().is_some() {
        batch.clear();
        for article in articles.by_ref().take(SQLITE_TRANSACTION) {
            let mut text = ArticleText::default();
            writer.write(&mut text);
            seeded.text_bytes += (text.title.len() + text.summary.len() + text.content.len()) as u64;
            batch.push((next_id, article, text));
            next_id += 1;
        }
        seeded.articles += batch.len();
        let mut transaction = pool.begin().await?;
        for rows in batch.chunks(SQLITE_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO articles (id, feed_id, dedupe_key, guid, url, title, summary, content, published_at, \
                 fetched_at, seq) ",
            );
            insert.push_values(rows, |mut row, (id, article, text)| {
                row.push_bind(*id)
                    .push_bind(article.feed_id)
                    .push_bind(format!("search-{}", article.seq))
                    .push_bind(format!("search-{}-{}", article.feed_id, article.seq))
                    .push_bind(format!("{SEARCH_URL_PREFIX}{}/{}", article.feed_id, article.seq))
                    .push_bind(text.title.as_str())
                    .push_bind(text.summary.as_str())
                    .push_bind(text.content.as_str())
                    .push_bind(article.published_at.timestamp_micros())
                    .push_bind(fetched_at)
                    .push_bind(article.seq);
            });
            insert.build().execute(&mut *transaction).await?;
            // The store's statement (`search_index::index_articles`), with the same text.
            let mut index =
                QueryBuilder::<Sqlite>::new("INSERT INTO articles_search (rowid, title, summary, content) ");
            index.push_values(rows, |mut row, (id, _, text)| {
                row.push_bind(*id)
                    .push_bind(text.title.as_str())
                    .push_bind(text.summary.as_str())
                    .push_bind(text.content.as_str());
            });
            index.build().execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
    }
    Ok(seeded)
}

/// The database's size on disk, and its search index's where the backend says (Postgres; SQLite when its
/// `dbstat` table is compiled in).
pub async fn database_size(store: &BackendStore) -> anyhow::Result<(u64, Option<u64>)> {
    Ok(match store {
        BackendStore::Postgres(store) => {
            let (database, index): (i64, i64) =
                sqlx::query_as("SELECT pg_database_size(current_database()), pg_relation_size('articles_search')")
                    .fetch_one(store.pool())
                    .await?;
            (u64::try_from(database)?, Some(u64::try_from(index)?))
        }
        BackendStore::Sqlite(store) => {
            let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(store.pool()).await?;
            let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(store.pool()).await?;
            let index: Option<i64> =
                sqlx::query_scalar("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'articles_search%'")
                    .fetch_one(store.pool())
                    .await
                    .ok()
                    .flatten();
            (
                u64::try_from(pages * page_size)?,
                index.and_then(|bytes| u64::try_from(bytes).ok()),
            )
        }
    })
}
