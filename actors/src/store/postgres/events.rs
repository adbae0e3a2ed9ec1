//! The event log on Postgres: appending a batch by UNNEST, replaying, and pruning.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::{FeedId, UserId};
use crate::events::{Event, EventLogBounds, NewEvent};
use crate::store::event_log::{self, events_per_user, now_to_the_microsecond, number_events, EVENT_COLUMNS};
use crate::store::StoreError;

type EventRow = event_log::EventRow<Uuid, DateTime<Utc>>;

pub(super) async fn append_events(store: &PostgresStore, events: &[NewEvent]) -> Result<Vec<Event>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let counts = events_per_user(events);
    let users: Vec<Uuid> = counts.keys().copied().collect();
    let added: Vec<i64> = counts.values().copied().collect();
    let at = now_to_the_microsecond();

    let mut transaction = store.pool.begin().await?;
    let last_after: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE users u SET last_event_id = u.last_event_id + c.added \
         FROM UNNEST($1::uuid[], $2::bigint[]) AS c(id, added) WHERE u.id = c.id \
         RETURNING u.id, u.last_event_id",
    )
    .bind(&users)
    .bind(&added)
    .fetch_all(&mut *transaction)
    .await?;
    let last_before: HashMap<UserId, i64> = last_after
        .into_iter()
        .map(|(user, last)| (user, last - counts[&user]))
        .collect();
    let stored = number_events(events, last_before, at);

    let mut user_ids = Vec::with_capacity(stored.len());
    let mut ids = Vec::with_capacity(stored.len());
    let mut kinds = Vec::with_capacity(stored.len());
    let mut feed_ids = Vec::with_capacity(stored.len());
    let mut data = Vec::with_capacity(stored.len());
    for event in &stored {
        user_ids.push(event.user);
        ids.push(event.id);
        kinds.push(event.kind.as_str());
        feed_ids.push(event.feed);
        data.push(event.data.to_string());
    }
    sqlx::query(
        "INSERT INTO events (user_id, id, kind, feed_id, data, created_at) \
         SELECT e.user_id, e.id, e.kind, e.feed_id, e.data, $6 \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::text[]) \
           AS e(user_id, id, kind, feed_id, data)",
    )
    .bind(&user_ids)
    .bind(&ids)
    .bind(&kinds)
    .bind(&feed_ids)
    .bind(&data)
    .bind(at)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(stored)
}

pub(super) async fn events_after(
    store: &PostgresStore,
    user: UserId,
    after: i64,
    limit: u32,
) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(user)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    event_log::events(rows)
}

pub(super) async fn event_log_bounds(store: &PostgresStore, user: UserId) -> Result<EventLogBounds, StoreError> {
    let (oldest_kept, last_id): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT min(id) FROM events WHERE user_id = $1), last_event_id FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_one(&store.pool)
    .await?;
    Ok(EventLogBounds { oldest_kept, last_id })
}

pub(super) async fn prune_events(
    store: &PostgresStore,
    older_than: DateTime<Utc>,
    max_per_user: u32,
    limit: u32,
) -> Result<u64, StoreError> {
    let old = sqlx::query(
        "DELETE FROM events WHERE (user_id, id) IN \
           (SELECT user_id, id FROM events WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(older_than)
    .bind(i64::from(limit))
    .execute(&store.pool)
    .await?;
    // A user's ids have no gaps, so the newest `max_per_user` are those above last_event_id - max_per_user.
    let excess = sqlx::query(
        "DELETE FROM events WHERE (user_id, id) IN \
           (SELECT e.user_id, e.id FROM users u \
            JOIN events e ON e.user_id = u.id AND e.id <= u.last_event_id - $1 \
            WHERE u.last_event_id > $1 LIMIT $2)",
    )
    .bind(i64::from(max_per_user))
    .bind(i64::from(limit))
    .execute(&store.pool)
    .await?;
    Ok(old.rows_affected() + excess.rows_affected())
}

pub(super) async fn subscribers_of_feeds(
    store: &PostgresStore,
    feeds: &[FeedId],
) -> Result<Vec<(FeedId, UserId)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT feed_id, user_id FROM subscriptions WHERE feed_id = ANY($1) ORDER BY feed_id, user_id")
            .bind(feeds)
            .fetch_all(&store.pool)
            .await?,
    )
}
