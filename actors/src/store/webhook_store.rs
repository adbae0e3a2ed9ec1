//! What the webhook delivery actors, the timers and the API's webhook routes ask of the store: webhooks, and
//! their outbox of deliveries with each attempt. Code that must insert deliveries inside its own transaction
//! uses the backends' free functions `insert_deliveries`, `insert_webhook` and `delete_webhooks_of_timer`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::webhook::{CreatedWebhook, Delivery, NewDelivery, NewWebhook, WebhookId};

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores an enabled webhook with a fresh secret.
    async fn create_webhook(&self, webhook: &NewWebhook) -> Result<CreatedWebhook, StoreError>;
    /// Puts deliveries in the outbox, due at once, in one transaction.
    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<(), StoreError>;
    /// Up to `limit` of the webhook's deliveries due at `now` (pending, or failed and due for a retry), oldest first.
    async fn due_deliveries(
        &self,
        webhook: WebhookId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
}
