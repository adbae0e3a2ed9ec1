//! Seeding directly in the database, one transaction each: a user's timeline for the timeline-read scenario (the
//! feeds, the subscriptions, the articles, and whatever per-user rows the current schema reads a timeline from),
//! idle subscribed feeds for the million scenario, and subscribed feeds on the farm, with their ETags, for the
//! sustained scenario.
//! Today that is fan-out on read: articles numbered per feed, a read cutoff per subscription, and a mark per
//! article the user read above it, counted on the subscription. A schema change touches this file for seeding, and
//! `LoadDatabase::users_holding_articles_after` for the popular-feed check.

use syndic_testkit::database::BackendStore;

/// Where the seeded feeds point: the discard port, never polled (the engine has no actor for them, and their
/// next poll is a day away).
const SEEDED_URL_PREFIX: &str = "http://127.0.0.1:9/seeded/";
/// Where the million scenario's idle feeds point; the discard port as well.
const IDLE_URL_PREFIX: &str = "http://127.0.0.1:9/idle/";

/// Runs each statement with the same five binds, all in one transaction, on either backend's pool.
macro_rules! in_one_transaction {
    ($store:expr, $statements:expr, $binds:expr) => {{
        let mut transaction = $store.pool().begin().await?;
        for statement in $statements {
            sqlx::query(statement)
                .bind($binds.0)
                .bind($binds.1)
                .bind($binds.2)
                .bind($binds.3)
                .bind($binds.4)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
    }};
}

/// What was seeded.
#[derive(Debug, Clone, Copy)]
pub struct SeededTimeline {
    pub feeds: usize,
    pub articles: i64,
    /// Articles left unread: every article with an odd id is unread, the others read.
    pub unread: i64,
}

/// Seeds `feeds` feeds of `articles_per_feed` articles each, all subscribed by the user `username` (who must
/// exist), half of them read. Feeds' articles interleave in time, a second apart.
pub async fn seed_timeline(
    store: &BackendStore,
    username: &str,
    feeds: usize,
    articles_per_feed: usize,
) -> anyhow::Result<SeededTimeline> {
    let (feeds_bound, per_feed_bound) = (i64::try_from(feeds)?, i64::try_from(articles_per_feed)?);
    let pattern = format!("{SEEDED_URL_PREFIX}%");
    let binds = (
        feeds_bound,
        per_feed_bound,
        username,
        SEEDED_URL_PREFIX,
        pattern.as_str(),
    );
    match store {
        BackendStore::Postgres(store) => in_one_transaction!(store, postgres::STATEMENTS, binds),
        BackendStore::Sqlite(store) => in_one_transaction!(store, sqlite::STATEMENTS, binds),
    }
    let articles = feeds_bound * per_feed_bound;
    let unread = count_unread(store, username).await?;
    Ok(SeededTimeline {
        feeds,
        articles,
        unread,
    })
}

async fn count_unread(store: &BackendStore, username: &str) -> anyhow::Result<i64> {
    let query = "SELECT CAST(COALESCE(sum(f.last_seq - s.read_through_seq - s.marked_read + s.marked_unread), 0) \
                   AS BIGINT) \
                 FROM subscriptions s JOIN feeds f ON f.id = s.feed_id \
                 WHERE s.user_id = (SELECT id FROM users WHERE username = $1)";
    Ok(match store {
        BackendStore::Postgres(store) => sqlx::query_scalar(query).bind(username).fetch_one(store.pool()).await?,
        BackendStore::Sqlite(store) => sqlx::query_scalar(query).bind(username).fetch_one(store.pool()).await?,
    })
}

/// Postgres: `generate_series`. Every statement takes the same binds: $1 feeds, $2 articles per feed,
/// $3 username, $4 URL prefix, $5 URL pattern (unused binds are cast so their types are known).
mod postgres {
    pub const STATEMENTS: [&str; 5] = [
        "INSERT INTO feeds (url, title, status, last_polled_at, next_poll_at, last_seq) \
         SELECT $4 || i || '.xml', 'Seeded feed ' || i, 'ok', now(), now() + interval '1 day', $2::bigint \
         FROM generate_series(1, $1::bigint) AS i WHERE $3::text IS NOT NULL AND $5::text IS NOT NULL",
        "INSERT INTO subscriptions (user_id, feed_id) \
         SELECT u.id, f.id FROM users u, feeds f WHERE u.username = $3 AND f.url LIKE $5 \
         AND $1::bigint >= 0 AND $2::bigint >= 0 AND $4::text IS NOT NULL",
        "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, published_at, fetched_at, seq) \
         SELECT f.id, 'seeded-' || n, 'seeded-' || f.id || '-' || n, $4 || f.id || '/' || n, \
                'Seeded article ' || n || ' of feed ' || f.id, 'A seeded article.', \
                now() - (n * $1::bigint + f.id) * interval '1 second', now(), $2::bigint + 1 - n \
         FROM feeds f CROSS JOIN generate_series(1, $2::bigint) AS n WHERE f.url LIKE $5 AND $3::text IS NOT NULL",
        // Fan-out on read: the subscriber's cutoff stays at 0 (everything unread) and every article with an even
        // id is marked read.
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT s.user_id, a.id, a.feed_id, a.published_at, true, now() \
         FROM users u JOIN subscriptions s ON s.user_id = u.id JOIN articles a ON a.feed_id = s.feed_id \
         WHERE u.username = $3 AND a.id % 2 = 0 AND $1::bigint >= 0 AND $2::bigint >= 0 \
         AND $4::text IS NOT NULL AND $5::text IS NOT NULL",
        "UPDATE subscriptions s SET marked_read = (SELECT count(*) FROM article_marks m \
           WHERE m.user_id = s.user_id AND m.feed_id = s.feed_id AND m.read_mark) \
         FROM users u WHERE u.id = s.user_id AND u.username = $3 AND $1::bigint >= 0 AND $2::bigint >= 0 \
         AND $4::text IS NOT NULL AND $5::text IS NOT NULL",
    ];
}

/// SQLite: a recursive series; times are microseconds since the epoch. Same binds as on Postgres (?1..?5).
mod sqlite {
    pub const STATEMENTS: [&str; 5] = [
        "INSERT INTO feeds (url, title, status, last_polled_at, next_poll_at, last_seq) \
         WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < ?1) \
         SELECT ?4 || i || '.xml', 'Seeded feed ' || i, 'ok', \
                CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), \
                CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 86400000000, ?2 \
         FROM series WHERE ?3 IS NOT NULL AND ?5 IS NOT NULL",
        "INSERT INTO subscriptions (user_id, feed_id) \
         SELECT u.id, f.id FROM users u, feeds f WHERE u.username = ?3 AND f.url LIKE ?5 \
         AND ?1 >= 0 AND ?2 >= 0 AND ?4 IS NOT NULL",
        "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, published_at, fetched_at, seq) \
         WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ?2) \
         SELECT f.id, 'seeded-' || n, 'seeded-' || f.id || '-' || n, ?4 || f.id || '/' || n, \
                'Seeded article ' || n || ' of feed ' || f.id, 'A seeded article.', \
                CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) - (n * ?1 + f.id) * 1000000, \
                CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), ?2 + 1 - n \
         FROM feeds f CROSS JOIN series WHERE f.url LIKE ?5 AND ?3 IS NOT NULL",
        // Fan-out on read: the cutoff stays at 0 and every article with an even id is marked read.
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT s.user_id, a.id, a.feed_id, a.published_at, 1, \
                CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) \
         FROM users u JOIN subscriptions s ON s.user_id = u.id JOIN articles a ON a.feed_id = s.feed_id \
         WHERE u.username = ?3 AND a.id % 2 = 0 AND ?1 >= 0 AND ?2 >= 0 AND ?4 IS NOT NULL AND ?5 IS NOT NULL",
        "UPDATE subscriptions SET marked_read = (SELECT count(*) FROM article_marks m \
           WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id AND m.read_mark = 1) \
         WHERE user_id = (SELECT id FROM users WHERE username = ?3) AND ?1 >= 0 AND ?2 >= 0 \
         AND ?4 IS NOT NULL AND ?5 IS NOT NULL",
    ];
}

