//! Timers on SQLite: a user's timers, the timers due soon, and the firing transaction. The one writer makes
//! the limit check and the firing guard atomic without row locks.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::rows::{micros, now_micros, TimerRow};
use super::webhooks::{delete_webhooks_of_timer, insert_deliveries, insert_webhook};
use super::SqliteStore;
use crate::domain::UserId;
use crate::store::error::sqlite_error;
use crate::store::timer_rows::{self, TIMER_COLUMNS};
use crate::store::StoreError;
use crate::timer::{
    CreatedTimer, NewTimer, Timer, TimerFiring, TimerId, TimerTarget, TimerUpdate, WebhookId, TIMER_EVENT,
};
use crate::webhook::{NewDelivery, NewWebhook};

pub(super) async fn create_timer(
    store: &SqliteStore,
    timer: &NewTimer,
    limit: i64,
) -> Result<CreatedTimer, StoreError> {
    let mut transaction = store.begin_write().await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE user_id = $1 AND status <> 'done'")
        .bind(timer.user_id.hyphenated())
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if count >= limit {
        return Err(StoreError::Rejected {
            field: "timers",
            reason: "a user may have at most 1000 timers that are not done; delete some first",
        });
    }
    let schedule = &timer.schedule;
    let now = now_micros();
    let id: TimerId = sqlx::query_scalar(
        "INSERT INTO timers (user_id, name, schedule_kind, schedule_spec, at_time, timezone, anchor_at, \
         webhook_id, owns_webhook, payload_kind, digest_feed_id, next_fire_at, created_at, updated_at, \
         digest_category, digest_filter_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $12, $13, $14) RETURNING id",
    )
    .bind(timer.user_id.hyphenated())
    .bind(&timer.name)
    .bind(&schedule.kind)
    .bind(&schedule.spec)
    .bind(&schedule.at_time)
    .bind(&schedule.timezone)
    .bind(micros(schedule.anchor))
    .bind(matches!(timer.target, TimerTarget::Url(_)))
    .bind(timer.payload.kind.as_str())
    .bind(timer.payload.feed_id)
    .bind(micros(timer.next_fire_at))
    .bind(now)
    .bind(&timer.payload.category)
    .bind(timer.payload.filter)
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let (webhook, secret) = attach_webhook(&mut transaction, timer.user_id, id, &timer.target).await?;
    let row: TimerRow = sqlx::query_as(&format!(
        "UPDATE timers SET webhook_id = $2 WHERE id = $1 RETURNING {TIMER_COLUMNS}"
    ))
    .bind(id)
    .bind(webhook)
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(CreatedTimer {
        timer: row.into_timer()?,
        secret,
    })
}

/// The webhook a new timer delivers to: one of the user's own (not owned by another timer), or one created
/// for the timer from a bare URL, whose secret is returned.
async fn attach_webhook(
    connection: &mut SqliteConnection,
    user: UserId,
    timer: TimerId,
    target: &TimerTarget,
) -> Result<(WebhookId, Option<String>), StoreError> {
    match target {
        TimerTarget::Webhook(webhook) => {
            let owned: Option<i64> =
                sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL")
                    .bind(webhook)
                    .bind(user.hyphenated())
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(sqlite_error)?;
            match owned {
                Some(webhook) => Ok((webhook, None)),
                None => Err(StoreError::Rejected {
                    field: "target.webhook_id",
                    reason: "is not one of your webhooks",
                }),
            }
        }
        TimerTarget::Url(url) => {
            let webhook = NewWebhook {
                user_id: user,
                url: url.clone(),
                events: vec![TIMER_EVENT.to_owned()],
                feed_id: None,
                category: None,
                saved_filter: None,
                timer_id: Some(timer),
            };
            let created = insert_webhook(connection, &webhook).await?;
            Ok((created.id, Some(created.secret)))
        }
    }
}

pub(super) async fn get_timer(store: &SqliteStore, user: UserId, timer: TimerId) -> Result<Timer, StoreError> {
    let row: TimerRow = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE id = $1 AND user_id = $2"
    ))
    .bind(timer)
    .bind(user.hyphenated())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.into_timer()
}

