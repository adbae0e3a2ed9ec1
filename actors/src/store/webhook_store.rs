//! What the webhook delivery actors, the timers and the API's webhook routes ask of the store: webhooks, and
//! their outbox of deliveries with each attempt. Code that must insert deliveries inside its own transaction
//! uses the backends' free functions `insert_deliveries`, `insert_webhook` and `delete_webhooks_of_timer`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::UserId;
use crate::webhook::{
    CreatedWebhook, Delivery, DeliveryAttempt, DeliveryId, DeliveryQuery, DeliveryRecord, NewDelivery, NewWebhook,
    Webhook, WebhookId, WebhookPatch, WebhookTarget,
};

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

    /// Up to `limit` enabled webhooks with a delivery due at `now`.
    async fn due_webhooks(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<WebhookId>, StoreError>;
    /// When the next delivery of an enabled webhook not in `busy` is due, if any is waiting.
    async fn next_delivery_due(&self, busy: &[WebhookId]) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Where a webhook's deliveries go; `None` once it is deleted.
    async fn webhook_target(&self, webhook: WebhookId) -> Result<Option<WebhookTarget>, StoreError>;
    /// Records an attempt and its outcome on the delivery and on the webhook's count of consecutive dead
    /// deliveries, in one transaction. Returns the owner when this attempt disabled the webhook.
    async fn record_delivery_attempt(&self, attempt: &DeliveryAttempt) -> Result<Option<UserId>, StoreError>;

    /// How many webhooks the user has (timers' not counted).
    async fn count_webhooks(&self, user: UserId) -> Result<i64, StoreError>;
    /// Up to `limit` of the user's webhooks with an id below `before`, newest first; timers' are hidden.
    async fn list_webhooks(
        &self,
        user: UserId,
        limit: u32,
        before: Option<WebhookId>,
    ) -> Result<Vec<Webhook>, StoreError>;
    /// One of the user's webhooks; `NotFound` for another user's or a timer's.
    async fn get_webhook(&self, user: UserId, webhook: WebhookId) -> Result<Webhook, StoreError>;
    /// Changes one of the user's webhooks; `NotFound` for another user's or a timer's.
    async fn update_webhook(
        &self,
        user: UserId,
        webhook: WebhookId,
        patch: &WebhookPatch,
    ) -> Result<Webhook, StoreError>;
    /// Deletes one of the user's webhooks with its deliveries; `NotFound` for another user's or a timer's.
    async fn delete_webhook(&self, user: UserId, webhook: WebhookId) -> Result<(), StoreError>;
    /// Gives one of the user's webhooks a fresh secret, returned once.
    async fn rotate_webhook_secret(&self, user: UserId, webhook: WebhookId) -> Result<String, StoreError>;
    /// A page of one of the user's webhook's deliveries with their attempts, newest first.
    async fn list_deliveries(
        &self,
        user: UserId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Makes a delivery of one of the user's webhooks due again at once, with a fresh set of attempts.
    async fn redeliver(&self, user: UserId, webhook: WebhookId, delivery: DeliveryId) -> Result<Delivery, StoreError>;
}
