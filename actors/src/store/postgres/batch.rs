//! The persistence actor's flush on Postgres: many feeds' entries in one transaction, by UNNEST, each article
//! written once for its feed (fan-out on read).

use std::collections::HashMap;

use super::webhooks::{insert_article_deliveries, insert_status_deliveries};
use super::PostgresStore;
use crate::domain::{Enclosure, FeedId};
use crate::events::FeedStatusChange;
use crate::parse::Entry;
use crate::store::flush_result::{attach_webhooks, first_of_each_key, number_new_entries, ArticleKey, Resolved};
use crate::store::rows::categories_json;
use crate::store::{FeedBatch, StoreError, StoredBatch};

/// A flush keeps one backend busy, and batches of different feeds touch different rows: two at once let a
/// second core write while the first is (BENCHMARKS.md, third session).
pub(super) const PARALLEL_FLUSHES: usize = 2;

/// The engine's bound stands: two flushes write at once, and other writers do not wait for a flush's lock.
pub(super) const MAX_FLUSH_ROWS: Option<usize> = None;

/// The event bus stores a flush's `article.new` after the commit: numbering them in the flush would lock each
/// subscriber's counter, and the two parallel flushes (and the bus) would wait for each other on the users that
/// follow both of their feeds.
pub(super) const STORES_ARTICLE_NEW: bool = false;

/// Column arrays for one UNNEST insert, borrowed from the batches: encoding is the only copy.
#[derive(Default)]
struct ArticleColumns<'a> {
    feed_ids: Vec<FeedId>,
    keys: Vec<&'a str>,
    guids: Vec<Option<&'a str>>,
    urls: Vec<Option<&'a str>>,
    titles: Vec<Option<&'a str>>,
    summaries: Vec<Option<&'a str>>,
    contents: Vec<Option<&'a str>>,
    authors: Vec<Option<&'a str>>,
    /// JSON arrays: UNNEST cannot take a ragged text[][].
    categories: Vec<String>,
    /// JSON arrays, NULL when an entry has none.
    enclosures: Vec<Option<String>>,
    published: Vec<chrono::DateTime<chrono::Utc>>,
    seqs: Vec<i64>,
}

impl<'a> ArticleColumns<'a> {
    fn push(&mut self, batch: &FeedBatch, entry: &'a Entry, seq: i64) {
        self.feed_ids.push(batch.feed_id);
        self.keys.push(&entry.dedupe_key);
        self.guids.push(entry.guid.as_deref());
        self.urls.push(entry.url.as_deref());
        self.titles.push(entry.title.as_deref());
        self.summaries.push(entry.summary.as_deref());
        self.contents.push(entry.content.as_deref());
        self.authors.push(entry.author.as_deref());
        self.categories.push(categories_json(&entry.categories));
        self.enclosures.push(Enclosure::to_column(&entry.enclosures));
        // An undated entry takes its place on the timeline from the poll that first saw it.
        self.published.push(entry.published_at.unwrap_or(batch.poll.polled_at));
        self.seqs.push(seq);
    }
}

