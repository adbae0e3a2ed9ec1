//! Webhooks and their delivery outbox: the domain types the store, the delivery actors, timers and the API share.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{FeedId, UserId};

pub type WebhookId = i64;
pub type DeliveryId = Uuid;

/// Which events a webhook may subscribe to. `webhook.disabled` goes to the owner's event stream, never to a webhook.
pub const SUBSCRIBABLE_EVENTS: [&str; 5] = ["article.new", "feed.status", "job.progress", "job.done", "share.new"];

/// A webhook to store: the user's own (`timer: None`), or one a timer owns for its bare `{url}` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub user_id: UserId,
    pub url: String,
    pub events: Vec<String>,
    pub feed_id: Option<FeedId>,
    /// Only articles and statuses of feeds in the owner's category of this name.
    pub category: Option<String>,
    /// Only new articles that the owner's saved filter of this id keeps.
    pub saved_filter: Option<crate::saved_filter::SavedFilterId>,
    pub timer_id: Option<i64>,
}

/// A stored webhook's id and its signing secret, which is shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWebhook {
    pub id: WebhookId,
    pub secret: String,
}

/// One event to deliver to one webhook, inserted into the outbox in the transaction of what it announces.
/// `data` is the event's `data` member; the delivery's id and the envelope are made when it is inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub webhook: WebhookId,
    pub event: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl NewDelivery {
    pub fn new(webhook: WebhookId, event: impl Into<String>, data: serde_json::Value) -> Self {
        NewDelivery {
            webhook,
            event: event.into(),
            data,
            created_at: Utc::now(),
        }
    }

    /// The body a receiver gets: `{id, event, created_at, data}`.
    pub fn payload(&self, id: DeliveryId) -> String {
        serde_json::json!({
            "id": id,
            "event": self.event,
            "created_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "data": self.data,
        })
        .to_string()
    }
}

/// Longest title an `article.new` delivery carries, in characters: the payload stays bounded.
const MAX_TITLE_CHARS: usize = 500;

/// The `data` of an `article.new` delivery: the article without its content.
pub fn article_new_data(
    article: crate::domain::ArticleId,
    feed: FeedId,
    title: Option<&str>,
    url: Option<&str>,
    published: DateTime<Utc>,
) -> serde_json::Value {
    let title = title.map(|title| title.chars().take(MAX_TITLE_CHARS).collect::<String>());
    serde_json::json!({
        "id": article,
        "feed_id": feed,
        "title": title,
        "url": url,
        "published": published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// The `data` of a `feed.status` delivery: the feed, its new status and, for `error`, `dead` and `failed`, the
/// last error.
pub fn feed_status_data(change: &crate::events::FeedStatusChange) -> serde_json::Value {
    serde_json::json!({
        "feed_id": change.feed,
        "status": change.status.as_str(),
        "error": change.error,
    })
}

/// One `feed.status` delivery per webhook matched to a changed feed, given the (feed, webhook) pairs.
pub fn status_deliveries(
    changes: &[crate::events::FeedStatusChange],
    matched: &[(FeedId, WebhookId)],
) -> Vec<NewDelivery> {
    let data: std::collections::HashMap<FeedId, serde_json::Value> = changes
        .iter()
        .map(|change| (change.feed, feed_status_data(change)))
        .collect();
    matched
        .iter()
        .filter_map(|(feed, webhook)| Some(NewDelivery::new(*webhook, "feed.status", data.get(feed)?.clone())))
        .collect()
}

/// The `data` of a `job.progress` event and delivery.
pub fn job_progress_data(job: crate::job::JobId, done: i64, total: i64) -> serde_json::Value {
    serde_json::json!({ "job_id": job, "done": done, "total": total.max(done) })
}

/// The `data` of a `job.done` event and delivery: the status the job ended in.
pub fn job_done_data(job: crate::job::JobId, status: crate::job::JobStatus) -> serde_json::Value {
    serde_json::json!({ "job_id": job, "status": status.as_str() })
}

/// A fresh signing secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Ok,
    Failed,
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Ok => "ok",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "ok" => Some(DeliveryStatus::Ok),
            "failed" => Some(DeliveryStatus::Failed),
            "dead" => Some(DeliveryStatus::Dead),
            _ => None,
        }
    }
}

/// A delivery as the outbox holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Where and how an endpoint actor sends a webhook's deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub id: WebhookId,
    pub user_id: UserId,
    pub url: String,
    pub secret: String,
    pub enabled: bool,
}

/// What one attempt did to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; the next attempt is due at this time.
    RetryAt(DateTime<Utc>),
    /// It failed and was the last attempt.
    Dead,
}

/// One attempt to send a delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub delivery: DeliveryId,
    pub webhook: WebhookId,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// After this many consecutive dead deliveries a webhook is disabled.
pub const DEAD_DELIVERIES_TO_DISABLE: i32 = 50;

/// The reason stored on a webhook disabled for its dead deliveries.
pub const DISABLED_FOR_DEAD_DELIVERIES: &str = "50 consecutive deliveries failed every attempt";

/// The most webhooks one user may have.
pub const MAX_WEBHOOKS_PER_USER: i64 = 100;

/// A user's webhook as they see it; the secret is shown only when it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub feed_id: Option<FeedId>,
    /// The name of the owner's category whose feeds it is about, if it is filtered to one.
    pub category: Option<String>,
    /// The owner's saved filter its new articles must match, if it is filtered by one.
    pub saved_filter: Option<crate::saved_filter::SavedFilterId>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_dead: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to a webhook; `None` keeps the field. Enabling clears the reason it was disabled and its count
/// of dead deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// One recorded attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// A delivery with its attempts, oldest first, as the deliveries listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub delivery: Delivery,
    pub attempts: Vec<AttemptRecord>,
}

/// Which of a webhook's deliveries to list, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    pub limit: u32,
    /// The last delivery of the previous page: the listing goes on after it (newest first).
    pub before: Option<DeliveryId>,
}
