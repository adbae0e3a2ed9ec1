//! The event log on SQLite: appending a batch as JSON unpacked by `json_each`, replaying, and pruning.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use uuid::fmt::Hyphenated;

use super::rows::micros;
use super::SqliteStore;
use crate::domain::{FeedId, UserId};
use crate::events::{Event, EventLogBounds, NewEvent};
use crate::store::error::sqlite_error;
use crate::store::event_log::{self, events_per_user, now_to_the_microsecond, number_events, EVENT_COLUMNS};
use crate::store::StoreError;

type EventRow = event_log::EventRow<Hyphenated, i64>;

pub(super) async fn append_events(store: &SqliteStore, events: &[NewEvent]) -> Result<Vec<Event>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut transaction = store.begin_write().await?;
    let stored = append_events_in(&mut transaction, events).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(stored)
}

/// Numbers `events` from each user's counter and stores them, in the caller's write transaction: they become
/// visible with what caused them.
pub(super) async fn append_events_in(
    connection: &mut SqliteConnection,
    events: &[NewEvent],
) -> Result<Vec<Event>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let counts = events_per_user(events);
    let added: Vec<Value> = counts
        .iter()
        .map(|(user, added)| json!([user.hyphenated().to_string(), added]))
        .collect();
    let at = now_to_the_microsecond();

    let last_after: Vec<(Hyphenated, i64)> = sqlx::query_as(
        "UPDATE users SET last_event_id = last_event_id + (c.value ->> 1) \
         FROM json_each($1) c WHERE users.id = c.value ->> 0 \
         RETURNING users.id, users.last_event_id",
    )
    .bind(Value::Array(added).to_string())
    .fetch_all(&mut *connection)
    .await
    .map_err(sqlite_error)?;
    let last_before: HashMap<UserId, i64> = last_after
        .into_iter()
        .map(|(user, last)| {
            let user = user.into_uuid();
            (user, last - counts[&user])
        })
        .collect();
    let stored = number_events(events, last_before, at);

    let rows: Vec<Value> = stored
        .iter()
        .map(|event| {
            json!([
                event.user.hyphenated().to_string(),
                event.id,
                event.kind.as_str(),
                event.feed,
                event.data.to_string()
            ])
        })
        .collect();
    sqlx::query(
        "INSERT INTO events (user_id, id, kind, feed_id, data, created_at) \
         SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, $2 FROM json_each($1) e",
    )
    .bind(Value::Array(rows).to_string())
    .bind(micros(at))
    .execute(&mut *connection)
    .await
    .map_err(sqlite_error)?;
    Ok(stored)
}

pub(super) async fn events_after(
    store: &SqliteStore,
    user: UserId,
    after: i64,
    limit: u32,
) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(user.hyphenated())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    event_log::events(rows)
}

pub(super) async fn event_log_bounds(store: &SqliteStore, user: UserId) -> Result<EventLogBounds, StoreError> {
    let (oldest_kept, last_id): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT min(id) FROM events WHERE user_id = $1), last_event_id FROM users WHERE id = $1",
    )
    .bind(user.hyphenated())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(EventLogBounds { oldest_kept, last_id })
}

pub(super) async fn prune_events(
    store: &SqliteStore,
    older_than: DateTime<Utc>,
    max_per_user: u32,
    limit: u32,
) -> Result<u64, StoreError> {
    let mut transaction = store.begin_write().await?;
    let old = sqlx::query(
        "DELETE FROM events WHERE (user_id, id) IN \
           (SELECT user_id, id FROM events WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(micros(older_than))
    .bind(i64::from(limit))
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    // A user's ids have no gaps, so the newest `max_per_user` are those above last_event_id - max_per_user.
    let excess = sqlx::query(
        "DELETE FROM events WHERE (user_id, id) IN \
           (SELECT e.user_id, e.id FROM users u \
            JOIN events e ON e.user_id = u.id AND e.id <= u.last_event_id - $1 \
            WHERE u.last_event_id > $1 LIMIT $2)",
    )
    .bind(i64::from(max_per_user))
    .bind(i64::from(limit))
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(old.rows_affected() + excess.rows_affected())
}

pub(super) async fn subscribers_of_feeds(
    store: &SqliteStore,
    feeds: &[FeedId],
) -> Result<Vec<(FeedId, UserId)>, StoreError> {
    let mut connection = store.pool.acquire().await.map_err(sqlite_error)?;
    subscribers_of_feeds_in(&mut connection, feeds).await
}

/// The (feed, user) pair of each subscription to one of `feeds`, as `connection` sees them.
pub(super) async fn subscribers_of_feeds_in(
    connection: &mut SqliteConnection,
    feeds: &[FeedId],
) -> Result<Vec<(FeedId, UserId)>, StoreError> {
    let feeds = Value::Array(feeds.iter().map(|feed| json!(feed)).collect()).to_string();
    let rows: Vec<(FeedId, Hyphenated)> = sqlx::query_as(
        "SELECT s.feed_id, s.user_id FROM json_each($1) f JOIN subscriptions s ON s.feed_id = f.value \
         ORDER BY s.feed_id, s.user_id",
    )
    .bind(feeds)
    .fetch_all(connection)
    .await
    .map_err(sqlite_error)?;
    Ok(rows.into_iter().map(|(feed, user)| (feed, user.into_uuid())).collect())
}
