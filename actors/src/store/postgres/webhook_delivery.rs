//! The delivery side of the webhook outbox on Postgres: which webhooks have work, where it goes, and recording
//! each attempt with its outcome (and disabling a webhook after too many dead deliveries) in one transaction.

use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::domain::UserId;
use crate::store::StoreError;
use crate::webhook::{
    AttemptOutcome, DeliveryAttempt, WebhookId, WebhookTarget, DEAD_DELIVERIES_TO_DISABLE, DISABLED_FOR_DEAD_DELIVERIES,
};

pub(super) async fn due_webhooks(
    store: &PostgresStore,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<WebhookId>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 AND w.enabled LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?)
}

pub(super) async fn next_delivery_due(
    store: &PostgresStore,
    busy: &[WebhookId],
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status IN ('pending', 'failed') AND w.enabled AND NOT (d.webhook_id = ANY($1))",
    )
    .bind(busy)
    .fetch_one(&store.pool)
    .await?)
}

pub(super) async fn webhook_target(
    store: &PostgresStore,
    webhook: WebhookId,
) -> Result<Option<WebhookTarget>, StoreError> {
    let row: Option<(WebhookId, UserId, String, String, bool)> =
        sqlx::query_as("SELECT id, user_id, url, secret, enabled FROM webhooks WHERE id = $1")
            .bind(webhook)
            .fetch_optional(&store.pool)
            .await?;
    Ok(row.map(|(id, user_id, url, secret, enabled)| WebhookTarget {
        id,
        user_id,
        url,
        secret,
        enabled,
    }))
}

pub(super) async fn record_delivery_attempt(
    store: &PostgresStore,
    attempt: &DeliveryAttempt,
) -> Result<Option<UserId>, StoreError> {
    let mut transaction = store.pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, latency_ms, error) \
         SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5 FROM webhook_delivery_attempts WHERE delivery_id = $1",
    )
    .bind(attempt.delivery)
    .bind(attempt.at)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.error)
    .execute(&mut *transaction)
    .await?;
    let (status, next_attempt_at, delivered_at) = match attempt.outcome {
        AttemptOutcome::Delivered => ("ok", None, Some(attempt.at)),
        AttemptOutcome::RetryAt(at) => ("failed", Some(at), None),
        AttemptOutcome::Dead => ("dead", None, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
         next_attempt_at = coalesce($3, next_attempt_at), last_status = $4, last_error = $5, delivered_at = $6 \
         WHERE id = $1",
    )
    .bind(attempt.delivery)
    .bind(status)
    .bind(next_attempt_at)
    .bind(attempt.status_code)
    .bind(&attempt.error)
    .bind(delivered_at)
    .execute(&mut *transaction)
    .await?;
    let disabled = match attempt.outcome {
        AttemptOutcome::Delivered => {
            sqlx::query("UPDATE webhooks SET consecutive_dead = 0 WHERE id = $1 AND consecutive_dead <> 0")
                .bind(attempt.webhook)
                .execute(&mut *transaction)
                .await?;
            None
        }
        AttemptOutcome::RetryAt(_) => None,
        AttemptOutcome::Dead => sqlx::query_scalar(
            "UPDATE webhooks SET consecutive_dead = consecutive_dead + 1, \
             enabled = enabled AND consecutive_dead + 1 < $2, \
             disabled_reason = CASE WHEN enabled AND consecutive_dead + 1 >= $2 THEN $3 ELSE disabled_reason END, \
             updated_at = now() \
             WHERE id = $1 RETURNING CASE WHEN NOT enabled AND disabled_reason = $3 AND consecutive_dead = $2 \
             THEN user_id END",
        )
        .bind(attempt.webhook)
        .bind(DEAD_DELIVERIES_TO_DISABLE)
        .bind(DISABLED_FOR_DEAD_DELIVERIES)
        .fetch_optional(&mut *transaction)
        .await?
        .flatten(),
    };
    transaction.commit().await?;
    Ok(disabled)
}
