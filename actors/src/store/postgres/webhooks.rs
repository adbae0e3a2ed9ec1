//! Webhooks and their delivery outbox on Postgres. The free functions take a connection, so that any
//! transaction (a flush, a timer's firing) can insert what it announces in the same commit.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::saved_filters::matching_articles;
use super::PostgresStore;
use crate::domain::{ArticleId, FeedId, UserId};
use crate::events::FeedStatusChange;
use crate::saved_filter::SavedFilterId;
use crate::store::organise_sql::WEBHOOK_TAKES_CATEGORY;
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
    Uuid,
    WebhookId,
    String,
    String,
    DateTime<Utc>,
    String,
    i32,
    DateTime<Utc>,
    Option<i32>,
    Option<String>,
    Option<DateTime<Utc>>,
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
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| crate::store::rows::decode_error(format!("delivery status {status:?}")))?;
    Ok(Delivery {
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
    })
}

/// Stores an enabled webhook with a fresh secret, inside the caller's transaction.
pub(crate) async fn insert_webhook(
    conn: &mut PgConnection,
    webhook: &NewWebhook,
) -> Result<CreatedWebhook, StoreError> {
    let secret = new_secret();
    let id: WebhookId = sqlx::query_scalar(
        "INSERT INTO webhooks (user_id, url, events, feed_id, secret, timer_id, category, saved_filter_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(webhook.user_id)
    .bind(&webhook.url)
    .bind(&webhook.events)
    .bind(webhook.feed_id)
    .bind(&secret)
    .bind(webhook.timer_id)
    .bind(&webhook.category)
    .bind(webhook.saved_filter)
    .fetch_one(&mut *conn)
    .await?;
    Ok(CreatedWebhook { id, secret })
}

/// Deletes the webhooks a timer owns (with their deliveries), inside the caller's transaction.
#[allow(dead_code, reason = "the timers call it")]
pub(crate) async fn delete_webhooks_of_timer(conn: &mut PgConnection, timer: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM webhooks WHERE timer_id = $1")
        .bind(timer)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Puts deliveries in the outbox, due at once, inside the caller's transaction.
pub(crate) async fn insert_deliveries(conn: &mut PgConnection, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = deliveries.iter().map(|_| Uuid::new_v4()).collect();
    let webhooks: Vec<WebhookId> = deliveries.iter().map(|delivery| delivery.webhook).collect();
    let events: Vec<&str> = deliveries.iter().map(|delivery| delivery.event.as_str()).collect();
    let payloads: Vec<String> = deliveries
        .iter()
        .zip(&ids)
        .map(|(delivery, id)| delivery.payload(*id))
        .collect();
    let created: Vec<DateTime<Utc>> = deliveries.iter().map(|delivery| delivery.created_at).collect();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at) \
         SELECT id, webhook_id, event, payload, created_at, created_at \
         FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) \
              AS input (id, webhook_id, event, payload, created_at)",
    )
    .bind(&ids)
    .bind(&webhooks)
    .bind(&events)
    .bind(&payloads)
    .bind(&created)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn create_webhook(store: &PostgresStore, webhook: &NewWebhook) -> Result<CreatedWebhook, StoreError> {
    let mut conn = store.pool.acquire().await?;
    insert_webhook(&mut conn, webhook).await
}

pub(super) async fn enqueue_deliveries(store: &PostgresStore, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    insert_deliveries(&mut transaction, deliveries).await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn due_deliveries(
    store: &PostgresStore,
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
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
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
    DateTime<Utc>,
    UserId,
    Option<SavedFilterId>,
);

/// The candidates whose webhook takes every new article, or whose saved filter keeps theirs: decided on the
/// flush's own transaction by the matcher the timeline agrees with, one matching statement per saved filter
/// (per 500 articles) named by a candidate, whatever the number of webhooks naming it.
async fn keep_saved_filter_matches(
    conn: &mut PgConnection,
    matched: Vec<ArticleMatch>,
) -> Result<Vec<ArticleMatch>, StoreError> {
    let per_filter = articles_per_filter(matched.iter().map(|candidate| (candidate.6, candidate.7, candidate.1)));
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
                .is_none_or(|filter| kept.contains(&(candidate.6, filter, candidate.1)))
        })
        .collect())
}