/// Seeds `feeds` feeds, none due for an hour (so nothing is fetched), all subscribed by the user `username`
/// (who must exist): the idle actors of the million scenario.
pub async fn seed_idle_feeds(store: &BackendStore, username: &str, feeds: usize) -> anyhow::Result<()> {
    let feeds = i64::try_from(feeds)?;
    let pattern = format!("{IDLE_URL_PREFIX}%");
    match store {
        BackendStore::Postgres(store) => {
            let mut transaction = store.pool().begin().await?;
            sqlx::query(
                "INSERT INTO feeds (url, status, next_poll_at) \
                 SELECT $2 || n || '.xml', 'ok', now() + interval '1 hour' FROM generate_series(1, $1::bigint) n",
            )
            .bind(feeds)
            .bind(IDLE_URL_PREFIX)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO subscriptions (user_id, feed_id) \
                 SELECT u.id, f.id FROM users u, feeds f WHERE u.username = $1 AND f.url LIKE $2",
            )
            .bind(username)
            .bind(&pattern)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
        }
        BackendStore::Sqlite(store) => {
            let mut transaction = store.pool().begin().await?;
            sqlx::query(
                "INSERT INTO feeds (url, status, next_poll_at) \
                 WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ?1) \
                 SELECT ?2 || n || '.xml', 'ok', \
                        CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 3600000000 FROM series",
            )
            .bind(feeds)
            .bind(IDLE_URL_PREFIX)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO subscriptions (user_id, feed_id) \
                 SELECT u.id, f.id FROM users u, feeds f WHERE u.username = ?1 AND f.url LIKE ?2",
            )
            .bind(username)
            .bind(&pattern)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
        }
    }
    Ok(())
}

