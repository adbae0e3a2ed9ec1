//! Webhooks: `POST/GET /v1/webhooks`, `GET/PATCH/DELETE /v1/webhooks/{id}`, `POST /v1/webhooks/{id}/rotate-secret`,
//! a webhook's deliveries with their attempts (`GET /v1/webhooks/{id}/deliveries`) and sending one again
//! (`POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`). Another user's webhook is not found.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::domain::FeedId;
use syndic_actors::engine::Engine;
use syndic_actors::engine_webhooks::WebhookRequest;
use syndic_actors::webhook::{
    DeliveryId, DeliveryQuery, DeliveryRecord, DeliveryStatus, Webhook, WebhookId, WebhookPatch,
};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, Failure, JobAction, ListFeeds, PatchArticle, Subscribe};
use crate::jobs::bounded;
use crate::nullable::Nullable;
use crate::ApiTags;

/// The listings' page size when none is asked for, and the most it may be.
pub const WEBHOOKS_DEFAULT_LIMIT: i64 = 50;
pub const WEBHOOKS_MAX_LIMIT: i64 = 200;

pub struct WebhooksApi;

/// Which events reach the webhook.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "WebhookFilter")]
pub struct WebhookFilterBody {
    /// Only this feed's events (it must be one of yours).
    #[oai(skip_serializing_if_is_none)]
    pub feed_id: Option<FeedId>,
    /// Reserved for categories; refused (422) until they exist.
    #[oai(skip_serializing_if_is_none)]
    pub category: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookRequest")]
pub struct CreateWebhookRequest {
    /// Where deliveries are POSTed: http or https, under the same rules as feed URLs (no private addresses).
    #[oai(validator(max_length = 2048))]
    pub url: String,
    /// Event kinds to deliver: `article.new`, `feed.status`, `job.progress`, `job.done`.
    #[oai(validator(min_items = 1, max_items = 10))]
    pub events: Vec<String>,
    pub filter: Option<WebhookFilterBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "WebhookPatch")]
