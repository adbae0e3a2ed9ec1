//! What a webhook receiver gets: the body of each delivery, `{id, event, created_at, data}`, one shape per
//! event. The engine builds and stores these bodies when it writes a delivery; the API shows them as stored
//! ([`StoredPayload`]), and these types describe them in the contract.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Object, Union};
use serde_json::Value;
use syndic_actors::domain::{ArticleId, FeedId};
use syndic_actors::webhook::DeliveryId;

use crate::feeds::FeedStatusBody;
use crate::jobs::JobStatusBody;
use crate::nullable::Nullable;

/// The JSON body POSTed to a webhook. `event` says which; it is also the `X-Syndic-Event` header, and `id` the
/// `X-Syndic-Delivery` header.
#[derive(Debug, Union)]
#[oai(rename = "WebhookPayload", discriminator_name = "event")]
pub enum WebhookPayload {
    #[oai(mapping = "article.new")]
    ArticleNew(ArticleNewDelivery),
    #[oai(mapping = "feed.status")]
    FeedStatus(FeedStatusDelivery),
    #[oai(mapping = "job.progress")]
    JobProgress(JobProgressDelivery),
    #[oai(mapping = "job.done")]
    JobDone(JobDoneDelivery),
    #[oai(mapping = "timer.fired")]
    TimerFired(TimerFiredDelivery),
    #[oai(mapping = "share.new")]
    ShareNew(ShareNewDelivery),
}

/// One new article of a subscribed feed (one delivery per article).
#[derive(Debug, Object)]
pub struct ArticleNewDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: ArticleNewData,
}

/// The article, without its content.
#[derive(Debug, Object)]
pub struct ArticleNewData {
    /// The article, as `GET /v1/articles/{id}` names it.
    pub id: ArticleId,
    pub feed_id: FeedId,
    /// At most 500 characters.
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(nullable)]
    pub url: Nullable<String>,
    pub published: DateTime<Utc>,
}

/// A subscribed feed's status changed.
#[derive(Debug, Object)]
pub struct FeedStatusDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: FeedStatusData,
}

#[derive(Debug, Object)]
pub struct FeedStatusData {
    pub feed_id: FeedId,
    pub status: FeedStatusBody,
    /// The last error, for `error`, `dead` and `failed`; `null` for `ok`.
    #[oai(nullable)]
    pub error: Nullable<String>,
}

/// One of the user's jobs committed a step.
#[derive(Debug, Object)]
pub struct JobProgressDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: JobProgressData,
}

#[derive(Debug, Object)]
pub struct JobProgressData {
    /// The job, as `GET /v1/jobs/{id}` names it.
    pub job_id: i64,
    /// Items (feeds) processed so far.
    pub done: i64,
    /// Items to process.
    pub total: i64,
}

/// One of the user's jobs ended: `done`, `dead` (out of attempts) or `cancelled`.
#[derive(Debug, Object)]
pub struct JobDoneDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: JobDoneData,
}

#[derive(Debug, Object)]
pub struct JobDoneData {
    pub job_id: i64,
    pub status: JobStatusBody,
}

/// A friend shared a link with the webhook's owner.
#[derive(Debug, Object)]
pub struct ShareNewDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: ShareNewData,
}

/// The share, as `GET /v1/notifications` lists it, but for the sender's display name: events are kept and
/// replayed for 24 h, so they carry no name the sender may hide later. `GET /v1/notifications` and
/// `GET /v1/users/{username}` show it as the caller may see it now.
#[derive(Debug, Object)]
pub struct ShareNewData {
    /// The share; what `POST /v1/notifications/seen` takes.
    pub share_id: i64,
    /// The sender's username.
    pub from: String,
    #[oai(nullable)]
    pub article_id: Nullable<ArticleId>,
    #[oai(nullable)]
    pub url: Nullable<String>,
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(nullable)]
    pub note: Nullable<String>,
    pub created_at: DateTime<Utc>,
}

/// A timer fired (sent to its target only).
#[derive(Debug, Object)]
pub struct TimerFiredDelivery {
    pub id: DeliveryId,
    pub created_at: DateTime<Utc>,
    pub data: TimerFiredData,
}

