//! The persistence actor's flush on SQLite: many feeds' entries in one write transaction, a few set-based
//! statements per flush instead of one per entry (each of which is a round trip to sqlx's worker thread):
//! multi-row inserts, and id lists as JSON arrays unpacked by `json_each`, since SQLite binds no arrays.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::events::{append_events_in, subscribers_of_feeds_in};
use super::feeds::feeds_not_ok;
use super::rows::{micros, now_micros};
use super::search_index::{index_articles, SearchableArticle};
use super::webhooks::{insert_article_deliveries, insert_status_deliveries};
use super::SqliteStore;
use crate::domain::{Enclosure, FeedId};
use crate::events::{address_new_articles, Event};
use crate::parse::Entry;
use crate::store::error::sqlite_error;
use crate::store::flush_result::{
    attach_events, attach_webhooks, first_of_each_key, new_articles, number_new_entries, ArticleKey, Resolved,
};
use crate::store::rows::categories_json;
use crate::store::{FeedBatch, StoreError, StoredBatch};

/// SQLite has one writer: a second flush would only wait for the first one's lock.
pub(super) const PARALLEL_FLUSHES: usize = 1;

/// A flush holds SQLite's one writer lock until it commits, and the `article.new` it stores are announced after
/// that commit: at most 1,000 rows (the engine's flush threshold, about fifty feeds' first polls) per flush, so
/// that the API's writes and the first events of a burst wait less behind it. A backlog is written in several
/// flushes, one after another. In the cold round of 10,000 feeds the store-to-wire p99 was 8.0-9.7 ms at 1,000
/// rows and 15.5-17.0 ms without a bound, and the round took 34.2-34.8 s against 36.1-36.6 s (BENCHMARKS.md).
pub(super) const MAX_FLUSH_ROWS: Option<usize> = Some(1_000);

/// A flush stores its `article.new` itself: with one writer, a separate write of the events would wait for the
/// lock behind the next flush (up to the busy handler's 100 ms naps, a few times over).
pub(super) const STORES_ARTICLE_NEW: bool = true;

/// Rows per multi-row insert: 13 parameters each, under SQLite's limit of 32,766 per statement.
const ROWS_PER_INSERT: usize = 2_500;

pub(super) async fn persist_batches(
    store: &SqliteStore,
    batches: &[FeedBatch],
) -> Result<Vec<StoredBatch>, StoreError> {
    let unique: Vec<Vec<&Entry>> = batches.iter().map(first_of_each_key).collect();
    let fetched_at = now_micros();

    let mut transaction = store.begin_write().await?;
    let resolved = store_entries(&mut transaction, batches, &unique, fetched_at).await?;
    // The feeds this flush brings back to ok: a `feed.status` goes out in this transaction.
    let feeds: Vec<FeedId> = batches.iter().map(|batch| batch.feed_id).collect();
    let recovered = feeds_not_ok(&mut transaction, &feeds).await?;
    for batch in batches {
        record_poll_state(&mut transaction, batch).await?;
    }
    let mut webhooks = insert_article_deliveries(&mut transaction, &resolved.new_article_ids()).await?;
    webhooks.extend(insert_status_deliveries(&mut transaction, &recovered).await?);
    let mut stored = resolved.into_stored(batches, &unique);
    let events = store_article_new(&mut transaction, &stored).await?;
    transaction.commit().await.map_err(sqlite_error)?;

    attach_webhooks(&mut stored, &webhooks);
    attach_events(&mut stored, events);
    Ok(stored)
}

/// Stores the `article.new` of the flush's new articles, one per subscriber, in the flush's transaction: the
/// events commit with the articles, and no second write waits for the lock to announce them.
async fn store_article_new(
    connection: &mut SqliteConnection,
    stored: &[StoredBatch],
) -> Result<Vec<Event>, StoreError> {
    let new = new_articles(stored);
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let feeds: Vec<FeedId> = new.iter().map(|new| new.feed).collect();
    let subscribers = subscribers_of_feeds_in(connection, &feeds).await?;
    append_events_in(connection, &address_new_articles(new, &subscribers)).await
}