pub(super) async fn persist_batches(
    store: &PostgresStore,
    batches: &[FeedBatch],
) -> Result<Vec<StoredBatch>, StoreError> {
    let unique: Vec<Vec<&Entry>> = batches.iter().map(first_of_each_key).collect();
    let mut all_feeds: Vec<FeedId> = Vec::new();
    let mut all_keys: Vec<&str> = Vec::new();
    for (batch, entries) in batches.iter().zip(&unique) {
        for entry in entries {
            all_feeds.push(batch.feed_id);
            all_keys.push(&entry.dedupe_key);
        }
    }

    let mut transaction = store.pool.begin().await?;
    // Each feed's articles are numbered on from its last_seq: the feeds' rows are locked first, in id order, so
    // that no other flush numbers the same feed meanwhile (the persistence actor never runs two for one feed).
    let mut feed_ids: Vec<FeedId> = batches.iter().map(|batch| batch.feed_id).collect();
    feed_ids.sort_unstable();
    feed_ids.dedup();
    let locked: Vec<(FeedId, i64, String)> =
        sqlx::query_as("SELECT id, last_seq, status FROM feeds WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&feed_ids)
            .fetch_all(&mut *transaction)
            .await?;
    // The feeds this flush brings back to ok: a `feed.status` goes out in this transaction.
    let recovered: Vec<FeedStatusChange> = locked
        .iter()
        .filter(|(_, _, status)| status != "ok")
        .map(|(feed, ..)| FeedStatusChange::ok(*feed))
        .collect();
    let mut last_seq: HashMap<FeedId, i64> = locked.into_iter().map(|(feed, seq, _)| (feed, seq)).collect();
    // Entries stored by an earlier poll: their ids are for the cache entry, and they are not written again.
    let mut resolved = Resolved::default();
    let existing: Vec<ArticleKey> = sqlx::query_as(
        "SELECT a.id, a.feed_id, a.dedupe_key FROM articles a \
         JOIN UNNEST($1::bigint[], $2::text[]) AS k(feed_id, dedupe_key) \
           ON a.feed_id = k.feed_id AND a.dedupe_key = k.dedupe_key",
    )
    .bind(&all_feeds)
    .bind(&all_keys)
    .fetch_all(&mut *transaction)
    .await?;
    for article in existing {
        resolved.known(article);
    }

    // The new entries, numbered here, so that the statement below only writes: no sort or window over the rows.
    let mut columns = ArticleColumns::default();
    for (batch, entry, seq) in number_new_entries(batches, &unique, &resolved, &mut last_seq) {
        columns.push(batch, entry, seq);
    }
    if !columns.feed_ids.is_empty() {
        let inserted: Vec<ArticleKey> = sqlx::query_as(
            "INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
                                   published_at, enclosures, seq) \
             SELECT t.feed_id, t.dedupe_key, t.guid, t.url, t.title, t.summary, t.content, t.author, \
                    ARRAY(SELECT jsonb_array_elements_text(t.categories::jsonb)), t.published_at, t.enclosures, t.seq \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::bigint[]) \
               AS t(feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
                    enclosures, seq) \
             ON CONFLICT (feed_id, dedupe_key) DO NOTHING \
             RETURNING id, feed_id, dedupe_key",
        )
        .bind(&columns.feed_ids)
        .bind(&columns.keys)
        .bind(&columns.guids)
        .bind(&columns.urls)
        .bind(&columns.titles)
        .bind(&columns.summaries)
        .bind(&columns.contents)
        .bind(&columns.authors)
        .bind(&columns.categories)
        .bind(&columns.published)
        .bind(&columns.enclosures)
        .bind(&columns.seqs)
        .fetch_all(&mut *transaction)
        .await?;
        for article in inserted {
            resolved.inserted(article);
        }
    }

    record_poll_state(&mut transaction, batches, &last_seq).await?;
    let mut webhooks = insert_article_deliveries(&mut transaction, &resolved.new_article_ids()).await?;
    webhooks.extend(insert_status_deliveries(&mut transaction, &recovered).await?);
    transaction.commit().await?;
    let mut stored = resolved.into_stored(batches, &unique);
    attach_webhooks(&mut stored, &webhooks);
    Ok(stored)
}

/// Each feed's poll state, and its last_seq after this flush.
async fn record_poll_state(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    batches: &[FeedBatch],
    last_seq: &HashMap<FeedId, i64>,
) -> Result<(), StoreError> {
    let feed_ids: Vec<FeedId> = batches.iter().map(|batch| batch.feed_id).collect();
    let last_seqs: Vec<i64> = feed_ids
        .iter()
        .map(|feed| last_seq.get(feed).copied().unwrap_or(0))
        .collect();
    let titles: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.title.clone()).collect();
    let site_urls: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.site_url.clone()).collect();
    let etags: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.etag.clone()).collect();
    let last_modified: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.last_modified.clone()).collect();
    let polled_at: Vec<_> = batches.iter().map(|batch| batch.poll.polled_at).collect();
    let next_poll_at: Vec<_> = batches.iter().map(|batch| batch.poll.next_poll_at).collect();
    sqlx::query(
        "UPDATE feeds f SET title = COALESCE(u.title, f.title), site_url = COALESCE(u.site_url, f.site_url), \
           etag = u.etag, last_modified = u.last_modified, status = 'ok', last_polled_at = u.polled_at, \
           next_poll_at = u.next_poll_at, error_count = 0, last_error = NULL, dead_since = NULL, \
           last_seq = GREATEST(f.last_seq, u.last_seq) \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
                     $7::timestamptz[], $8::bigint[]) \
           AS u(id, title, site_url, etag, last_modified, polled_at, next_poll_at, last_seq) \
         WHERE f.id = u.id",
    )
    .bind(&feed_ids)
    .bind(&titles)
    .bind(&site_urls)
    .bind(&etags)
    .bind(&last_modified)
    .bind(&polled_at)
    .bind(&next_poll_at)
    .bind(&last_seqs)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