/// Inside the flush's transaction: an `article.new` delivery of each new article to each enabled webhook of
/// each of its feed's subscribers that subscribes to it (and to that feed, when it filters by feed). Timers'
/// webhooks get only their timer's events. Returns which webhooks got deliveries of which feed's articles.
pub(super) async fn insert_article_deliveries(
    conn: &mut PgConnection,
    articles: &[ArticleId],
) -> Result<Vec<(FeedId, WebhookId)>, StoreError> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let matched: Vec<ArticleMatch> = sqlx::query_as(&format!(
        "SELECT w.id, a.id, a.feed_id, a.title, a.url, a.published_at, w.user_id, w.saved_filter_id \
             FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id \
             JOIN webhooks w ON w.user_id = s.user_id AND w.enabled AND w.timer_id IS NULL \
               AND 'article.new' = ANY (w.events) AND (w.feed_id IS NULL OR w.feed_id = a.feed_id) \
               AND {WEBHOOK_TAKES_CATEGORY} \
             WHERE a.id = ANY ($1) ORDER BY a.id, w.id",
    ))
    .bind(articles)
    .fetch_all(&mut *conn)
    .await?;
    let matched = keep_saved_filter_matches(conn, matched).await?;
    let deliveries: Vec<NewDelivery> = matched
        .iter()
        .map(|(webhook, article, feed, title, url, published, ..)| {
            let data = article_new_data(*article, *feed, title.as_deref(), url.as_deref(), *published);
            NewDelivery::new(*webhook, "article.new", data)
        })
        .collect();
    insert_deliveries(conn, &deliveries).await?;
    Ok(matched
        .into_iter()
        .map(|(webhook, _, feed, ..)| (feed, webhook))
        .collect())
}

/// Inside the caller's transaction: a delivery of one of `user`'s own events (a job's) to each of their
/// enabled webhooks subscribed to it and not filtered to a feed or a category. Returns the webhooks that got one.
pub(crate) async fn insert_user_event_deliveries(
    conn: &mut PgConnection,
    user: UserId,
    event: &str,
    data: &serde_json::Value,
) -> Result<Vec<WebhookId>, StoreError> {
    let webhooks: Vec<WebhookId> = sqlx::query_scalar(
        "SELECT id FROM webhooks WHERE user_id = $1 AND enabled AND timer_id IS NULL AND feed_id IS NULL \
         AND category IS NULL AND $2 = ANY (events) ORDER BY id",
    )
    .bind(user)
    .bind(event)
    .fetch_all(&mut *conn)
    .await?;
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
    conn: &mut PgConnection,
    changes: &[FeedStatusChange],
) -> Result<Vec<(FeedId, WebhookId)>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let feeds: Vec<FeedId> = changes.iter().map(|change| change.feed).collect();
    let matched: Vec<(FeedId, WebhookId)> = sqlx::query_as(&format!(
        "SELECT s.feed_id, w.id FROM subscriptions s JOIN webhooks w ON w.user_id = s.user_id AND w.enabled \
           AND w.timer_id IS NULL AND (w.feed_id IS NULL OR w.feed_id = s.feed_id) \
           AND 'feed.status' = ANY (w.events) AND {WEBHOOK_TAKES_CATEGORY} \
         WHERE s.feed_id = ANY ($1) ORDER BY s.feed_id, w.id",
    ))
    .bind(&feeds)
    .fetch_all(&mut *conn)
    .await?;
    insert_deliveries(conn, &status_deliveries(changes, &matched)).await?;
    Ok(matched)
}