pub struct WebhookPatchRequest {
    #[oai(validator(max_length = 2048))]
    pub url: Option<String>,
    #[oai(validator(min_items = 1, max_items = 10))]
    pub events: Option<Vec<String>>,
    /// Enabling a webhook clears why it was disabled; its waiting deliveries go out.
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
    /// The body POSTed: `{id, event, created_at, data}`.
    pub payload: serde_json::Value,
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

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Creates a webhook: signed POSTs of the chosen events to `url`. At most 100 per user.
    #[oai(path = "/webhooks", method = "post", operation_id = "create_webhook")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<CreateWebhookRequest>,
        engine: Data<&Engine>,
    ) -> Result<CreateWebhookResponse, Failure<Subscribe>> {
        let Json(request) = body;
        let filter = request.filter.unwrap_or_default();
        let (webhook, secret) = engine
            .create_webhook(
                auth.0,
                WebhookRequest {
                    url: request.url,
                    events: request.events,
                    feed_id: filter.feed_id,
                    category: filter.category,
                },
            )
            .await?;
        Ok(CreateWebhookResponse::Created(Json(CreatedWebhookBody {
            webhook: webhook_body(webhook),
            secret,
        })))
    }

    /// The user's webhooks, newest first, one page at a time.
    #[oai(path = "/webhooks", method = "get", operation_id = "list_webhooks")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<WebhooksBody>, Failure<ListFeeds>> {
        let limit = bounded("limit", limit.0, WEBHOOKS_DEFAULT_LIMIT, WEBHOOKS_MAX_LIMIT)?;
        let before = cursor
            .0
            .map(|cursor| cursor.parse::<WebhookId>())
            .transpose()
            .map_err(|_| ApiError::validation("cursor", "not a cursor from this listing"))?;
        let webhooks = engine.list_webhooks(auth.0, limit, before).await?;
        let next_cursor = (webhooks.len() == limit as usize)
            .then(|| webhooks.last().map(|webhook| webhook.id.to_string()))
            .flatten();
        Ok(Json(WebhooksBody {
            webhooks: webhooks.into_iter().map(webhook_body).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// One webhook (without its secret).
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "get_webhook")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        engine: Data<&Engine>,
    ) -> Result<Json<WebhookBody>, Failure<ById>> {
        Ok(Json(webhook_body(engine.get_webhook(auth.0, id.0).await?)))
    }

    /// Changes a webhook's URL, events, or whether it is enabled.
    #[oai(path = "/webhooks/:id", method = "patch", operation_id = "update_webhook")]
    async fn update(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        body: Json<WebhookPatchRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<WebhookBody>, Failure<PatchArticle>> {
        let Json(request) = body;
        let patch = WebhookPatch {
            url: request.url,
            events: request.events,
            enabled: request.enabled,
        };
        Ok(Json(webhook_body(engine.update_webhook(auth.0, id.0, patch).await?)))
    }

    /// Deletes a webhook and its deliveries.
    #[oai(path = "/webhooks/:id", method = "delete", operation_id = "delete_webhook")]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        engine: Data<&Engine>,
    ) -> Result<DeleteWebhookResponse, Failure<ById>> {
        engine.delete_webhook(auth.0, id.0).await?;
        Ok(DeleteWebhookResponse::Deleted)
    }

    /// Replaces the webhook's secret; deliveries from now on are signed with the new one.
    #[oai(
        path = "/webhooks/:id/rotate-secret",
        method = "post",
        operation_id = "rotate_webhook_secret"
    )]
    async fn rotate_secret(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        engine: Data<&Engine>,
    ) -> Result<Json<SecretBody>, Failure<ById>> {
        let secret = engine.rotate_webhook_secret(auth.0, id.0).await?;
        Ok(Json(SecretBody { secret }))
    }

    /// The webhook's deliveries, newest first, each with its attempts.
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "list_webhook_deliveries"
    )]
    async fn deliveries(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        /// Only deliveries in this status.
        status: Query<Option<DeliveryStatusBody>>,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<DeliveriesBody>, Failure<JobAction>> {
        let limit = bounded("limit", limit.0, WEBHOOKS_DEFAULT_LIMIT, WEBHOOKS_MAX_LIMIT)?;
        let before = cursor
            .0
            .map(|cursor| cursor.parse::<DeliveryId>())
            .transpose()
            .map_err(|_| ApiError::validation("cursor", "not a cursor from this listing"))?;
        let query = DeliveryQuery {
            status: status.0.map(delivery_status),
            limit,
            before,
        };
        let records = engine.list_deliveries(auth.0, id.0, &query).await?;
        let next_cursor = (records.len() == limit as usize)
            .then(|| records.last().map(|record| record.delivery.id.to_string()))
            .flatten();
        Ok(Json(DeliveriesBody {
            deliveries: records.into_iter().map(delivery_body).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Sends a delivery again, whatever its status, with a fresh set of attempts.
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/redeliver",
        method = "post",
        operation_id = "redeliver_webhook_delivery"
    )]
    async fn redeliver(
        &self,
        auth: BearerAuth,
        /// The webhook's id.
        id: Path<WebhookId>,
        /// The delivery's id.
        delivery_id: Path<DeliveryId>,
        engine: Data<&Engine>,
    ) -> Result<RedeliverResponse, Failure<ById>> {
        let delivery = engine.redeliver(auth.0, id.0, delivery_id.0).await?;
        Ok(RedeliverResponse::Accepted(Json(RedeliveryBody {
            id: delivery.id,
            status: status_body(delivery.status),
            next_attempt_at: delivery.next_attempt_at,
        })))
    }
}

fn webhook_body(webhook: Webhook) -> WebhookBody {
    WebhookBody {
        id: webhook.id,
        url: webhook.url,
        events: webhook.events,
        filter: WebhookFilterBody {
            feed_id: webhook.feed_id,
            category: None,
        },
        enabled: webhook.enabled,
        disabled_reason: webhook.disabled_reason.into(),
        consecutive_dead: webhook.consecutive_dead,
        created_at: webhook.created_at,
        updated_at: webhook.updated_at,
    }
}

fn delivery_status(status: DeliveryStatusBody) -> DeliveryStatus {
    match status {
        DeliveryStatusBody::Pending => DeliveryStatus::Pending,
        DeliveryStatusBody::Ok => DeliveryStatus::Ok,
        DeliveryStatusBody::Failed => DeliveryStatus::Failed,
        DeliveryStatusBody::Dead => DeliveryStatus::Dead,
    }
}

fn status_body(status: DeliveryStatus) -> DeliveryStatusBody {
    match status {
        DeliveryStatus::Pending => DeliveryStatusBody::Pending,
        DeliveryStatus::Ok => DeliveryStatusBody::Ok,
        DeliveryStatus::Failed => DeliveryStatusBody::Failed,
        DeliveryStatus::Dead => DeliveryStatusBody::Dead,
    }
}

fn delivery_body(record: DeliveryRecord) -> DeliveryBody {
    let delivery = record.delivery;
    let waiting = matches!(delivery.status, DeliveryStatus::Pending | DeliveryStatus::Failed);
    DeliveryBody {
        id: delivery.id,
        event: delivery.event,
        status: status_body(delivery.status),
        payload: serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null),
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
