//! A user's webhooks on SQLite, as the API's routes manage them: listing, changing, deleting, rotating the
//! secret, and the deliveries listing with each attempt. A timer's webhooks are not the user's to see.

use std::collections::HashMap;

use uuid::fmt::Hyphenated;
use uuid::Uuid;

use super::rows::now_micros;
use super::webhooks::{delivery, DeliveryRow, DELIVERY_COLUMNS};
use super::SqliteStore;
use crate::domain::{FeedId, UserId};
use crate::store::error::sqlite_error;
use crate::store::rows::{decode_error, Decoded};
use crate::store::StoreError;
use crate::webhook::{
    new_secret, AttemptRecord, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord, Webhook, WebhookId, WebhookPatch,
};

const WEBHOOK_COLUMNS: &str =
    "id, url, events, feed_id, category, saved_filter_id, enabled, disabled_reason, consecutive_dead, created_at, updated_at";

type WebhookRow = (
    WebhookId,
    String,
    String,
    Option<FeedId>,
    Option<String>,
    Option<i64>,
    bool,
    Option<String>,
    i32,
    i64,
    i64,
);

/// An attempt's row: its delivery, number, time, status code, latency and error.
type AttemptRow = (Hyphenated, i32, i64, Option<i32>, i64, Option<String>);

fn webhook(row: WebhookRow) -> Result<Webhook, StoreError> {
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
    Ok(Webhook {
        id,
        url,
        events: serde_json::from_str(&events).map_err(|error| decode_error(format!("events: {error}")))?,
        feed_id,
        category,
        saved_filter,
        enabled,
        disabled_reason,
        consecutive_dead,
        created_at: created_at.decoded()?,
        updated_at: updated_at.decoded()?,
    })
}

pub(super) async fn count_webhooks(store: &SqliteStore, user: UserId) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM webhooks WHERE user_id = $1 AND timer_id IS NULL")
        .bind(user.hyphenated())
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)
}

pub(super) async fn list_webhooks(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    before: Option<WebhookId>,
) -> Result<Vec<Webhook>, StoreError> {
    let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = $1 AND timer_id IS NULL AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(user.hyphenated())
    .bind(before.unwrap_or(WebhookId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows.into_iter().map(webhook).collect()
}

pub(super) async fn get_webhook(store: &SqliteStore, user: UserId, id: WebhookId) -> Result<Webhook, StoreError> {
    let row: WebhookRow = sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL"
    ))
    .bind(id)
    .bind(user.hyphenated())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    webhook(row)
}

pub(super) async fn update_webhook(
    store: &SqliteStore,
    user: UserId,
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<Webhook, StoreError> {
    let events = patch
        .events
        .as_ref()
        .map(|events| serde_json::to_string(events).map_err(|error| decode_error(format!("events: {error}"))))
        .transpose()?;
    let mut transaction = store.begin_write().await?;
    let row: WebhookRow = sqlx::query_as(&format!(
        "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events), \
         enabled = coalesce($5, enabled), \
         disabled_reason = CASE WHEN $5 IS NULL THEN disabled_reason END, \
         consecutive_dead = CASE WHEN $5 = 1 THEN 0 ELSE consecutive_dead END, updated_at = $6 \
         WHERE id = $1 AND user_id = $2 AND timer_id IS NULL RETURNING {WEBHOOK_COLUMNS}"
    ))
    .bind(id)
    .bind(user.hyphenated())
    .bind(&patch.url)
    .bind(events)
    .bind(patch.enabled)
    .bind(now_micros())
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    webhook(row)
}

pub(super) async fn delete_webhook(store: &SqliteStore, user: UserId, id: WebhookId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL")
        .bind(id)
        .bind(user.hyphenated())
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn rotate_webhook_secret(
    store: &SqliteStore,
    user: UserId,
    id: WebhookId,
) -> Result<String, StoreError> {
    let secret = new_secret();
    let updated = sqlx::query(
        "UPDATE webhooks SET secret = $3, updated_at = $4 WHERE id = $1 AND user_id = $2 AND timer_id IS NULL",
    )
    .bind(id)
    .bind(user.hyphenated())
    .bind(&secret)
    .bind(now_micros())
    .execute(&store.pool)
    .await
    .map_err(sqlite_error)?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(secret)
}

pub(super) async fn list_deliveries(
    store: &SqliteStore,
    user: UserId,
    id: WebhookId,
    query: &DeliveryQuery,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    get_webhook(store, user, id).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
         AND ($2 IS NULL OR status = $2) \
         AND ($3 IS NULL OR (created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(id)
    .bind(query.status.map(|status| status.as_str()))
    .bind(query.before.map(|before| before.hyphenated()))
    .bind(i64::from(query.limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    let deliveries: Vec<Delivery> = rows.into_iter().map(delivery).collect::<Result<_, _>>()?;
    let ids = serde_json::to_string(&deliveries.iter().map(|delivery| delivery.id).collect::<Vec<_>>())
        .map_err(|error| decode_error(format!("delivery ids: {error}")))?;
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT delivery_id, attempt, at, status_code, latency_ms, error FROM webhook_delivery_attempts \
         WHERE delivery_id IN (SELECT value FROM json_each($1)) ORDER BY delivery_id, attempt",
    )
    .bind(ids)
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    let mut by_delivery: HashMap<Uuid, Vec<AttemptRecord>> = HashMap::new();
    for (delivery_id, attempt, at, status_code, latency_ms, error) in attempts {
        by_delivery
            .entry(delivery_id.into_uuid())
            .or_default()
            .push(AttemptRecord {
                attempt,
                at: at.decoded()?,
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
    store: &SqliteStore,
    user: UserId,
    id: WebhookId,
    delivery_id: DeliveryId,
) -> Result<Delivery, StoreError> {
    get_webhook(store, user, id).await?;
    let row: DeliveryRow = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, delivered_at = NULL \
         WHERE id = $1 AND webhook_id = $2 RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(delivery_id.hyphenated())
    .bind(id)
    .bind(now_micros())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    delivery(row)
}
