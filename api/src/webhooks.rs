//! Webhooks: `POST/GET /v1/webhooks`, `GET/PATCH/DELETE /v1/webhooks/{id}`, `POST /v1/webhooks/{id}/rotate-secret`,
//! a webhook's deliveries with their attempts (`GET /v1/webhooks/{id}/deliveries`) and sending one again
//! (`POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`). Another user's webhook is not found.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use syndic_actors::engine::Engine;
use syndic_actors::engine_webhooks::WebhookRequest;
use syndic_actors::webhook::{DeliveryId, DeliveryQuery, WebhookId, WebhookPatch};

use crate::auth::BearerAuth;
use crate::error_responses::{ById, Failure, JobAction, ListFeeds, PatchArticle, Subscribe};
use crate::id_pages::{self, bounded, next_page};
use crate::webhook_bodies::{
    delivery_body, delivery_status, status_body, webhook_body, CreateWebhookRequest, CreateWebhookResponse,
    CreatedWebhookBody, DeleteWebhookResponse, DeliveriesBody, DeliveryStatusBody, RedeliverResponse, RedeliveryBody,
    SecretBody, WebhookBody, WebhookEventName, WebhookPatchRequest, WebhooksBody,
};
use crate::ApiTags;

/// The listings' page size when none is asked for, and the most it may be.
pub const WEBHOOKS_DEFAULT_LIMIT: i64 = 50;
pub const WEBHOOKS_MAX_LIMIT: i64 = 200;

pub struct WebhooksApi;

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
                    events: WebhookEventName::strings(request.events),
                    feed_id: filter.feed_id,
                    category: filter.category,
                    saved_filter: filter.saved_filter,
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
        let before = id_pages::cursor::<WebhookId>(cursor.0)?;
        let webhooks = engine.list_webhooks(auth.0, limit, before).await?;
        let next_cursor = next_page(&webhooks, limit, |webhook| webhook.id.to_string());
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
            events: request.events.map(WebhookEventName::strings),
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
        let before = id_pages::cursor::<DeliveryId>(cursor.0)?;
        let query = DeliveryQuery {
            status: status.0.map(delivery_status),
            limit,
            before,
        };
        let records = engine.list_deliveries(auth.0, id.0, &query).await?;
        let next_cursor = next_page(&records, limit, |record| record.delivery.id.to_string());
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
