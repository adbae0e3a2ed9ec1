//! Webhooks and their delivery outbox on SQLite. The free functions take a connection, so that any
//! transaction (a flush, a timer's firing) can insert what it announces in the same commit.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use uuid::fmt::Hyphenated;
use uuid::Uuid;

use super::rows::{micros, now_micros};
use super::saved_filters::matching_articles;
use super::SqliteStore;
use crate::domain::{ArticleId, FeedId, UserId};
use crate::events::FeedStatusChange;
use crate::saved_filter::SavedFilterId;
use crate::store::error::sqlite_error;
use crate::store::organise_sql::WEBHOOK_TAKES_CATEGORY;
use crate::store::rows::{decode_error, Decoded};
use crate::store::saved_filter_sql::articles_per_filter;
use crate::store::StoreError;
use crate::webhook::{
    article_new_data, new_secret, status_deliveries, CreatedWebhook, Delivery, DeliveryStatus, NewDelivery, NewWebhook,
    WebhookId,
};

pub(super) const DELIVERY_COLUMNS: &str =
    "id, webhook_id, event, payload, created_at, status, attempts, next_attempt_at, \
                                last_status, last_error, delivered_at";

pub(super) type DeliveryRow = (
    Hyphenated,
    WebhookId,
    String,
    String,
    i64,
    String,
    i32,
    i64,
    Option<i32>,
    Option<String>,
    Option<i64>,
);

pub(super) fn delivery(row: DeliveryRow) -> Result<Delivery, StoreError> {
    let (
        id,
        webhook_id,
        event,
        payload,
        created_at,
        status,
        attempts,
        next_attempt_at,
        last_status,
        last_error,
        delivered_at,
    ) = row;
    let status = DeliveryStatus::parse(&status).ok_or_else(|| decode_error(format!("delivery status {status:?}")))?;
    Ok(Delivery {
        id: id.into_uuid(),
        webhook_id,
        event,
        payload,
        created_at: created_at.decoded()?,
        status,
        attempts,
        next_attempt_at: next_attempt_at.decoded()?,
        last_status,
        last_error,
        delivered_at: delivered_at.map(Decoded::decoded).transpose()?,
    })
}

/// Stores an enabled webhook with a fresh secret, inside the caller's transaction.
pub(crate) async fn insert_webhook(
    conn: &mut SqliteConnection,
    webhook: &NewWebhook,
) -> Result<CreatedWebhook, StoreError> {
    let secret = new_secret();
    let events = serde_json::to_string(&webhook.events).map_err(|error| decode_error(format!("events: {error}")))?;
    let id: WebhookId = sqlx::query_scalar(
        "INSERT INTO webhooks (user_id, url, events, feed_id, secret, timer_id, created_at, updated_at, category, \
         saved_filter_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id",
    )
    .bind(webhook.user_id.hyphenated())
    .bind(&webhook.url)
    .bind(events)
    .bind(webhook.feed_id)
    .bind(&secret)
    .bind(webhook.timer_id)
    .bind(now_micros())
    .bind(&webhook.category)
    .bind(webhook.saved_filter)
    .fetch_one(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    Ok(CreatedWebhook { id, secret })
}

/// Deletes the webhooks a timer owns (with their deliveries), inside the caller's transaction.
#[allow(dead_code, reason = "the timers call it")]
pub(crate) async fn delete_webhooks_of_timer(conn: &mut SqliteConnection, timer: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM webhooks WHERE timer_id = $1")
        .bind(timer)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_error)?
        .rows_affected())
}

/// Puts deliveries in the outbox, due at once, inside the caller's transaction.
pub(crate) async fn insert_deliveries(
    conn: &mut SqliteConnection,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    for new in deliveries {
        let id = Uuid::new_v4();
        let created_at = micros(new.created_at);
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.hyphenated())
        .bind(new.webhook)
        .bind(&new.event)
        .bind(new.payload(id))
        .bind(created_at)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_error)?;
    }
    Ok(())
}

pub(super) async fn create_webhook(store: &SqliteStore, webhook: &NewWebhook) -> Result<CreatedWebhook, StoreError> {
    let mut conn = store.pool.acquire().await.map_err(sqlite_error)?;
    insert_webhook(&mut conn, webhook).await
}

pub(super) async fn enqueue_deliveries(store: &SqliteStore, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    insert_deliveries(&mut transaction, deliveries).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn due_deliveries(
    store: &SqliteStore,
    webhook: WebhookId,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
         WHERE webhook_id = $1 AND status IN ('pending', 'failed') AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at, created_at, id LIMIT $3"
    ))
    .bind(webhook)
    .bind(micros(now))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows.into_iter().map(delivery).collect()
}

/// A new article and a webhook it goes to: the webhook, the article's id, feed, title, URL and date, and the
/// webhook's owner and saved filter.
type ArticleMatch = (
    WebhookId,
    ArticleId,
    FeedId,
    Option<String>,
    Option<String>,
    i64,
    Hyphenated,
    Option<SavedFilterId>,
);

