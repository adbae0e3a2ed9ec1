//! Feed state on Postgres: poll errors, dead letters, meltdowns, operator listings and permanent redirects.

use chrono::{DateTime, Utc};

use sqlx::PgConnection;

use super::rows::FeedRow;
use super::webhooks::insert_status_deliveries;
use super::PostgresStore;
use crate::domain::{Feed, FeedId, FeedStatus};
use crate::events::FeedStatusChange;
use crate::store::feed_move::apply_move;
use crate::store::rows::{self, FEED_COLUMNS};
use crate::store::{FeedMove, StoreError, UnchangedPoll};
use crate::webhook::WebhookId;

pub(super) async fn feeds_with_subscribers(store: &PostgresStore) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id)"
    ))
    .fetch_all(&store.pool)
    .await?;
    rows::feeds(rows)
}

pub(super) async fn get_feed(store: &PostgresStore, feed: FeedId) -> Result<Feed, StoreError> {
    let row: FeedRow = sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = $1"))
        .bind(feed)
        .fetch_one(&store.pool)
        .await?;
    row.into_feed()
}

pub(super) async fn feed_id_by_url(store: &PostgresStore, url: &str) -> Result<Option<FeedId>, StoreError> {
    let id: Option<FeedId> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1")
        .bind(url)
        .fetch_optional(&store.pool)
        .await?;
    Ok(id)
}

/// Stores a feed's failed polls and, when its status changes, a `feed.status` delivery to each webhook
/// subscribed to it, in one transaction. Returns those webhooks.
pub(super) async fn record_poll_errors(
    store: &PostgresStore,
    feed: FeedId,
    error: &str,
    status: FeedStatus,
    next_poll_at: Option<DateTime<Utc>>,
    failed_polls: u32,
) -> Result<Vec<WebhookId>, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let before = status_for_update(&mut transaction, feed).await?;
    sqlx::query(
        "UPDATE feeds SET status = $2, last_error = $3, error_count = error_count + $5, \
           last_polled_at = now(), next_poll_at = $4, \
           dead_since = CASE WHEN $2 = 'dead' THEN COALESCE(dead_since, now()) ELSE NULL END \
         WHERE id = $1",
    )
    .bind(feed)
    .bind(status.as_str())
    .bind(error)
    .bind(next_poll_at)
    .bind(i32::try_from(failed_polls).unwrap_or(i32::MAX))
    .execute(&mut *transaction)
    .await?;
    let webhooks = announce_change(&mut transaction, feed, before, status, error).await?;
    transaction.commit().await?;
    Ok(webhooks)
}

pub(super) async fn record_feed_failed(
    store: &PostgresStore,
    feed: FeedId,
    message: &str,
) -> Result<Vec<WebhookId>, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let before = status_for_update(&mut transaction, feed).await?;
    sqlx::query("UPDATE feeds SET status = 'failed', last_error = $2, next_poll_at = NULL WHERE id = $1")
        .bind(feed)
        .bind(message)
        .execute(&mut *transaction)
        .await?;
    let webhooks = announce_change(&mut transaction, feed, before, FeedStatus::Failed, message).await?;
    transaction.commit().await?;
    Ok(webhooks)
}

/// The feed's stored status, locked until the transaction ends; `None` for a feed that is gone.
async fn status_for_update(conn: &mut PgConnection, feed: FeedId) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT status FROM feeds WHERE id = $1 FOR UPDATE")
        .bind(feed)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A `feed.status` delivery of the feed's new status when it differs from `before`.
async fn announce_change(
    conn: &mut PgConnection,
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

pub(super) async fn list_feeds(
    store: &PostgresStore,
    status: Option<FeedStatus>,
    limit: u32,
) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f WHERE $1::text IS NULL OR f.status = $1 \
         ORDER BY f.error_count DESC, f.id LIMIT $2"
    ))
    .bind(status.map(FeedStatus::as_str))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows::feeds(rows)
}

pub(super) async fn stale_feeds(
    store: &PostgresStore,
    polled_before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f \
         WHERE (f.last_polled_at IS NULL OR f.last_polled_at < $1) \
           AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id) \
         ORDER BY f.last_polled_at NULLS FIRST, f.id LIMIT $2"
    ))
    .bind(polled_before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows::feeds(rows)
}

pub(super) async fn move_feed(store: &PostgresStore, feed: FeedId, url: &str) -> Result<FeedMove, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let other: Option<FeedId> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1 AND id <> $2 FOR UPDATE")
        .bind(url)
        .bind(feed)
        .fetch_optional(&mut *transaction)
        .await?;
    let moved = apply_move::<sqlx::Postgres>(&mut transaction, feed, url, other).await?;
    transaction.commit().await?;
    Ok(moved)
}

/// Stores unchanged polls, and a `feed.status` delivery for each feed they bring back to `ok`, in one
/// transaction. Returns the webhooks that got one.
pub(super) async fn record_polls_unchanged(
    store: &PostgresStore,
    polls: &[UnchangedPoll],
) -> Result<Vec<WebhookId>, StoreError> {
    if polls.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<FeedId> = polls.iter().map(|poll| poll.feed_id).collect();
    let polled_at: Vec<DateTime<Utc>> = polls.iter().map(|poll| poll.polled_at).collect();
    let next_poll_at: Vec<DateTime<Utc>> = polls.iter().map(|poll| poll.next_poll_at).collect();
    let mut transaction = store.pool.begin().await?;
    // The feeds this update brings back to ok, locked so that what is announced is what is stored.
    let recovered: Vec<FeedId> = sqlx::query_scalar(
        "SELECT f.id FROM feeds f JOIN UNNEST($1::bigint[], $2::timestamptz[]) AS u(id, polled_at) ON f.id = u.id \
         WHERE f.status <> 'ok' AND (f.last_polled_at IS NULL OR f.last_polled_at <= u.polled_at) \
         ORDER BY f.id FOR UPDATE OF f",
    )
    .bind(&ids)
    .bind(&polled_at)
    .fetch_all(&mut *transaction)
    .await?;
    sqlx::query(
        "UPDATE feeds f SET status = 'ok', last_error = NULL, error_count = 0, dead_since = NULL, \
           last_polled_at = u.polled_at, next_poll_at = u.next_poll_at \
         FROM UNNEST($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS u(id, polled_at, next_poll_at) \
         WHERE f.id = u.id AND (f.last_polled_at IS NULL OR f.last_polled_at <= u.polled_at)",
    )
    .bind(&ids)
    .bind(&polled_at)
    .bind(&next_poll_at)
    .execute(&mut *transaction)
    .await?;
    let matched = insert_status_deliveries(
        &mut transaction,
        &recovered.iter().copied().map(FeedStatusChange::ok).collect::<Vec<_>>(),
    )
    .await?;
    transaction.commit().await?;
    Ok(matched.into_iter().map(|(_, webhook)| webhook).collect())
}
