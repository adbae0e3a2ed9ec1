//! Feed state on SQLite: poll errors, dead letters, meltdowns, operator listings and permanent redirects.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::rows::{micros, now_micros, FeedRow};
use super::webhooks::insert_status_deliveries;
use super::SqliteStore;
use crate::domain::{Feed, FeedId, FeedStatus};
use crate::events::FeedStatusChange;
use crate::store::error::sqlite_error;
use crate::store::feed_move::apply_move;
use crate::store::rows::{self, FEED_COLUMNS};
use crate::store::{FeedMove, StoreError, UnchangedPoll};
use crate::webhook::WebhookId;

pub(super) async fn feeds_with_subscribers(store: &SqliteStore) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id)"
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows::feeds(rows)
}

pub(super) async fn get_feed(store: &SqliteStore, feed: FeedId) -> Result<Feed, StoreError> {
    let row: FeedRow = sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = $1"))
        .bind(feed)
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    row.into_feed()
}

pub(super) async fn feed_id_by_url(store: &SqliteStore, url: &str) -> Result<Option<FeedId>, StoreError> {
    let id: Option<FeedId> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1")
        .bind(url)
        .fetch_optional(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(id)
}

/// Stores a feed's failed polls and, when its status changes, a `feed.status` delivery to each webhook
/// subscribed to it, in one transaction. Returns those webhooks.
pub(super) async fn record_poll_errors(
    store: &SqliteStore,
    feed: FeedId,
    error: &str,
    status: FeedStatus,
    next_poll_at: Option<DateTime<Utc>>,
    failed_polls: u32,
) -> Result<Vec<WebhookId>, StoreError> {
    let mut transaction = store.begin_write().await?;
    let before = stored_status(&mut transaction, feed).await?;
    sqlx::query(
        "UPDATE feeds SET status = $2, last_error = $3, error_count = error_count + $6, last_polled_at = $4, \
           next_poll_at = $5, dead_since = CASE WHEN $2 = 'dead' THEN COALESCE(dead_since, $4) ELSE NULL END \
         WHERE id = $1",
    )
    .bind(feed)
    .bind(status.as_str())
    .bind(error)
    .bind(now_micros())
    .bind(next_poll_at.map(micros))
    .bind(i64::from(failed_polls))
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let webhooks = announce_change(&mut transaction, feed, before, status, error).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(webhooks)
}

pub(super) async fn record_feed_failed(
    store: &SqliteStore,
    feed: FeedId,
    message: &str,
) -> Result<Vec<WebhookId>, StoreError> {
    let mut transaction = store.begin_write().await?;
    let before = stored_status(&mut transaction, feed).await?;
    sqlx::query("UPDATE feeds SET status = 'failed', last_error = $2, next_poll_at = NULL WHERE id = $1")
        .bind(feed)
        .bind(message)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let webhooks = announce_change(&mut transaction, feed, before, FeedStatus::Failed, message).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(webhooks)
}

/// The feed's stored status (the caller holds the write lock); `None` for a feed that is gone.
async fn stored_status(conn: &mut SqliteConnection, feed: FeedId) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT status FROM feeds WHERE id = $1")
        .bind(feed)
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlite_error)
}

/// A `feed.status` delivery of the feed's new status when it differs from `before`.
async fn announce_change(
    conn: &mut SqliteConnection,
    feed: FeedId,
    before: Option<String>,
    status: FeedStatus,
    error: &str,
) -> Result<Vec<WebhookId>, StoreError> {
    if before.is_none_or(|before| before == status.as_str()) {
        return Ok(Vec::new());
    }
    let change = FeedStatusChange {
        feed,
        status,
        error: Some(error.to_owned()),
    };
    let matched = insert_status_deliveries(conn, &[change]).await?;
    Ok(matched.into_iter().map(|(_, webhook)| webhook).collect())
}

