//! The persistence actor's flush on SQLite: many feeds' entries in one write transaction, a few set-based
//! statements per flush instead of one per entry (each of which is a round trip to sqlx's worker thread):
//! multi-row inserts, and id lists as JSON arrays unpacked by `json_each`, since SQLite binds no arrays.

use serde_json::{json, Value};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::{micros, now_micros};
use super::SqliteStore;
use crate::domain::{ArticleId, Enclosure};
use crate::parse::Entry;
use crate::store::error::sqlite_error;
use crate::store::flush_result::{first_of_each_key, ArticleKey, Resolved};
use crate::store::rows::categories_json;
use crate::store::{FeedBatch, StoreError, StoredBatch};

/// SQLite has one writer: a second flush would only wait for the first one's lock.
pub(super) const PARALLEL_FLUSHES: usize = 1;

/// Rows per multi-row insert: 12 parameters each, under SQLite's limit of 32,766 per statement.
const ROWS_PER_INSERT: usize = 2_500;

pub(super) async fn persist_batches(
    store: &SqliteStore,
    batches: &[FeedBatch],
) -> Result<Vec<StoredBatch>, StoreError> {
    let unique: Vec<Vec<&Entry>> = batches.iter().map(first_of_each_key).collect();
    let fetched_at = now_micros();

    let mut transaction = store.begin_write().await?;
    let (resolved, new_ids) = store_entries(&mut transaction, batches, &unique, fetched_at).await?;
    link_to_subscribers(&mut transaction, &new_ids).await?;
    for batch in batches {
        record_poll_state(&mut transaction, batch).await?;
    }
    transaction.commit().await.map_err(sqlite_error)?;

    Ok(resolved.into_stored(batches, &unique))
}

/// Inserts every entry that is new, in one statement, and resolves every entry's id; returns the ids of the
/// new ones too.
async fn store_entries(
    connection: &mut SqliteConnection,
    batches: &[FeedBatch],
    unique: &[Vec<&Entry>],
    fetched_at: i64,
) -> Result<(Resolved, Vec<ArticleId>), StoreError> {
    let mut resolved = Resolved::default();
    let rows: Vec<(&FeedBatch, &Entry)> = batches
        .iter()
        .zip(unique)
        .flat_map(|(batch, entries)| entries.iter().map(move |entry| (batch, *entry)))
        .collect();
    let mut inserted: Vec<ArticleKey> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
               published_at, fetched_at, enclosures) ",
        );
        insert.push_values(chunk, |mut row, (batch, entry)| {
            let categories = categories_json(&entry.categories);
            // An undated entry takes its place on the timeline from the poll that first saw it.
            let published_at = micros(entry.published_at.unwrap_or(batch.poll.polled_at));
            row.push_bind(batch.feed_id)
                .push_bind(&entry.dedupe_key)
                .push_bind(&entry.guid)
                .push_bind(&entry.url)
                .push_bind(&entry.title)
                .push_bind(&entry.summary)
                .push_bind(&entry.content)
                .push_bind(&entry.author)
                .push_bind(categories)
                .push_bind(published_at)
                .push_bind(fetched_at)
                .push_bind(Enclosure::to_column(&entry.enclosures));
        });
        insert.push(" ON CONFLICT (feed_id, dedupe_key) DO NOTHING RETURNING id, feed_id, dedupe_key");
        inserted.extend(
            insert
                .build_query_as::<ArticleKey>()
                .fetch_all(&mut *connection)
                .await
                .map_err(sqlite_error)?,
        );
    }
    let mut new_ids = Vec::with_capacity(inserted.len());
    for article in inserted {
        new_ids.push(article.id);
        resolved.inserted(article);
    }

    // Entries stored by an earlier poll: look their ids up, for the cache entry.
    let known: Vec<Value> = batches
        .iter()
        .zip(unique)
        .flat_map(|(batch, entries)| entries.iter().map(move |entry| (batch.feed_id, entry)))
        .filter(|(feed_id, entry)| resolved.id_of(*feed_id, &entry.dedupe_key).is_none())
        .map(|(feed_id, entry)| json!([feed_id, entry.dedupe_key]))
        .collect();
    if !known.is_empty() {
        let found: Vec<ArticleKey> = sqlx::query_as(
            "SELECT a.id, a.feed_id, a.dedupe_key FROM json_each($1) k \
             JOIN articles a ON a.feed_id = k.value ->> 0 AND a.dedupe_key = k.value ->> 1",
        )
        .bind(Value::Array(known).to_string())
        .fetch_all(&mut *connection)
        .await
        .map_err(sqlite_error)?;
        for article in found {
            resolved.known(article);
        }
    }
    Ok((resolved, new_ids))
}

/// Links the new articles, unread, to every subscriber of their feeds.
async fn link_to_subscribers(connection: &mut SqliteConnection, new_ids: &[ArticleId]) -> Result<(), StoreError> {
    if new_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_articles (user_id, article_id, feed_id, published_at) \
         SELECT s.user_id, a.id, a.feed_id, a.published_at \
         FROM json_each($1) n JOIN articles a ON a.id = n.value JOIN subscriptions s ON s.feed_id = a.feed_id \
         WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(Value::from(new_ids).to_string())
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