/// The candidates whose webhook takes every new article, or whose saved filter keeps theirs: decided on the
/// flush's own transaction by the matcher the timeline agrees with, one matching statement per saved filter
/// (per 500 articles) named by a candidate, whatever the number of webhooks naming it.
async fn keep_saved_filter_matches(
    conn: &mut SqliteConnection,
    matched: Vec<ArticleMatch>,
) -> Result<Vec<ArticleMatch>, StoreError> {
    let per_filter = articles_per_filter(
        matched
            .iter()
            .map(|candidate| (candidate.6.into_uuid(), candidate.7, candidate.1)),
    );
    let mut kept = HashSet::new();
    for ((user, filter), articles) in per_filter {
        for article in matching_articles(conn, user, filter, &articles).await? {
            kept.insert((user, filter, article));
        }
    }
    Ok(matched
        .into_iter()
        .filter(|candidate| {
            candidate
                .7
                .is_none_or(|filter| kept.contains(&(candidate.6.into_uuid(), filter, candidate.1)))
        })
        .collect())
}

/// Inside the flush's transaction: an `article.new` delivery of each new article to each enabled webhook of
/// each of its feed's subscribers that subscribes to it (and to that feed, when it filters by feed). Timers'
/// webhooks get only their timer's events. Returns which webhooks got deliveries of which feed's articles.
pub(super) async fn insert_article_deliveries(
    conn: &mut SqliteConnection,
    articles: &[ArticleId],
) -> Result<Vec<(FeedId, WebhookId)>, StoreError> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::Value::from(articles.to_vec()).to_string();
    let matched: Vec<ArticleMatch> = sqlx::query_as(&format!(
        "SELECT w.id, a.id, a.feed_id, a.title, a.url, a.published_at, w.user_id, w.saved_filter_id \
         FROM json_each($1) k \
         JOIN articles a ON a.id = k.value \
         JOIN subscriptions s ON s.feed_id = a.feed_id \
         JOIN webhooks w ON w.user_id = s.user_id AND w.enabled = 1 AND w.timer_id IS NULL \
           AND (w.feed_id IS NULL OR w.feed_id = a.feed_id) AND {WEBHOOK_TAKES_CATEGORY} \
           AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = 'article.new') \
         ORDER BY a.id, w.id",
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    let matched = keep_saved_filter_matches(conn, matched).await?;
    let mut deliveries = Vec::with_capacity(matched.len());
    for (webhook, article, feed, title, url, published, ..) in &matched {
        let data = article_new_data(*article, *feed, title.as_deref(), url.as_deref(), published.decoded()?);
        deliveries.push(NewDelivery::new(*webhook, "article.new", data));
    }
    insert_deliveries(conn, &deliveries).await?;
    Ok(matched
        .into_iter()
        .map(|(webhook, _, feed, ..)| (feed, webhook))
        .collect())
}

/// Inside the caller's transaction: a delivery of one of `user`'s own events (a job's) to each of their
/// enabled webhooks subscribed to it and not filtered to a feed or a category. Returns the webhooks that got one.
pub(crate) async fn insert_user_event_deliveries(
    conn: &mut SqliteConnection,
    user: UserId,
    event: &str,
    data: &serde_json::Value,
) -> Result<Vec<WebhookId>, StoreError> {
    let webhooks: Vec<WebhookId> = sqlx::query_scalar(
        "SELECT w.id FROM webhooks w WHERE w.user_id = $1 AND w.enabled = 1 AND w.timer_id IS NULL \
         AND w.feed_id IS NULL AND w.category IS NULL \
         AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = $2) ORDER BY w.id",
    )
    .bind(user.hyphenated())
    .bind(event)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    let deliveries: Vec<NewDelivery> = webhooks
        .iter()
        .map(|webhook| NewDelivery::new(*webhook, event, data.clone()))
        .collect();
    insert_deliveries(conn, &deliveries).await?;
    Ok(webhooks)
}

/// Inside the transaction that stored feeds' new statuses: a `feed.status` delivery of each change to each
/// enabled webhook of the feed's subscribers that subscribes to it (unfiltered, or filtered to that feed).
/// Returns which webhooks got a delivery about which feed.
pub(crate) async fn insert_status_deliveries(
    conn: &mut SqliteConnection,
    changes: &[FeedStatusChange],
) -> Result<Vec<(FeedId, WebhookId)>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let feeds = serde_json::Value::from(changes.iter().map(|change| change.feed).collect::<Vec<_>>()).to_string();
    let matched: Vec<(FeedId, WebhookId)> = sqlx::query_as(&format!(
        "SELECT s.feed_id, w.id FROM json_each($1) k JOIN subscriptions s ON s.feed_id = k.value \
         JOIN webhooks w ON w.user_id = s.user_id AND w.enabled = 1 AND w.timer_id IS NULL \
           AND (w.feed_id IS NULL OR w.feed_id = s.feed_id) AND {WEBHOOK_TAKES_CATEGORY} \
           AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = 'feed.status') \
         GROUP BY s.feed_id, w.id ORDER BY s.feed_id, w.id",
    ))
    .bind(feeds)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    insert_deliveries(conn, &status_deliveries(changes, &matched)).await?;
    Ok(matched)
}