/// Of `feeds`, those whose stored status is not `ok`, as changes back to ok (the caller holds the write lock).
pub(super) async fn feeds_not_ok(
    conn: &mut SqliteConnection,
    feeds: &[FeedId],
) -> Result<Vec<FeedStatusChange>, StoreError> {
    let ids = serde_json::Value::from(feeds.to_vec()).to_string();
    let found: Vec<FeedId> = sqlx::query_scalar(
        "SELECT DISTINCT f.id FROM json_each($1) k JOIN feeds f ON f.id = k.value WHERE f.status <> 'ok' ORDER BY f.id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    Ok(found.into_iter().map(FeedStatusChange::ok).collect())
}

pub(super) async fn list_feeds(
    store: &SqliteStore,
    status: Option<FeedStatus>,
    limit: u32,
) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f WHERE $1 IS NULL OR f.status = $1 ORDER BY f.error_count DESC, f.id LIMIT $2"
    ))
    .bind(status.map(FeedStatus::as_str))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows::feeds(rows)
}

pub(super) async fn stale_feeds(
    store: &SqliteStore,
    polled_before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Feed>, StoreError> {
    // NULLs sort first in SQLite's ascending order: never-polled feeds come first, as on Postgres.
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f \
         WHERE (f.last_polled_at IS NULL OR f.last_polled_at < $1) \
           AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id) \
         ORDER BY f.last_polled_at, f.id LIMIT $2"
    ))
    .bind(micros(polled_before))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows::feeds(rows)
}

pub(super) async fn move_feed(store: &SqliteStore, feed: FeedId, url: &str) -> Result<FeedMove, StoreError> {
    let mut transaction = store.begin_write().await?;
    let other: Option<FeedId> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1 AND id <> $2")
        .bind(url)
        .bind(feed)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let moved = apply_move::<sqlx::Sqlite>(&mut transaction, feed, url, other)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(moved)
}

/// Stores unchanged polls, and a `feed.status` delivery for each feed they bring back to `ok`, in one
/// transaction. Returns the webhooks that got one.
pub(super) async fn record_polls_unchanged(
    store: &SqliteStore,
    polls: &[UnchangedPoll],
) -> Result<Vec<WebhookId>, StoreError> {
    if polls.is_empty() {
        return Ok(Vec::new());
    }
    // SQLite binds no arrays: the polls travel as one JSON array of [id, polled_at, next_poll_at].
    let rows: Vec<serde_json::Value> = polls
        .iter()
        .map(|poll| serde_json::json!([poll.feed_id, micros(poll.polled_at), micros(poll.next_poll_at)]))
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    let mut transaction = store.begin_write().await?;
    let recovered: Vec<FeedId> = sqlx::query_scalar(
        "SELECT DISTINCT feeds.id FROM feeds \
         JOIN (SELECT value ->> 0 AS id, value ->> 1 AS polled_at FROM json_each($1)) AS u ON feeds.id = u.id \
         WHERE feeds.status <> 'ok' AND (feeds.last_polled_at IS NULL OR feeds.last_polled_at <= u.polled_at) \
         ORDER BY feeds.id",
    )
    .bind(&rows)
    .fetch_all(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    sqlx::query(
        "UPDATE feeds SET status = 'ok', last_error = NULL, error_count = 0, dead_since = NULL, \
           last_polled_at = u.polled_at, next_poll_at = u.next_poll_at \
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS polled_at, value ->> 2 AS next_poll_at \
               FROM json_each($1)) AS u \
         WHERE feeds.id = u.id AND (feeds.last_polled_at IS NULL OR feeds.last_polled_at <= u.polled_at)",
    )
    .bind(&rows)
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let changes: Vec<FeedStatusChange> = recovered.into_iter().map(FeedStatusChange::ok).collect();
    let matched = insert_status_deliveries(&mut transaction, &changes).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(matched.into_iter().map(|(_, webhook)| webhook).collect())
}