#[derive(Debug, Object)]
pub struct TimerFiredData {
    /// The timer, as `GET /v1/timers/{id}` names it.
    pub id: i64,
    #[oai(nullable)]
    pub name: Nullable<String>,
    /// The instant it was due.
    pub scheduled_for: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// Fired more than the allowed lateness after `scheduled_for` (the engine was down).
    pub late: bool,
    /// For a digest timer only.
    #[oai(skip_serializing_if_is_none)]
    pub digest: Option<DigestData>,
}

/// The owner's unread articles published since the last firing, newest first.
#[derive(Debug, Object)]
pub struct DigestData {
    /// The last firing; `null` before the first.
    #[oai(nullable)]
    pub since: Nullable<DateTime<Utc>>,
    /// The feed the digest is limited to, if any.
    #[oai(nullable)]
    pub feed_id: Nullable<FeedId>,
    /// The category the digest is limited to, if any.
    #[oai(nullable)]
    pub category: Nullable<String>,
    /// The saved filter the digest is limited to, if any.
    #[oai(nullable)]
    pub filter: Nullable<i64>,
    /// Articles listed.
    pub count: i64,
    /// Whether there were more than the digest lists.
    pub more: bool,
    pub articles: Vec<DigestArticle>,
}

/// An article as a digest lists it: no content.
#[derive(Debug, Object)]
pub struct DigestArticle {
    pub id: ArticleId,
    pub feed_id: FeedId,
    #[oai(nullable)]
    pub feed_title: Nullable<String>,
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(nullable)]
    pub url: Nullable<String>,
    pub published_at: DateTime<Utc>,
}

/// A delivery's body as stored, shown as it was sent; described by [`WebhookPayload`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPayload(pub Value);

impl Type for StoredPayload {
    const IS_REQUIRED: bool = true;

    type RawValueType = Value;

    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        "WebhookPayload".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        WebhookPayload::schema_ref()
    }

    fn register(registry: &mut Registry) {
        WebhookPayload::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for StoredPayload {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(StoredPayload(value.unwrap_or(Value::Null)))
    }
}

impl ToJSON for StoredPayload {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ParseFromJSON;
    use serde_json::json;
    use syndic_actors::domain::FeedStatus;
    use syndic_actors::events::FeedStatusChange;
    use syndic_actors::job::JobStatus;
    use syndic_actors::webhook::{article_new_data, feed_status_data, job_done_data, job_progress_data, NewDelivery};
    use uuid::Uuid;

    use super::WebhookPayload;

    /// The engine's bodies parse as the contract's shapes: a change to either side that breaks a receiver's
    /// generated client fails here.
    #[test]
    fn the_engines_payloads_match_the_contract() {
        let published = chrono::Utc::now();
        let bodies = [
            NewDelivery::new(1, "article.new", article_new_data(7, 3, Some("Title"), None, published)),
            NewDelivery::new(
                1,
                "feed.status",
                feed_status_data(&FeedStatusChange {
                    feed: 3,
                    status: FeedStatus::Dead,
                    error: Some("HTTP 500".to_owned()),
                }),
            ),
            NewDelivery::new(1, "feed.status", feed_status_data(&FeedStatusChange::ok(3))),
            NewDelivery::new(1, "job.progress", job_progress_data(5, 10, 20)),
            NewDelivery::new(1, "job.done", job_done_data(5, JobStatus::Cancelled)),
        ];
        for body in bodies {
            let payload: serde_json::Value = serde_json::from_str(&body.payload(Uuid::new_v4())).unwrap();
            let parsed = WebhookPayload::parse_from_json(Some(payload.clone()));
            assert!(
                parsed.is_ok(),
                "{payload} does not match the contract: {:?}",
                parsed.err()
            );
        }
        let unknown = json!({ "id": Uuid::new_v4(), "event": "feed.status", "created_at": published, "data": {} });
        assert!(
            WebhookPayload::parse_from_json(Some(unknown)).is_err(),
            "the check can fail"
        );
    }
}
