//! The load test's database: a fresh one per run (the testkit's: a SQLite file in the temp dir, or a new
//! Postgres database next to the one given), and the direct counts the harness waits on.

use chrono::{DateTime, Utc};
use syndic_testkit::database::{Backend, FreshDatabase};

/// A fresh database for one run; `remove` deletes it.
pub struct LoadDatabase {
    database: FreshDatabase,
}

impl LoadDatabase {
    /// `postgres_url` None: a SQLite file in the temp directory. Some: a new database on that server.
    pub async fn create(postgres_url: Option<&str>, max_connections: u32) -> anyhow::Result<LoadDatabase> {
        let (backend, admin_url) = match postgres_url {
            Some(url) => (Backend::Postgres, url),
            None => (Backend::Sqlite, ""),
        };
        let database = FreshDatabase::create(backend, admin_url, "syndic_loadtest", max_connections).await?;
        Ok(LoadDatabase { database })
    }

    pub fn url(&self) -> &str {
        &self.database.url
    }

    pub fn kind(&self) -> &'static str {
        match self.database.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The run's store, for what the harness does behind the API (granting its user the admin role).
    pub fn store(&self) -> std::sync::Arc<dyn syndic_actors::store::Store> {
        self.database.store.shared()
    }

    /// Stored articles, all feeds together.
    pub async fn count_articles(&self) -> anyhow::Result<i64> {
        Ok(self.database.store.article_count().await?)
    }

    /// Whether some subscribed feed was not polled since `since` (through the store, as the admin route asks).
    pub async fn any_polled_before(&self, since: DateTime<Utc>) -> anyhow::Result<bool> {
        Ok(!self.polled_before(since, 1).await?.is_empty())
    }

    /// The URLs of up to `limit` subscribed feeds not polled since `since`.
    pub async fn polled_before(&self, since: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<String>> {
        let stale = self.database.store.shared().stale_feeds(since, limit).await?;
        Ok(stale.into_iter().map(|feed| feed.url).collect())
    }

    /// Closes the pool and deletes the database.
    pub async fn remove(self) -> anyhow::Result<()> {
        self.database.remove().await
    }
}
