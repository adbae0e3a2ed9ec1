//! Feed state on Postgres: poll errors, dead letters, meltdowns, operator listings and permanent redirects.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::postgres::FEED_COLUMNS;
use super::postgres_rows::FeedRow;
use super::{FeedMove, StoreError};
use crate::domain::{Feed, FeedId, FeedStatus};

pub(super) async fn record_poll_error(
    pool: &PgPool,
    feed: FeedId,
    error: &str,
    status: FeedStatus,
    next_poll_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feeds SET status = $2, last_error = $3, error_count = error_count + 1, \
           last_polled_at = now(), next_poll_at = $4, \
           dead_since = CASE WHEN $2 = 'dead' THEN COALESCE(dead_since, now()) ELSE NULL END \
         WHERE id = $1",
    )
    .bind(feed)
    .bind(status.as_str())
    .bind(error)
    .bind(next_poll_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn record_feed_failed(pool: &PgPool, feed: FeedId, message: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE feeds SET status = 'failed', last_error = $2, next_poll_at = NULL WHERE id = $1")
        .bind(feed)
        .bind(message)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn list_feeds(pool: &PgPool, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM feeds f WHERE $1::text IS NULL OR f.status = $1 \
         ORDER BY f.error_count DESC, f.id LIMIT $2"
    ))
    .bind(status.map(FeedStatus::as_str))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(FeedRow::into_feed).collect()
}

pub(super) async fn stale_feeds(
    pool: &PgPool,
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
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(FeedRow::into_feed).collect()
}

pub(super) async fn move_feed(pool: &PgPool, feed: FeedId, url: &str) -> Result<FeedMove, StoreError> {
    let mut transaction = pool.begin().await?;
    let other: Option<FeedId> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1 AND id <> $2 FOR UPDATE")
        .bind(url)
        .bind(feed)
        .fetch_optional(&mut *transaction)
        .await?;
    let moved = match other {
        None => {
            sqlx::query("UPDATE feeds SET url = $2 WHERE id = $1")
                .bind(feed)
                .bind(url)
                .execute(&mut *transaction)
                .await?;
            FeedMove::Renamed
        }
        Some(into) => {
            sqlx::query(
                "INSERT INTO subscriptions (user_id, feed_id, created_at) \
                 SELECT user_id, $2, created_at FROM subscriptions WHERE feed_id = $1 ON CONFLICT DO NOTHING",
            )
            .bind(feed)
            .bind(into)
            .execute(&mut *transaction)
            .await?;
            sqlx::query("DELETE FROM subscriptions WHERE feed_id = $1")
                .bind(feed)
                .execute(&mut *transaction)
                .await?;
            FeedMove::Merged { into }
        }
    };
    transaction.commit().await?;
    Ok(moved)
}
