//! The engine's door for webhooks: creating one (its URL under the feed URL rules, its events among those a
//! webhook may subscribe to), a user's view and changes of theirs, their deliveries, and redelivering one.
//! Changes that make deliveries due nudge delivery at once.

use crate::domain::{FeedId, UserId};
use crate::engine::{Engine, EngineError};
use crate::store::StoreError;
use crate::webhook::{
    CreatedWebhook, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord, NewWebhook, Webhook, WebhookId, WebhookPatch,
    MAX_WEBHOOKS_PER_USER, SUBSCRIBABLE_EVENTS,
};

/// What a user asks for when creating a webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    pub events: Vec<String>,
    pub feed_id: Option<FeedId>,
    /// The name of one of the user's categories: only its feeds' events.
    pub category: Option<String>,
    /// One of the user's saved filters: only the new articles it keeps.
    pub saved_filter: Option<crate::saved_filter::SavedFilterId>,
}

impl Engine {
    /// Stores a webhook for the user; its secret is in the answer, and only there.
    pub async fn create_webhook(
        &self,
        user: UserId,
        request: WebhookRequest,
    ) -> Result<(Webhook, String), EngineError> {
        let events = checked_events(&request.events)?;
        let url = self.checked_webhook_url(&request.url).await?;
        if let Some(feed) = request.feed_id {
            match self.api_store().get_subscription(user, feed).await {
                Err(StoreError::NotFound) => {
                    return Err(invalid("filter.feed_id", "you are not subscribed to this feed"));
                }
                other => {
                    other?;
                }
            }
        }
        let category = match &request.category {
            Some(name) => Some(self.users_category("filter.category", user, name).await?),
            None => None,
        };
        let saved_filter = match request.saved_filter {
            Some(filter) => Some(self.users_saved_filter("filter.saved_filter", user, filter).await?),
            None => None,
        };
        if self.webhook_store().count_webhooks(user).await? >= MAX_WEBHOOKS_PER_USER {
            return Err(invalid(
                "url",
                format!("at most {MAX_WEBHOOKS_PER_USER} webhooks per user; delete one first"),
            ));
        }
        let CreatedWebhook { id, secret } = self
            .webhook_store()
            .create_webhook(&NewWebhook {
                user_id: user,
                url,
                events,
                feed_id: request.feed_id,
                category,
                saved_filter,
                timer_id: None,
            })
            .await?;
        Ok((self.webhook_store().get_webhook(user, id).await?, secret))
    }

    pub async fn list_webhooks(
        &self,
        user: UserId,
        limit: u32,
        before: Option<WebhookId>,
    ) -> Result<Vec<Webhook>, EngineError> {
        Ok(self.webhook_store().list_webhooks(user, limit, before).await?)
    }

    pub async fn get_webhook(&self, user: UserId, webhook: WebhookId) -> Result<Webhook, EngineError> {
        Ok(self.webhook_store().get_webhook(user, webhook).await?)
    }

    /// Changes a webhook; enabling one sends its waiting deliveries.
    pub async fn update_webhook(
        &self,
        user: UserId,
        webhook: WebhookId,
        mut patch: WebhookPatch,
    ) -> Result<Webhook, EngineError> {
        if let Some(events) = &patch.events {
            patch.events = Some(checked_events(events)?);
        }
        if let Some(url) = &patch.url {
            patch.url = Some(self.checked_webhook_url(url).await?);
        }
        let updated = self.webhook_store().update_webhook(user, webhook, &patch).await?;
        if updated.enabled {
            self.webhook_deliveries().nudge(webhook);
        }
        Ok(updated)
    }

    pub async fn delete_webhook(&self, user: UserId, webhook: WebhookId) -> Result<(), EngineError> {
        Ok(self.webhook_store().delete_webhook(user, webhook).await?)
    }

    /// A fresh secret: deliveries from now on are signed with it.
    pub async fn rotate_webhook_secret(&self, user: UserId, webhook: WebhookId) -> Result<String, EngineError> {
        Ok(self.webhook_store().rotate_webhook_secret(user, webhook).await?)
    }

    pub async fn list_deliveries(
        &self,
        user: UserId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryRecord>, EngineError> {
        Ok(self.webhook_store().list_deliveries(user, webhook, query).await?)
    }

    /// Sends a delivery again (whatever its status), with a fresh set of attempts.
    pub async fn redeliver(
        &self,
        user: UserId,
        webhook: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, EngineError> {
        let delivery = self.webhook_store().redeliver(user, webhook, delivery).await?;
        self.webhook_deliveries().nudge(webhook);
        Ok(delivery)
    }

    /// The URL as stored: parsed and normalised under the feed URL rules, and refused when it can only reach
    /// private addresses (unless they are allowed). Delivery checks every connection again.
    async fn checked_webhook_url(&self, url: &str) -> Result<String, EngineError> {
        self.check_url(url)
            .await
            .map(|url| url.as_str().to_owned())
            .map_err(|message| invalid("url", message))
    }
}

/// The events, each one a webhook may subscribe to, without repeats, in the order given.
fn checked_events(events: &[String]) -> Result<Vec<String>, EngineError> {
    if events.is_empty() {
        return Err(invalid("events", "name at least one event"));
    }
    let mut checked: Vec<String> = Vec::with_capacity(events.len());
    for event in events {
        if !SUBSCRIBABLE_EVENTS.contains(&event.as_str()) {
            return Err(invalid(
                "events",
                format!(
                    "{event:?} is not an event a webhook can subscribe to; use {}",
                    SUBSCRIBABLE_EVENTS.join(", ")
                ),
            ));
        }
        if !checked.contains(event) {
            checked.push(event.clone());
        }
    }
    Ok(checked)
}

fn invalid(field: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::Invalid {
        field,
        message: message.into(),
    }
}
