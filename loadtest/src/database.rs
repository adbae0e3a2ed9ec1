//! The load test's database: a fresh one per run (the testkit's: a SQLite file in the temp dir, or a new
//! Postgres database next to the one given), and the direct counts the harness waits on.

use chrono::{DateTime, Utc};
use syndic_testkit::database::{Backend, BackendStore, FreshDatabase};

/// A fresh database for one run; `remove` deletes it.
pub struct LoadDatabase {
    database: FreshDatabase,
}

impl LoadDatabase {
    /// `postgres_url` None: a SQLite file in the temp directory. Some: a new database on that server. Either is
    /// named `{name_prefix}_{unique}`.
    pub async fn create(
        postgres_url: Option<&str>,
        name_prefix: &str,
        max_connections: u32,
    ) -> anyhow::Result<LoadDatabase> {
        let (backend, admin_url) = match postgres_url {
            Some(url) => (Backend::Postgres, url),
            None => (Backend::Sqlite, ""),
        };
        let database = FreshDatabase::create(backend, admin_url, name_prefix, max_connections).await?;
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

    /// The concrete store, for the scenarios that seed or count rows directly.
    pub fn backend_store(&self) -> &BackendStore {
        &self.database.store
    }

    /// The highest stored article id, 0 when there is none.
    pub async fn last_article_id(&self) -> anyhow::Result<i64> {
        let query = "SELECT coalesce(max(id), 0) FROM articles";
        Ok(match &self.database.store {
            BackendStore::Postgres(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await?,
            BackendStore::Sqlite(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await?,
        })
    }

    /// The ids of the articles stored after `after` (an article id), in id order.
    pub async fn article_ids_after(&self, after: i64) -> anyhow::Result<Vec<i64>> {
        let (postgres, sqlite) = (
            "SELECT id FROM articles WHERE id > $1 ORDER BY id",
            "SELECT id FROM articles WHERE id > ?1 ORDER BY id",
        );
        Ok(match &self.database.store {
            BackendStore::Postgres(store) => sqlx::query_scalar(postgres).bind(after).fetch_all(store.pool()).await?,
            BackendStore::Sqlite(store) => sqlx::query_scalar(sqlite).bind(after).fetch_all(store.pool()).await?,
        })
    }

    /// How many users' timelines show every one of the `count` articles stored after `after` as unread: under
    /// fan-out on read, the subscribers of those articles' feeds whose read cutoff is below them.
    pub async fn users_holding_articles_after(&self, after: i64, count: usize) -> anyhow::Result<i64> {
        let (postgres, sqlite) = (
            "SELECT count(*) FROM (SELECT s.user_id FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id \
             WHERE a.id > $1 AND a.seq > s.read_through_seq GROUP BY s.user_id HAVING count(*) = $2) AS holding",
            "SELECT count(*) FROM (SELECT s.user_id FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id \
             WHERE a.id > ?1 AND a.seq > s.read_through_seq GROUP BY s.user_id HAVING count(*) = ?2) AS holding",
        );
        let count = i64::try_from(count)?;
        Ok(match &self.database.store {
            BackendStore::Postgres(store) => {
                sqlx::query_scalar(postgres)
                    .bind(after)
                    .bind(count)
                    .fetch_one(store.pool())
                    .await?
            }
            BackendStore::Sqlite(store) => {
                sqlx::query_scalar(sqlite)
                    .bind(after)
                    .bind(count)
                    .fetch_one(store.pool())
                    .await?
            }
        })
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

    /// The `limit` feeds with the lowest ids, as (id, URL), in id order.
    pub async fn first_feeds(&self, limit: usize) -> anyhow::Result<Vec<(i64, String)>> {
        let limit = i64::try_from(limit)?;
        let (postgres, sqlite) = (
            "SELECT id, url FROM feeds ORDER BY id LIMIT $1",
            "SELECT id, url FROM feeds ORDER BY id LIMIT ?1",
        );
        Ok(match &self.database.store {
            BackendStore::Postgres(store) => sqlx::query_as(postgres).bind(limit).fetch_all(store.pool()).await?,
            BackendStore::Sqlite(store) => sqlx::query_as(sqlite).bind(limit).fetch_all(store.pool()).await?,
        })
    }

    /// The stored `next_poll_at` of every feed with an id up to `last`, for those that have one. One range of
    /// the primary key, so cheap enough to read every few seconds while the engine polls.
    pub async fn next_polls_up_to(&self, last: i64) -> anyhow::Result<Vec<(i64, DateTime<Utc>)>> {
        Ok(match &self.database.store {
            BackendStore::Postgres(store) => {
                sqlx::query_as("SELECT id, next_poll_at FROM feeds WHERE id <= $1 AND next_poll_at IS NOT NULL")
                    .bind(last)
                    .fetch_all(store.pool())
                    .await?
            }
            BackendStore::Sqlite(store) => {
                // SQLite keeps times as microseconds since the epoch.
                let rows: Vec<(i64, i64)> =
                    sqlx::query_as("SELECT id, next_poll_at FROM feeds WHERE id <= ?1 AND next_poll_at IS NOT NULL")
                        .bind(last)
                        .fetch_all(store.pool())
                        .await?;
                rows.into_iter()
                    .filter_map(|(id, micros)| DateTime::from_timestamp_micros(micros).map(|at| (id, at)))
                    .collect()
            }
        })
    }

    /// The process ids of the Postgres server's backends connected to this database, the engine's and the
    /// harness's; None on SQLite, which runs inside this process.
    pub async fn server_processes(&self) -> anyhow::Result<Option<Vec<u32>>> {
        let BackendStore::Postgres(store) = &self.database.store else {
            return Ok(None);
        };
        let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(store.pool())
            .await?;
        Ok(Some(
            pids.into_iter().filter_map(|pid| u32::try_from(pid).ok()).collect(),
        ))
    }

    /// Closes the pool and deletes the database.
    pub async fn remove(self) -> anyhow::Result<()> {
        self.database.remove().await
    }
}