pub(super) async fn list_timers(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    before: Option<TimerId>,
) -> Result<Vec<Timer>, StoreError> {
    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user.hyphenated())
    .bind(before.unwrap_or(TimerId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    timer_rows::timers(rows)
}

pub(super) async fn update_timer(
    store: &SqliteStore,
    user: UserId,
    timer: TimerId,
    update: &TimerUpdate,
) -> Result<Option<Timer>, StoreError> {
    let schedule = &update.schedule;
    let row: Option<TimerRow> = sqlx::query_as(&format!(
        "UPDATE timers SET name = $3, schedule_kind = $4, schedule_spec = $5, at_time = $6, timezone = $7, \
         anchor_at = $8, payload_kind = $9, digest_feed_id = $10, status = $11, next_fire_at = $12, \
         updated_at = $14, digest_category = $15, digest_filter_id = $16 \
         WHERE id = $1 AND user_id = $2 AND next_fire_at IS $13 RETURNING {TIMER_COLUMNS}"
    ))
    .bind(timer)
    .bind(user.hyphenated())
    .bind(&update.name)
    .bind(&schedule.kind)
    .bind(&schedule.spec)
    .bind(&schedule.at_time)
    .bind(&schedule.timezone)
    .bind(micros(schedule.anchor))
    .bind(update.payload.kind.as_str())
    .bind(update.payload.feed_id)
    .bind(update.status.as_str())
    .bind(update.next_fire_at.map(micros))
    .bind(update.expected_next_fire_at.map(micros))
    .bind(now_micros())
    .bind(&update.payload.category)
    .bind(update.payload.filter)
    .fetch_optional(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.map(TimerRow::into_timer).transpose()
}

pub(super) async fn delete_timer(store: &SqliteStore, user: UserId, timer: TimerId) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    let deleted = sqlx::query("DELETE FROM timers WHERE id = $1 AND user_id = $2")
        .bind(timer)
        .bind(user.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    delete_owned_webhook(&mut transaction, timer).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

/// Deletes the webhook a timer owns, with its deliveries.
async fn delete_owned_webhook(connection: &mut SqliteConnection, timer: TimerId) -> Result<(), StoreError> {
    delete_webhooks_of_timer(connection, timer).await?;
    Ok(())
}

pub(super) async fn due_timers(
    store: &SqliteStore,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Timer>, StoreError> {
    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE status = 'active' AND next_fire_at < $1 \
         ORDER BY next_fire_at, id LIMIT $2"
    ))
    .bind(micros(before))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    timer_rows::timers(rows)
}

pub(super) async fn fire_timers(store: &SqliteStore, firings: &[TimerFiring]) -> Result<Vec<TimerId>, StoreError> {
    if firings.is_empty() {
        return Ok(Vec::new());
    }
    let mut transaction = store.begin_write().await?;
    let mut applied = Vec::with_capacity(firings.len());
    let mut delivered = Vec::with_capacity(firings.len());
    for firing in firings {
        let fired = micros(firing.fired_at);
        let updated = sqlx::query(
            "UPDATE timers SET next_fire_at = $3, \
             status = CASE WHEN $3 IS NULL THEN 'done' ELSE status END, \
             last_fired_at = $4, fire_count = fire_count + 1, updated_at = $4 \
             WHERE id = $1 AND status = 'active' AND next_fire_at = $2",
        )
        .bind(firing.timer)
        .bind(micros(firing.scheduled_for))
        .bind(firing.next_fire_at.map(micros))
        .bind(fired)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
        if updated.rows_affected() == 1 {
            applied.push(firing.timer);
            delivered.push(firing);
        }
    }
    enqueue_deliveries(&mut transaction, &delivered).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(applied)
}

/// Writes the firings' deliveries into the webhooks' outbox, inside the firing transaction.
async fn enqueue_deliveries(connection: &mut SqliteConnection, firings: &[&TimerFiring]) -> Result<(), StoreError> {
    let deliveries: Vec<NewDelivery> = firings
        .iter()
        .map(|firing| NewDelivery::new(firing.webhook_id, TIMER_EVENT, firing.data.clone()))
        .collect();
    insert_deliveries(connection, &deliveries).await
}
