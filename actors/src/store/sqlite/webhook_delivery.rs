//! The delivery side of the webhook outbox on SQLite: which webhooks have work, where it goes, and recording
//! each attempt with its outcome (and disabling a webhook after too many dead deliveries) in one transaction.

use chrono::{DateTime, Utc};
use uuid::fmt::Hyphenated;

use super::rows::micros;
use super::SqliteStore;
use crate::domain::UserId;
use crate::store::error::sqlite_error;
use crate::store::rows::Decoded;
use crate::store::StoreError;
use crate::webhook::{
    AttemptOutcome, DeliveryAttempt, WebhookId, WebhookTarget, DEAD_DELIVERIES_TO_DISABLE, DISABLED_FOR_DEAD_DELIVERIES,
};

pub(super) async fn due_webhooks(
    store: &SqliteStore,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<WebhookId>, StoreError> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 AND w.enabled = 1 LIMIT $2",
    )
    .bind(micros(now))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)
}

pub(super) async fn next_delivery_due(
    store: &SqliteStore,
    busy: &[WebhookId],
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let busy = serde_json::to_string(busy).unwrap_or_else(|_| "[]".to_owned());
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status IN ('pending', 'failed') AND w.enabled = 1 \
         AND d.webhook_id NOT IN (SELECT value FROM json_each($1))",
    )
    .bind(busy)
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    due.map(Decoded::decoded).transpose()
}

pub(super) async fn webhook_target(
    store: &SqliteStore,
    webhook: WebhookId,
) -> Result<Option<WebhookTarget>, StoreError> {
    let row: Option<(WebhookId, Hyphenated, String, String, bool)> =
        sqlx::query_as("SELECT id, user_id, url, secret, enabled FROM webhooks WHERE id = $1")
            .bind(webhook)
            .fetch_optional(&store.pool)
            .await
            .map_err(sqlite_error)?;
    Ok(row.map(|(id, user_id, url, secret, enabled)| WebhookTarget {
        id,
        user_id: user_id.into_uuid(),
        url,
        secret,
        enabled,
    }))
}

pub(super) async fn record_delivery_attempt(
    store: &SqliteStore,
    attempt: &DeliveryAttempt,
) -> Result<Option<UserId>, StoreError> {
    let mut transaction = store.begin_write().await?;
    let delivery = attempt.delivery.hyphenated();
    sqlx::query(
        "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, latency_ms, error) \
         SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5 FROM webhook_delivery_attempts WHERE delivery_id = $1",
    )
    .bind(delivery)
    .bind(micros(attempt.at))
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.error)
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let (status, next_attempt_at, delivered_at) = match attempt.outcome {
        AttemptOutcome::Delivered => ("ok", None, Some(micros(attempt.at))),
        AttemptOutcome::RetryAt(at) => ("failed", Some(micros(at)), None),
        AttemptOutcome::Dead => ("dead", None, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
         next_attempt_at = coalesce($3, next_attempt_at), last_status = $4, last_error = $5, delivered_at = $6 \
         WHERE id = $1",
    )
    .bind(delivery)
    .bind(status)
    .bind(next_attempt_at)
    .bind(attempt.status_code)
    .bind(&attempt.error)
    .bind(delivered_at)
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let disabled: Option<Option<Hyphenated>> = match attempt.outcome {
        AttemptOutcome::Delivered => {
            sqlx::query("UPDATE webhooks SET consecutive_dead = 0 WHERE id = $1 AND consecutive_dead <> 0")
                .bind(attempt.webhook)
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
            None
        }
        AttemptOutcome::RetryAt(_) => None,
        AttemptOutcome::Dead => sqlx::query_scalar(
            "UPDATE webhooks SET consecutive_dead = consecutive_dead + 1, \
             enabled = enabled AND consecutive_dead + 1 < $2, \
             disabled_reason = CASE WHEN enabled AND consecutive_dead + 1 >= $2 THEN $3 ELSE disabled_reason END, \
             updated_at = $4 \
             WHERE id = $1 RETURNING CASE WHEN NOT enabled AND disabled_reason = $3 AND consecutive_dead = $2 \
             THEN user_id END",
        )
        .bind(attempt.webhook)
        .bind(DEAD_DELIVERIES_TO_DISABLE)
        .bind(DISABLED_FOR_DEAD_DELIVERIES)
        .bind(micros(attempt.at))
        .fetch_optional(&mut *transaction)
        .await
        .map_err(sqlite_error)?,
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(disabled.flatten().map(Hyphenated::into_uuid))
}
