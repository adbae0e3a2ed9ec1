//! The persistence actor's flush on Postgres: many feeds' entries in one transaction, by UNNEST, each article
//! written once for its feed (fan-out on read).

use super::PostgresStore;
use crate::domain::{Enclosure, FeedId};
use crate::parse::Entry;
use crate::store::flush_result::{first_of_each_key, ArticleKey, Resolved};
use crate::store::rows::categories_json;
use crate::store::{FeedBatch, StoreError, StoredBatch};

/// A flush keeps one backend busy, and batches of different feeds touch different rows: two at once let a
/// second core write while the first is (BENCHMARKS.md, third session).
pub(super) const PARALLEL_FLUSHES: usize = 2;

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
}

impl<'a> ArticleColumns<'a> {
    fn push(&mut self, batch: &FeedBatch, entry: &'a Entry) {
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
    }
}

pub(super) async fn persist_batches(
    store: &PostgresStore,
    batches: &[FeedBatch],
) -> Result<Vec<StoredBatch>, StoreError> {
    let unique: Vec<Vec<&Entry>> = batches.iter().map(first_of_each_key).collect();
    let mut columns = ArticleColumns::default();
    for (batch, entries) in batches.iter().zip(&unique) {
        for entry in entries {
            columns.push(batch, entry);
        }
    }

    let mut transaction = store.pool.begin().await?;
    // Each feed's articles are numbered from its last_seq: the feeds' rows are locked first, in id order, so that
    // no other flush numbers the same feed meanwhile (the persistence actor never runs two for one feed anyway).
    let mut feed_ids: Vec<FeedId> = batches.iter().map(|batch| batch.feed_id).collect();
    feed_ids.sort_unstable();
    feed_ids.dedup();
    sqlx::query("SELECT id FROM feeds WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&feed_ids)
        .execute(&mut *transaction)
        .await?;
    // One statement inserts the new articles, numbered per feed in the order the feed lists them, and moves each
    // feed's last_seq. Nothing is written per subscriber: they read the feed's articles (fan-out on read). Keys
    // already stored are left out before numbering, so the numbers have no gaps.
    let inserted: Vec<ArticleKey> = sqlx::query_as(
        "WITH input AS ( \
           SELECT DISTINCT ON (t.feed_id, t.dedupe_key) t.* \
           FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                       $8::text[], $9::text[], $10::timestamptz[], $11::text[]) WITH ORDINALITY \
             AS t(feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
                  enclosures, ord) \
           WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.feed_id = t.feed_id AND a.dedupe_key = t.dedupe_key) \
           ORDER BY t.feed_id, t.dedupe_key, t.ord), \
         numbered AS ( \
           SELECT i.*, COALESCE(f.last_seq, 0) + row_number() OVER (PARTITION BY i.feed_id ORDER BY i.ord) AS seq \
           FROM input i LEFT JOIN feeds f ON f.id = i.feed_id), \
         inserted AS ( \
           INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
                                 published_at, enclosures, seq) \
           SELECT n.feed_id, n.dedupe_key, n.guid, n.url, n.title, n.summary, n.content, n.author, \
                  ARRAY(SELECT jsonb_array_elements_text(n.categories::jsonb)), n.published_at, n.enclosures, n.seq \
           FROM numbered n ORDER BY n.ord \
           ON CONFLICT (feed_id, dedupe_key) DO NOTHING \
           RETURNING id, feed_id, dedupe_key, seq), \
         counted AS ( \
           UPDATE feeds f SET last_seq = m.last_seq \
           FROM (SELECT feed_id, max(seq) AS last_seq FROM inserted GROUP BY feed_id) m WHERE f.id = m.feed_id) \
         SELECT id, feed_id, dedupe_key FROM inserted",
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
    .fetch_all(&mut *transaction)
    .await?;

    let mut resolved = Resolved::default();
    for article in inserted {
        resolved.inserted(article);
    }
    // Entries that were stored by an earlier poll: look their ids up, for the cache entry.
    if resolved.len() < columns.keys.len() {
        let existing: Vec<ArticleKey> = sqlx::query_as(
            "SELECT a.id, a.feed_id, a.dedupe_key FROM articles a \
             JOIN UNNEST($1::bigint[], $2::text[]) AS k(feed_id, dedupe_key) \
               ON a.feed_id = k.feed_id AND a.dedupe_key = k.dedupe_key",
        )
        .bind(&columns.feed_ids)
        .bind(&columns.keys)
        .fetch_all(&mut *transaction)
        .await?;
        for article in existing {
            resolved.known(article);
        }
    }

    record_poll_state(&mut transaction, batches).await?;
    transaction.commit().await?;
    Ok(resolved.into_stored(batches, &unique))
}

async fn record_poll_state(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    batches: &[FeedBatch],
) -> Result<(), StoreError> {
    let feed_ids: Vec<FeedId> = batches.iter().map(|batch| batch.feed_id).collect();
    let titles: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.title.clone()).collect();
    let site_urls: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.site_url.clone()).collect();
    let etags: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.etag.clone()).collect();
    let last_modified: Vec<Option<String>> = batches.iter().map(|batch| batch.poll.last_modified.clone()).collect();
    let polled_at: Vec<_> = batches.iter().map(|batch| batch.poll.polled_at).collect();
    let next_poll_at: Vec<_> = batches.iter().map(|batch| batch.poll.next_poll_at).collect();
    sqlx::query(
        "UPDATE feeds f SET title = COALESCE(u.title, f.title), site_url = COALESCE(u.site_url, f.site_url), \
           etag = u.etag, last_modified = u.last_modified, status = 'ok', last_polled_at = u.polled_at, \
           next_poll_at = u.next_poll_at, error_count = 0, last_error = NULL, dead_since = NULL \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
                     $7::timestamptz[]) AS u(id, title, site_url, etag, last_modified, polled_at, next_poll_at) \
         WHERE f.id = u.id",
    )
    .bind(&feed_ids)
    .bind(&titles)
    .bind(&site_urls)
    .bind(&etags)
    .bind(&last_modified)
    .bind(&polled_at)
    .bind(&next_poll_at)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
