//! Webhooks and their delivery outbox: the domain types the store, the delivery actors, timers and the API share.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{FeedId, UserId};

pub type WebhookId = i64;
pub type DeliveryId = Uuid;

/// Which events a webhook may subscribe to. `webhook.disabled` goes to the owner's event stream, never to a webhook.
pub const SUBSCRIBABLE_EVENTS: [&str; 4] = ["article.new", "feed.status", "job.progress", "job.done"];

/// A webhook to store: the user's own (`timer: None`), or one a timer owns for its bare `{url}` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub user_id: UserId,
    pub url: String,
    pub events: Vec<String>,
    pub feed_id: Option<FeedId>,
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
