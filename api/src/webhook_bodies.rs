//! The JSON shapes of the webhook routes (`webhooks.rs`), and their conversions from the engine's types.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{ApiResponse, Enum, Object};
use serde_json::Value;
use syndic_actors::domain::FeedId;
use syndic_actors::webhook::{DeliveryId, DeliveryRecord, DeliveryStatus, Webhook, WebhookId, SUBSCRIBABLE_EVENTS};

use crate::nullable::Nullable;
use crate::webhook_payloads::StoredPayload;

/// Which events reach the webhook.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "WebhookFilter")]
pub struct WebhookFilterBody {
    /// Only this feed's events (it must be one of yours).
    #[oai(skip_serializing_if_is_none, deserialize_with = "crate::strict_json::filter_feed_id")]
    pub feed_id: Option<FeedId>,
    /// Only events of feeds in your category of this name (`article.new`, `feed.status`; events about no feed,
    /// such as `job.done`, do not reach a filtered webhook). It must exist when the webhook is made; renaming the
    /// category carries the filter along, and deleting it leaves a filter that matches nothing.
    #[oai(
        skip_serializing_if_is_none,
        deserialize_with = "crate::strict_json::filter_category_of_webhook"
    )]
    pub category: Option<String>,
    /// Only the new articles (`article.new`) that your saved filter of this id keeps: an article is delivered
    /// when `GET /v1/articles?filter=` would list it. Other events are filtered by `feed_id` and `category` only.
    /// It must exist when the webhook is made; deleting it leaves a filter that matches nothing.
    #[oai(
        skip_serializing_if_is_none,
        deserialize_with = "crate::strict_json::filter_saved_filter"
    )]
    pub saved_filter: Option<i64>,
}

/// An event kind in a webhook request. The schema lists the kinds a webhook may subscribe to; any string is
/// read, so that the engine's check answers an unknown one with a 422 naming `events`, as it always has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventName(pub String);

impl WebhookEventName {
    pub fn strings(names: Vec<WebhookEventName>) -> Vec<String> {
        names.into_iter().map(|name| name.0).collect()
    }
}

