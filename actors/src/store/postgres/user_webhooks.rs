//! A user's webhooks on Postgres, as the API's routes manage them: listing, changing, deleting, rotating the
//! secret, and the deliveries listing with each attempt. A timer's webhooks are not the user's to see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::webhooks::{delivery, DeliveryRow, DELIVERY_COLUMNS};
use super::PostgresStore;
use crate::domain::{FeedId, UserId};
use crate::store::StoreError;
use crate::webhook::{
    new_secret, AttemptRecord, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord, Webhook, WebhookId, WebhookPatch,
};

const WEBHOOK_COLUMNS: &str =
    "id, url, events, feed_id, category, saved_filter_id, enabled, disabled_reason, consecutive_dead, created_at, updated_at";

type WebhookRow = (
    WebhookId,
    String,
    Vec<String>,
    Option<FeedId>,
    Option<String>,
    Option<i64>,
    bool,
    Option<String>,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// An attempt's row: its delivery, number, time, status code, latency and error.
type AttemptRow = (Uuid, i32, DateTime<Utc>, Option<i32>, i64, Option<String>);

fn webhook(row: WebhookRow) -> Webhook {
    let (
        id,
        url,
        events,
        feed_id,
        category,
        saved_filter,
        enabled,
        disabled_reason,
        consecutive_dead,
        created_at,
        updated_at,
    ) = row;
    Webhook {
        id,
        url,
        events,
        feed_id,
        category,
        saved_filter,
        enabled,
        disabled_reason,
        consecutive_dead,
        created_at,
        updated_at,
    }
}

pub(super) async fn count_webhooks(store: &PostgresStore, user: UserId) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM webhooks WHERE user_id = $1 AND timer_id IS NULL")
            .bind(user)
            .fetch_one(&store.pool)
            .await?,
    )
}

pub(super) async fn list_webhooks(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    before: Option<WebhookId>,
) -> Result<Vec<Webhook>, StoreError> {
    let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = $1 AND timer_id IS NULL AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(user)
    .bind(before.unwrap_or(WebhookId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(webhook).collect())
}

pub(super) async fn get_webhook(store: &PostgresStore, user: UserId, id: WebhookId) -> Result<Webhook, StoreError> {
    let row: WebhookRow = sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL"
    ))
    .bind(id)
    .bind(user)
    .fetch_one(&store.pool)
    .await?;
    Ok(webhook(row))
}

pub(super) async fn update_webhook(
    store: &PostgresStore,
    user: UserId,
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<Webhook, StoreError> {
    let row: WebhookRow = sqlx::query_as(&format!(
        "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events), \
         enabled = coalesce($5, enabled), \
         disabled_reason = CASE WHEN $5::boolean IS NULL THEN disabled_reason END, \
         consecutive_dead = CASE WHEN $5::boolean THEN 0 ELSE consecutive_dead END, updated_at = now() \
         WHERE id = $1 AND user_id = $2 AND timer_id IS NULL RETURNING {WEBHOOK_COLUMNS}"
    ))
    .bind(id)
    .bind(user)
    .bind(&patch.url)
    .bind(&patch.events)
    .bind(patch.enabled)
    .fetch_one(&store.pool)
    .await?;
    Ok(webhook(row))
}

pub(super) async fn delete_webhook(store: &PostgresStore, user: UserId, id: WebhookId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL")
        .bind(id)
        .bind(user)
        .execute(&store.pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn rotate_webhook_secret(
    store: &PostgresStore,
    user: UserId,
    id: WebhookId,
) -> Result<String, StoreError> {
    let secret = new_secret();
    let updated = sqlx::query(
        "UPDATE webhooks SET secret = $3, updated_at = now() WHERE id = $1 AND user_id = $2 AND timer_id IS NULL",
    )
    .bind(id)
    .bind(user)
    .bind(&secret)
    .execute(&store.pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(secret)
}

pub(super) async fn list_deliveries(
    store: &PostgresStore,
    user: UserId,
    id: WebhookId,
    query: &DeliveryQuery,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    get_webhook(store, user, id).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
         AND ($2::text IS NULL OR status = $2) \
         AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(id)
    .bind(query.status.map(|status| status.as_str()))
    .bind(query.before)
    .bind(i64::from(query.limit))
    .fetch_all(&store.pool)
    .await?;
    let deliveries: Vec<Delivery> = rows.into_iter().map(delivery).collect::<Result<_, _>>()?;
    let ids: Vec<Uuid> = deliveries.iter().map(|delivery| delivery.id).collect();
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT delivery_id, attempt, at, status_code, latency_ms, error FROM webhook_delivery_attempts \
         WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
    )
    .bind(&ids)
    .fetch_all(&store.pool)
    .await?;
    let mut by_delivery: HashMap<Uuid, Vec<AttemptRecord>> = HashMap::new();
    for (delivery_id, attempt, at, status_code, latency_ms, error) in attempts {
        by_delivery.entry(delivery_id).or_default().push(AttemptRecord {
            attempt,
            at,
            status_code,
            latency_ms,
            error,
        });
    }
    Ok(deliveries
        .into_iter()
        .map(|delivery| DeliveryRecord {
            attempts: by_delivery.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect())
}

pub(super) async fn redeliver(
    store: &PostgresStore,
    user: UserId,
    id: WebhookId,
    delivery_id: DeliveryId,
) -> Result<Delivery, StoreError> {
    get_webhook(store, user, id).await?;
    let row: DeliveryRow = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), delivered_at = NULL \
         WHERE id = $1 AND webhook_id = $2 RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(delivery_id)
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    delivery(row)
}