/// Seeds `feeds` subscribed feeds of the user `username` (who must exist) at `{url_prefix}{index}.xml`, index 0 to
/// `feeds - 1`, each with the ETag the farm gives that feed before it changes (`"{index}-0"`, `farm::etag`), so
/// that the first poll is already a 304. The farm serves a feed by its index whatever the extension. No
/// `next_poll_at`: as for a feed never polled, the engine spreads each first poll over its start-up window.
pub async fn seed_polled_feeds(
    store: &BackendStore,
    username: &str,
    url_prefix: &str,
    feeds: usize,
) -> anyhow::Result<()> {
    let feeds = i64::try_from(feeds)?;
    let pattern = format!("{url_prefix}%");
    let (insert, subscribe) = match store {
        BackendStore::Postgres(_) => (
            "INSERT INTO feeds (url, status, etag) \
             SELECT $2 || n || '.xml', 'ok', '\"' || n || '-0\"' FROM generate_series(0, $1::bigint - 1) n",
            "INSERT INTO subscriptions (user_id, feed_id) \
             SELECT u.id, f.id FROM users u, feeds f WHERE u.username = $1 AND f.url LIKE $2",
        ),
        BackendStore::Sqlite(_) => (
            "INSERT INTO feeds (url, status, etag) \
             WITH RECURSIVE series(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM series WHERE n + 1 < ?1) \
             SELECT ?2 || n || '.xml', 'ok', '\"' || n || '-0\"' FROM series WHERE ?1 > 0",
            "INSERT INTO subscriptions (user_id, feed_id) \
             SELECT u.id, f.id FROM users u, feeds f WHERE u.username = ?1 AND f.url LIKE ?2",
        ),
    };
    macro_rules! seed_on {
        ($store:expr) => {{
            let mut transaction = $store.pool().begin().await?;
            sqlx::query(insert)
                .bind(feeds)
                .bind(url_prefix)
                .execute(&mut *transaction)
                .await?;
            sqlx::query(subscribe)
                .bind(username)
                .bind(&pattern)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
        }};
    }
    match store {
        BackendStore::Postgres(store) => seed_on!(store),
        BackendStore::Sqlite(store) => seed_on!(store),
    }
    Ok(())
}
