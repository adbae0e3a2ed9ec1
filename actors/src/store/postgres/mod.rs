//! The Postgres backend of the store: connecting, migrating, and the wiring of its concerns into the store traits.

mod batch;
mod events;
mod feeds;
mod icons;
mod jobs;
mod organise;
mod rows;
mod saved_filters;
mod search_walk;
mod sessions;
mod shares;
mod social;
mod subscriptions;
mod timeline;
mod timers;
mod transfer;
mod transfer_plain;
mod user_webhooks;
mod users;
mod webhook_delivery;
mod webhooks;

use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects, creating the database if it is missing, and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        if !Postgres::database_exists(url).await? {
            Postgres::create_database(url).await?;
            tracing::info!("created the database");
        }
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool (tests get theirs from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresStore { pool }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|error| StoreError::Database(sqlx::Error::Migrate(Box::new(error))))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn ping(store: &PostgresStore) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(&store.pool).await?;
    Ok(())
}

super::wiring::wire_store!(PostgresStore);

#[async_trait::async_trait]
impl super::WebhookStore for PostgresStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %webhook.user_id), err(level = "debug"))]
    async fn create_webhook(
        &self,
        webhook: &crate::webhook::NewWebhook,
    ) -> Result<crate::webhook::CreatedWebhook, StoreError> {
        webhooks::create_webhook(self, webhook).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = deliveries.len()), err(level = "debug"))]
    async fn enqueue_deliveries(&self, deliveries: &[crate::webhook::NewDelivery]) -> Result<(), StoreError> {
        webhooks::enqueue_deliveries(self, deliveries).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(webhook_id = webhook), err(level = "debug"))]
    async fn due_deliveries(
        &self,
        webhook: crate::webhook::WebhookId,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<crate::webhook::Delivery>, StoreError> {
        webhooks::due_deliveries(self, webhook, now, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn due_webhooks(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<crate::webhook::WebhookId>, StoreError> {
        webhook_delivery::due_webhooks(self, now, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn next_delivery_due(
        &self,
        busy: &[crate::webhook::WebhookId],
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        webhook_delivery::next_delivery_due(self, busy).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(webhook_id = webhook), err(level = "debug"))]
    async fn webhook_target(
        &self,
        webhook: crate::webhook::WebhookId,
    ) -> Result<Option<crate::webhook::WebhookTarget>, StoreError> {
        webhook_delivery::webhook_target(self, webhook).await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(webhook_id = attempt.webhook, delivery_id = %attempt.delivery),
        err(level = "debug"),
    )]
    async fn record_delivery_attempt(
        &self,
        attempt: &crate::webhook::DeliveryAttempt,
    ) -> Result<Option<crate::domain::UserId>, StoreError> {
        webhook_delivery::record_delivery_attempt(self, attempt).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
    async fn count_webhooks(&self, user: crate::domain::UserId) -> Result<i64, StoreError> {
        user_webhooks::count_webhooks(self, user).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
    async fn list_webhooks(
        &self,
        user: crate::domain::UserId,
        limit: u32,
        before: Option<crate::webhook::WebhookId>,
    ) -> Result<Vec<crate::webhook::Webhook>, StoreError> {
        user_webhooks::list_webhooks(self, user, limit, before).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, webhook_id = webhook), err(level = "debug"))]
    async fn get_webhook(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
    ) -> Result<crate::webhook::Webhook, StoreError> {
        user_webhooks::get_webhook(self, user, webhook).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, webhook_id = webhook), err(level = "debug"))]
    async fn update_webhook(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
        patch: &crate::webhook::WebhookPatch,
    ) -> Result<crate::webhook::Webhook, StoreError> {
        user_webhooks::update_webhook(self, user, webhook, patch).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, webhook_id = webhook), err(level = "debug"))]
    async fn delete_webhook(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
    ) -> Result<(), StoreError> {
        user_webhooks::delete_webhook(self, user, webhook).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, webhook_id = webhook), err(level = "debug"))]
    async fn rotate_webhook_secret(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
    ) -> Result<String, StoreError> {
        user_webhooks::rotate_webhook_secret(self, user, webhook).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user, webhook_id = webhook), err(level = "debug"))]
    async fn list_deliveries(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
        query: &crate::webhook::DeliveryQuery,
    ) -> Result<Vec<crate::webhook::DeliveryRecord>, StoreError> {
        user_webhooks::list_deliveries(self, user, webhook, query).await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(user_id = %user, webhook_id = webhook, delivery_id = %delivery),
        err(level = "debug"),
    )]
    async fn redeliver(
        &self,
        user: crate::domain::UserId,
        webhook: crate::webhook::WebhookId,
        delivery: crate::webhook::DeliveryId,
    ) -> Result<crate::webhook::Delivery, StoreError> {
        user_webhooks::redeliver(self, user, webhook, delivery).await
    }
}

super::timer_store::wire_timer_store!(PostgresStore);
super::icon_store::wire_icon_store!(PostgresStore);
super::session_store::wire_session_store!(PostgresStore);
super::organise_store::wire_organise_store!(PostgresStore);
super::social_store::wire_social_store!(PostgresStore);
super::share_store::wire_share_store!(PostgresStore);
