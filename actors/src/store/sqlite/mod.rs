//! The embedded SQLite backend of the store: one file, one writer, the same behaviour as the Postgres backend.
//! Connecting, migrating, and the wiring of its concerns into the store traits.

mod batch;
mod events;
mod feeds;
mod icons;
mod jobs;
mod organise;
mod rows;
mod saved_filters;
mod search_index;
mod search_rank;
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

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::error::sqlite_error;
use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a statement waits for the writer's lock before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database at `url` (`sqlite://path`, `sqlite:path` or `sqlite::memory:`), creating the file if it
    /// is missing, and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(sqlite_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let mut pool_options = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|connection, _| Box::pin(search_rank::register_on(connection)));
        if is_in_memory(url) {
            // An in-memory database lives as long as one connection to it: keep exactly one, forever.
            // A single connection also avoids shared-cache table locks, which ignore the busy timeout.
            pool_options = pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let in_memory = is_in_memory(url);
        let options = if in_memory {
            options
        } else {
            // Checkpoints run on a task of their own (below), not inside the commit of the writer that pushed
            // the WAL past 1,000 pages, which then held the one writer lock through the copy and its fsync.
            options.pragma("wal_autocheckpoint", "0")
        };
        let pool = pool_options.connect_with(options).await.map_err(sqlite_error)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        if !in_memory {
            tokio::spawn(checkpoint_every(store.pool.clone(), CHECKPOINT_INTERVAL));
        }
        Ok(store)
    }

    /// Wraps an existing pool; the caller is responsible for its options, for registering the search's rank on
    /// each of its connections (as `connect` does), and for running `migrate`.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|error| sqlite_error(sqlx::Error::Migrate(Box::new(error))))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction that takes the writer's lock up front: a deferred one that reads and then writes
    /// fails with SQLITE_BUSY at once when another writer got in between, without waiting for the busy timeout.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(sqlite_error)
    }
}

/// How often the WAL is copied into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Copies the WAL into the database file every `period`, without waiting for readers or the writer (a passive
/// checkpoint takes no writer lock), until the pool closes.
async fn checkpoint_every(pool: SqlitePool, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = pool.close_event() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(%error, "could not checkpoint the SQLite WAL");
        }
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn ping(store: &SqliteStore) -> Result<(), StoreError> {
    sqlx::query("SELECT 1")
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(())
}

super::wiring::wire_store!(SqliteStore);

#[async_trait::async_trait]
impl super::WebhookStore for SqliteStore {
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

super::timer_store::wire_timer_store!(SqliteStore);
super::icon_store::wire_icon_store!(SqliteStore);
super::session_store::wire_session_store!(SqliteStore);
super::organise_store::wire_organise_store!(SqliteStore);
super::social_store::wire_social_store!(SqliteStore);
super::share_store::wire_share_store!(SqliteStore);