impl Type for WebhookEventName {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "WebhookEventName".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            enum_items: SUBSCRIBABLE_EVENTS.iter().map(|event| Value::from(*event)).collect(),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for WebhookEventName {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        String::parse_from_json(value)
            .map(WebhookEventName)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for WebhookEventName {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookRequest")]
pub struct CreateWebhookRequest {
    /// Where deliveries are POSTed: http or https, under the same rules as feed URLs (no private addresses).
    #[oai(deserialize_with = "crate::strict_json::url", validator(max_length = 2048))]
    pub url: String,
    /// Event kinds to deliver: `article.new`, `feed.status`, `job.progress`, `job.done`, `share.new`.
    #[oai(validator(min_items = 1, max_items = 10))]
    pub events: Vec<WebhookEventName>,
    #[oai(deserialize_with = "crate::strict_json::filter")]
    pub filter: Option<WebhookFilterBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookPatch")]
pub struct WebhookPatchRequest {
    #[oai(deserialize_with = "crate::strict_json::url_if_given", validator(max_length = 2048))]
    pub url: Option<String>,
    #[oai(
        validator(min_items = 1, max_items = 10),
        deserialize_with = "crate::strict_json::events"
    )]
    pub events: Option<Vec<WebhookEventName>>,
    /// Enabling a webhook clears why it was disabled; its waiting deliveries go out.
    #[oai(deserialize_with = "crate::strict_json::enabled")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "Webhook")]
pub struct WebhookBody {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub filter: WebhookFilterBody,
    pub enabled: bool,
    /// Why the server disabled it (after 50 dead deliveries in a row); `null` when enabled or disabled by you.
    #[oai(nullable)]
    pub disabled_reason: Nullable<String>,
    /// Deliveries in a row that failed every attempt.
    pub consecutive_dead: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new webhook, with the secret its deliveries are signed with: shown this once.
#[derive(Debug, Object)]
#[oai(rename = "CreatedWebhook")]
pub struct CreatedWebhookBody {
    #[oai(flatten)]
    pub webhook: WebhookBody,
    pub secret: String,
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookSecret")]
pub struct SecretBody {
    /// Deliveries from now on are signed with it; shown this once.
    pub secret: String,
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookList")]
pub struct WebhooksBody {
    /// Newest first.
    pub webhooks: Vec<WebhookBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "DeliveryStatus", rename_all = "lowercase")]
pub enum DeliveryStatusBody {
    /// Waiting for its first attempt.
    Pending,
    /// The receiver answered 2xx.
    Ok,
    /// An attempt failed; it is tried again at `next_attempt_at`.
    Failed,
    /// Every attempt failed; redeliver it to try again.
    Dead,
}

#[derive(Debug, Object)]
#[oai(rename = "DeliveryAttempt")]
pub struct AttemptBody {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when there was no answer.
    #[oai(nullable)]
    pub status_code: Nullable<i32>,
    pub latency_ms: i64,
    #[oai(nullable)]
    pub error: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "Delivery")]
pub struct DeliveryBody {
    /// Also the `X-Syndic-Delivery` header.
    pub id: DeliveryId,
    pub event: String,
    pub status: DeliveryStatusBody,
    /// The body POSTed, as it was sent.
    pub payload: StoredPayload,
    pub created_at: DateTime<Utc>,
    /// When a pending or failed delivery is tried next.
    #[oai(nullable)]
    pub next_attempt_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub delivered_at: Nullable<DateTime<Utc>>,
    /// Every attempt, oldest first (a redelivery's attempts follow the earlier ones).
    pub attempts: Vec<AttemptBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "DeliveryList")]
pub struct DeliveriesBody {
    /// Newest first.
    pub deliveries: Vec<DeliveryBody>,
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "Redelivery")]
pub struct RedeliveryBody {
    pub id: DeliveryId,
    pub status: DeliveryStatusBody,
    pub next_attempt_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
pub enum CreateWebhookResponse {
    /// The webhook exists; keep its secret, it is not shown again.
    #[oai(status = 201)]
    Created(Json<CreatedWebhookBody>),
}

#[derive(ApiResponse)]
pub enum DeleteWebhookResponse {
    /// The webhook and its deliveries are gone.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum RedeliverResponse {
    /// The delivery is due again at once, with a fresh set of attempts.
    #[oai(status = 202)]
    Accepted(Json<RedeliveryBody>),
}

pub(crate) fn webhook_body(webhook: Webhook) -> WebhookBody {
    WebhookBody {
        id: webhook.id,
        url: webhook.url,
        events: webhook.events,
        filter: WebhookFilterBody {
            feed_id: webhook.feed_id,
            category: webhook.category,
            saved_filter: webhook.saved_filter,
        },
        enabled: webhook.enabled,
        disabled_reason: webhook.disabled_reason.into(),
        consecutive_dead: webhook.consecutive_dead,
        created_at: webhook.created_at,
        updated_at: webhook.updated_at,
    }
}

pub(crate) fn delivery_status(status: DeliveryStatusBody) -> DeliveryStatus {
    match status {
        DeliveryStatusBody::Pending => DeliveryStatus::Pending,
        DeliveryStatusBody::Ok => DeliveryStatus::Ok,
        DeliveryStatusBody::Failed => DeliveryStatus::Failed,
        DeliveryStatusBody::Dead => DeliveryStatus::Dead,
    }
}

pub(crate) fn status_body(status: DeliveryStatus) -> DeliveryStatusBody {
    match status {
        DeliveryStatus::Pending => DeliveryStatusBody::Pending,
        DeliveryStatus::Ok => DeliveryStatusBody::Ok,
        DeliveryStatus::Failed => DeliveryStatusBody::Failed,
        DeliveryStatus::Dead => DeliveryStatusBody::Dead,
    }
}

pub(crate) fn delivery_body(record: DeliveryRecord) -> DeliveryBody {
    let delivery = record.delivery;
    let waiting = matches!(delivery.status, DeliveryStatus::Pending | DeliveryStatus::Failed);
    DeliveryBody {
        id: delivery.id,
        event: delivery.event,
        status: status_body(delivery.status),
        payload: StoredPayload(serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null)),
        created_at: delivery.created_at,
        next_attempt_at: waiting.then_some(delivery.next_attempt_at).into(),
        delivered_at: delivery.delivered_at.into(),
        attempts: record
            .attempts
            .into_iter()
            .map(|attempt| AttemptBody {
                attempt: attempt.attempt,
                at: attempt.at,
                status_code: attempt.status_code.into(),
                latency_ms: attempt.latency_ms,
                error: attempt.error.into(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use syndic_actors::webhook::SUBSCRIBABLE_EVENTS;

    #[test]
    fn the_spec_lists_the_events_a_webhook_may_subscribe_to() {
        let spec: serde_yaml::Value = serde_yaml::from_str(&crate::spec_yaml()).expect("YAML");
        let schemas = &spec["components"]["schemas"];
        for (schema, field) in [("WebhookRequest", "events"), ("WebhookPatch", "events")] {
            let items = &schemas[schema]["properties"][field]["items"];
            let listed: Vec<&str> = items["enum"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{schema}.{field} has no enum: {items:?}"))
                .iter()
                .filter_map(serde_yaml::Value::as_str)
                .collect();
            assert_eq!(listed, SUBSCRIBABLE_EVENTS, "{schema}.{field}");
        }
    }
}