/// Resolves every entry's id, inserting the new ones in one statement per chunk, each numbered after its feed's
/// last_seq, and moves each feed's last_seq. Nothing is written per subscriber (fan-out on read). The known
/// entries are looked up first, so the numbers have no gaps; the write lock keeps other writers out meanwhile.
async fn store_entries(
    connection: &mut SqliteConnection,
    batches: &[FeedBatch],
    unique: &[Vec<&Entry>],
    fetched_at: i64,
) -> Result<Resolved, StoreError> {
    let mut resolved = Resolved::default();
    let rows: Vec<(&FeedBatch, &Entry)> = batches
        .iter()
        .zip(unique)
        .flat_map(|(batch, entries)| entries.iter().map(move |entry| (batch, *entry)))
        .collect();
    if rows.is_empty() {
        return Ok(resolved);
    }

    // Entries stored by an earlier poll: their ids are for the cache entry.
    let keys: Vec<Value> = rows
        .iter()
        .map(|(batch, entry)| json!([batch.feed_id, entry.dedupe_key]))
        .collect();
    let found: Vec<ArticleKey> = sqlx::query_as(
        "SELECT a.id, a.feed_id, a.dedupe_key FROM json_each($1) k \
         JOIN articles a ON a.feed_id = k.value ->> 0 AND a.dedupe_key = k.value ->> 1",
    )
    .bind(Value::Array(keys).to_string())
    .fetch_all(&mut *connection)
    .await
    .map_err(sqlite_error)?;
    for article in found {
        resolved.known(article);
    }

    let new_feeds: BTreeSet<FeedId> = rows
        .iter()
        .filter(|(batch, entry)| resolved.id_of(batch.feed_id, &entry.dedupe_key).is_none())
        .map(|(batch, _)| batch.feed_id)
        .collect();
    if new_feeds.is_empty() {
        return Ok(resolved);
    }
    let mut last_seq = feeds_last_seq(connection, new_feeds).await?;
    let numbered = number_new_entries(batches, unique, &resolved, &mut last_seq);

    for chunk in numbered.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
               published_at, fetched_at, enclosures, seq) ",
        );
        insert.push_values(chunk, |mut row, (batch, entry, seq)| {
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
                .push_bind(Enclosure::to_column(&entry.enclosures))
                .push_bind(*seq);
        });
        insert.push(" ON CONFLICT (feed_id, dedupe_key) DO NOTHING RETURNING id, feed_id, dedupe_key");
        let inserted = insert
            .build_query_as::<ArticleKey>()
            .fetch_all(&mut *connection)
            .await
            .map_err(sqlite_error)?;
        let entries: HashMap<(FeedId, &str), &Entry> = chunk
            .iter()
            .map(|(batch, entry, _)| ((batch.feed_id, entry.dedupe_key.as_str()), *entry))
            .collect();
        let searchable: Vec<SearchableArticle> = inserted
            .iter()
            .filter_map(|article| {
                let entry = entries.get(&(article.feed_id, article.dedupe_key.as_str()))?;
                Some(SearchableArticle {
                    id: article.id,
                    title: entry.title.as_deref(),
                    summary: entry.summary.as_deref(),
                    content: entry.content.as_deref(),
                })
            })
            .collect();
        index_articles(connection, &searchable).await?;
        for article in inserted {
            resolved.inserted(article);
        }
    }

    let counted: Vec<Value> = last_seq.iter().map(|(feed, seq)| json!([feed, seq])).collect();
    sqlx::query(
        "UPDATE feeds SET last_seq = k.value ->> 1 FROM json_each($1) k \
         WHERE feeds.id = k.value ->> 0 AND feeds.last_seq < k.value ->> 1",
    )
    .bind(Value::Array(counted).to_string())
    .execute(&mut *connection)
    .await
    .map_err(sqlite_error)?;
    Ok(resolved)
}

/// The last_seq of each of `feeds`.
async fn feeds_last_seq(
    connection: &mut SqliteConnection,
    feeds: BTreeSet<FeedId>,
) -> Result<HashMap<FeedId, i64>, StoreError> {
    let ids = Value::from(feeds.into_iter().collect::<Vec<_>>()).to_string();
    let found: Vec<(FeedId, i64)> =
        sqlx::query_as("SELECT f.id, f.last_seq FROM json_each($1) k JOIN feeds f ON f.id = k.value")
            .bind(ids)
            .fetch_all(&mut *connection)
            .await
            .map_err(sqlite_error)?;
    Ok(found.into_iter().collect())
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
