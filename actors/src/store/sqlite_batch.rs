//! The persistence actor's flush on SQLite: many feeds' entries in one write transaction, row by row
//! through statements that the connection prepares once and reuses.

use std::collections::{HashMap, HashSet};

use sqlx::{Sqlite, SqliteConnection};

use super::sqlite::{now_micros, sqlite_error, SqliteStore};
use super::sqlite_rows::micros;
use super::{FeedBatch, StoreError, StoredArticle, StoredBatch};
use crate::domain::{ArticleId, FeedId};
use crate::parse::Entry;

/// Each entry's article id by (feed, dedupe key), and how many of each feed's articles are new.
#[derive(Default)]
struct Resolved<'a> {
    ids: HashMap<(FeedId, &'a str), ArticleId>,
    new_counts: HashMap<FeedId, usize>,
}

pub(super) async fn persist(store: &SqliteStore, batches: &[FeedBatch]) -> Result<Vec<StoredBatch>, StoreError> {
    let unique: Vec<Vec<&Entry>> = batches.iter().map(first_of_each_key).collect();
    let fetched_at = now_micros();
    let mut resolved = Resolved::default();

    let mut transaction = store.begin_write().await?;
    for (batch, entries) in batches.iter().zip(&unique) {
        let new_ids = store_entries(&mut transaction, batch, entries, fetched_at, &mut resolved).await?;
        link_to_subscribers(&mut transaction, batch.feed_id, &new_ids).await?;
        record_poll_state(&mut transaction, batch).await?;
    }
    transaction.commit().await.map_err(sqlite_error)?;

    Ok(batches
        .iter()
        .zip(&unique)
        .map(|(batch, entries)| StoredBatch {
            feed_id: batch.feed_id,
            articles: entries
                .iter()
                .filter_map(|entry| {
                    resolved
                        .ids
                        .get(&(batch.feed_id, entry.dedupe_key.as_str()))
                        .map(|id| StoredArticle {
                            id: *id,
                            title: entry.title.clone(),
                            link: entry.url.clone(),
                        })
                })
                .collect(),
            // Counted per feed, as the Postgres flush does: a feed listed twice gets the sum in both.
            new_count: resolved.new_counts.get(&batch.feed_id).copied().unwrap_or(0),
        })
        .collect())
}

/// Inserts the batch's entries that are new and resolves every entry's id; returns the ids of the new ones.
async fn store_entries<'a>(
    connection: &mut SqliteConnection,
    batch: &FeedBatch,
    entries: &[&'a Entry],
    fetched_at: i64,
    resolved: &mut Resolved<'a>,
) -> Result<Vec<ArticleId>, StoreError> {
    let mut new_ids = Vec::new();
    for entry in entries {
        let key = (batch.feed_id, entry.dedupe_key.as_str());
        // The same feed may come twice in one flush; its entries are already resolved.
        if resolved.ids.contains_key(&key) {
            continue;
        }
        let id = match insert_article(&mut *connection, batch, entry, fetched_at).await? {
            Some(id) => {
                new_ids.push(id);
                *resolved.new_counts.entry(batch.feed_id).or_default() += 1;
                id
            }
            // Stored by an earlier poll: look its id up, for the cache entry.
            None => sqlx::query_scalar("SELECT id FROM articles WHERE feed_id = $1 AND dedupe_key = $2")
                .bind(batch.feed_id)
                .bind(&entry.dedupe_key)
                .fetch_one(&mut *connection)
                .await
                .map_err(sqlite_error)?,
        };
        resolved.ids.insert(key, id);
    }
    Ok(new_ids)
}

/// The new article's id, or `None` when the feed already has an article with this key.
async fn insert_article(
    connection: &mut SqliteConnection,
    batch: &FeedBatch,
    entry: &Entry,
    fetched_at: i64,
) -> Result<Option<ArticleId>, StoreError> {
    let categories = serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".to_owned());
    // An undated entry takes its place on the timeline from the poll that first saw it.
    let published_at = micros(entry.published_at.unwrap_or(batch.poll.polled_at));
    sqlx::query_scalar::<Sqlite, ArticleId>(
        "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
           published_at, fetched_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (feed_id, dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(batch.feed_id)
    .bind(&entry.dedupe_key)
    .bind(&entry.guid)
    .bind(&entry.url)
    .bind(&entry.title)
    .bind(&entry.summary)
    .bind(&entry.content)
    .bind(&entry.author)
    .bind(categories)
    .bind(published_at)
    .bind(fetched_at)
    .fetch_optional(connection)
    .await
    .map_err(sqlite_error)
}

/// Links a feed's new articles, unread, to every subscriber of the feed.
async fn link_to_subscribers(
    connection: &mut SqliteConnection,
    feed: FeedId,
    new_ids: &[ArticleId],
) -> Result<(), StoreError> {
    if new_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_articles (user_id, article_id, feed_id, published_at) \
         SELECT s.user_id, a.id, a.feed_id, a.published_at \
         FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id \
         WHERE a.feed_id = $1 AND a.id IN (SELECT value FROM json_each($2)) \
         ON CONFLICT DO NOTHING",
    )
    .bind(feed)
    .bind(serde_json::Value::from(new_ids).to_string())
    .execute(connection)
    .await
    .map_err(sqlite_error)?;
    Ok(())
}

async fn record_poll_state(connection: &mut SqliteConnection, batch: &FeedBatch) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feeds SET title = COALESCE($2, title), site_url = COALESCE($3, site_url), \
           etag = $4, last_modified = $5, status = 'ok', last_polled_at = $6, \
           next_poll_at = $7, error_count = 0, last_error = NULL, dead_since = NULL \
         WHERE id = $1",
    )
    .bind(batch.feed_id)
    .bind(&batch.poll.title)
    .bind(&batch.poll.site_url)
    .bind(&batch.poll.etag)
    .bind(&batch.poll.last_modified)
    .bind(micros(batch.poll.polled_at))
    .bind(micros(batch.poll.next_poll_at))
    .execute(connection)
    .await
    .map_err(sqlite_error)?;
    Ok(())
}

/// Keeps the first of several entries with the same key: a feed that lists an entry twice stores it once.
fn first_of_each_key(batch: &FeedBatch) -> Vec<&Entry> {
    let mut seen = HashSet::with_capacity(batch.entries.len());
    batch
        .entries
        .iter()
        .filter(|entry| seen.insert(entry.dedupe_key.as_str()))
        .collect()
}
