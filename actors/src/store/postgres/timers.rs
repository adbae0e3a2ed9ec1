//! Timers on Postgres: a user's timers, the timers due soon, and the firing transaction (one `UPDATE … FROM
//! UNNEST` for a whole batch, then its deliveries into the outbox).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::rows::TimerRow;
use super::webhooks::{delete_webhooks_of_timer, insert_deliveries, insert_webhook};
use super::PostgresStore;
use crate::domain::UserId;
use crate::store::timer_rows::{self, TIMER_COLUMNS};
use crate::store::StoreError;
use crate::timer::{
    CreatedTimer, NewTimer, Timer, TimerFiring, TimerId, TimerTarget, TimerUpdate, WebhookId, TIMER_EVENT,
};
use crate::webhook::{NewDelivery, NewWebhook};

pub(super) async fn create_timer(
    store: &PostgresStore,
    timer: &NewTimer,
    limit: i64,
) -> Result<CreatedTimer, StoreError> {
    let mut transaction = store.pool.begin().await?;
    // Serialises one user's creations, so that two at once cannot both pass the limit.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(timer.user_id)
        .execute(&mut *transaction)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE user_id = $1 AND status <> 'done'")
        .bind(timer.user_id)
        .fetch_one(&mut *transaction)
        .await?;
    if count >= limit {
        return Err(StoreError::Rejected {
            field: "timers",
            reason: "a user may have at most 1000 timers that are not done; delete some first",
        });
    }
    let schedule = &timer.schedule;
    let id: TimerId = sqlx::query_scalar(
        "INSERT INTO timers (user_id, name, schedule_kind, schedule_spec, at_time, timezone, anchor_at, \
         webhook_id, owns_webhook, payload_kind, digest_feed_id, next_fire_at, digest_category, digest_filter_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(timer.user_id)
    .bind(&timer.name)
    .bind(&schedule.kind)
    .bind(&schedule.spec)
    .bind(&schedule.at_time)
    .bind(&schedule.timezone)
    .bind(schedule.anchor)
    .bind(matches!(timer.target, TimerTarget::Url(_)))
    .bind(timer.payload.kind.as_str())
    .bind(timer.payload.feed_id)
    .bind(timer.next_fire_at)
    .bind(&timer.payload.category)
    .bind(timer.payload.filter)
    .fetch_one(&mut *transaction)
    .await?;
    let (webhook, secret) = attach_webhook(&mut transaction, timer.user_id, id, &timer.target).await?;
    let row: TimerRow = sqlx::query_as(&format!(
        "UPDATE timers SET webhook_id = $2 WHERE id = $1 RETURNING {TIMER_COLUMNS}"
    ))
    .bind(id)
    .bind(webhook)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(CreatedTimer {
        timer: row.into_timer()?,
        secret,
    })
}

/// The webhook a new timer delivers to: one of the user's own (not owned by another timer), or one created
/// for the timer from a bare URL, whose secret is returned.
async fn attach_webhook(
    connection: &mut PgConnection,
    user: UserId,
    timer: TimerId,
    target: &TimerTarget,
) -> Result<(WebhookId, Option<String>), StoreError> {
    match target {
        TimerTarget::Webhook(webhook) => {
            let owned: Option<i64> =
                sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND user_id = $2 AND timer_id IS NULL")
                    .bind(webhook)
                    .bind(user)
                    .fetch_optional(&mut *connection)
                    .await?;
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

pub(super) async fn get_timer(store: &PostgresStore, user: UserId, timer: TimerId) -> Result<Timer, StoreError> {
    let row: TimerRow = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE id = $1 AND user_id = $2"
    ))
    .bind(timer)
    .bind(user)
    .fetch_one(&store.pool)
    .await?;
    row.into_timer()
}

pub(super) async fn list_timers(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    before: Option<TimerId>,
) -> Result<Vec<Timer>, StoreError> {
    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user)
    .bind(before.unwrap_or(TimerId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    timer_rows::timers(rows)
}

pub(super) async fn update_timer(
    store: &PostgresStore,
    user: UserId,
    timer: TimerId,
    update: &TimerUpdate,
) -> Result<Option<Timer>, StoreError> {
    let schedule = &update.schedule;
    let row: Option<TimerRow> = sqlx::query_as(&format!(
        "UPDATE timers SET name = $3, schedule_kind = $4, schedule_spec = $5, at_time = $6, timezone = $7, \
         anchor_at = $8, payload_kind = $9, digest_feed_id = $10, status = $11, next_fire_at = $12, \
         digest_category = $14, digest_filter_id = $15, updated_at = now() \
         WHERE id = $1 AND user_id = $2 AND next_fire_at IS NOT DISTINCT FROM $13 RETURNING {TIMER_COLUMNS}"
    ))
    .bind(timer)
    .bind(user)
    .bind(&update.name)
    .bind(&schedule.kind)
    .bind(&schedule.spec)
    .bind(&schedule.at_time)
    .bind(&schedule.timezone)
    .bind(schedule.anchor)
    .bind(update.payload.kind.as_str())
    .bind(update.payload.feed_id)
    .bind(update.status.as_str())
    .bind(update.next_fire_at)
    .bind(update.expected_next_fire_at)
    .bind(&update.payload.category)
    .bind(update.payload.filter)
    .fetch_optional(&store.pool)
    .await?;
    row.map(TimerRow::into_timer).transpose()
}

pub(super) async fn delete_timer(store: &PostgresStore, user: UserId, timer: TimerId) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM timers WHERE id = $1 AND user_id = $2")
        .bind(timer)
        .bind(user)
        .execute(&mut *transaction)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    delete_owned_webhook(&mut transaction, timer).await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes the webhook a timer owns, with its deliveries.
async fn delete_owned_webhook(connection: &mut PgConnection, timer: TimerId) -> Result<(), StoreError> {
    delete_webhooks_of_timer(connection, timer).await?;
    Ok(())
}

pub(super) async fn due_timers(
    store: &PostgresStore,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Timer>, StoreError> {
    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE status = 'active' AND next_fire_at < $1 \
         ORDER BY next_fire_at, id LIMIT $2"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    timer_rows::timers(rows)
}

pub(super) async fn fire_timers(store: &PostgresStore, firings: &[TimerFiring]) -> Result<Vec<TimerId>, StoreError> {
    if firings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<TimerId> = firings.iter().map(|firing| firing.timer).collect();
    let scheduled: Vec<DateTime<Utc>> = firings.iter().map(|firing| firing.scheduled_for).collect();
    let fired: Vec<DateTime<Utc>> = firings.iter().map(|firing| firing.fired_at).collect();
    let next: Vec<Option<DateTime<Utc>>> = firings.iter().map(|firing| firing.next_fire_at).collect();
    let mut transaction = store.pool.begin().await?;
    let applied: Vec<TimerId> = sqlx::query_scalar(
        "UPDATE timers t SET next_fire_at = f.next, \
         status = CASE WHEN f.next IS NULL THEN 'done' ELSE t.status END, \
         last_fired_at = f.fired, fire_count = t.fire_count + 1, updated_at = f.fired \
         FROM UNNEST($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[]) \
              AS f(id, scheduled, fired, next) \
         WHERE t.id = f.id AND t.status = 'active' AND t.next_fire_at = f.scheduled \
         RETURNING t.id",
    )
    .bind(&ids)
    .bind(&scheduled)
    .bind(&fired)
    .bind(&next)
    .fetch_all(&mut *transaction)
    .await?;
    let applied_set: std::collections::HashSet<TimerId> = applied.iter().copied().collect();
    let delivered: Vec<&TimerFiring> = firings
        .iter()
        .filter(|firing| applied_set.contains(&firing.timer))
        .collect();
    enqueue_deliveries(&mut transaction, &delivered).await?;
    transaction.commit().await?;
    Ok(applied)
}

/// Writes the firings' deliveries into the webhooks' outbox, inside the firing transaction.
async fn enqueue_deliveries(connection: &mut PgConnection, firings: &[&TimerFiring]) -> Result<(), StoreError> {
    let deliveries: Vec<NewDelivery> = firings
        .iter()
        .map(|firing| NewDelivery::new(firing.webhook_id, TIMER_EVENT, firing.data.clone()))
        .collect();
    insert_deliveries(connection, &deliveries).await
}
