//! The load test's database: a fresh one per run (a SQLite file in a temp dir, or a new Postgres database next
//! to the one given), the store handed to the engine, and the direct counts the harness waits on.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Connection, Executor, PgConnection};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};

/// A fresh database for one run; `remove` deletes it.
pub struct LoadDatabase {
    url: String,
    backend: Backend,
    cleanup: Cleanup,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

enum Cleanup {
    Directory(std::path::PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

fn unique_suffix() -> String {
    hex::encode(rand::random::<[u8; 6]>())
}

impl LoadDatabase {
    /// `postgres_url` None: a SQLite file in a new temp directory. Some: a new database on that server.
    pub async fn create(postgres_url: Option<&str>, max_connections: u32) -> anyhow::Result<LoadDatabase> {
        match postgres_url {
            None => {
                let directory = std::env::temp_dir().join(format!("syndic-loadtest-{}", unique_suffix()));
                std::fs::create_dir_all(&directory).context("Failed to create the temp directory")?;
                let url = format!("sqlite://{}", directory.join("syndic.db").display());
                let store = SqliteStore::connect(&url, max_connections).await?;
                Ok(LoadDatabase {
                    url,
                    backend: Backend::Sqlite(store),
                    cleanup: Cleanup::Directory(directory),
                })
            }
            Some(admin_url) => {
                let name = format!("syndic_loadtest_{}", unique_suffix());
                let mut admin = PgConnection::connect(admin_url)
                    .await
                    .context("Failed to connect to Postgres")?;
                admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
                let mut url = reqwest::Url::parse(admin_url).context("Invalid Postgres URL")?;
                url.set_path(&name);
                let url = url.to_string();
                let store = PostgresStore::connect(&url, max_connections).await?;
                Ok(LoadDatabase {
                    url,
                    backend: Backend::Postgres(store),
                    cleanup: Cleanup::PostgresDatabase {
                        admin_url: admin_url.to_owned(),
                        name,
                    },
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The store for an engine; it shares the pool the counts use.
    pub fn store(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite(store) => Arc::new(store.clone()),
            Backend::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// Stored articles, all feeds together. The Store trait has no count, so this asks the database directly.
    pub async fn count_articles(&self) -> anyhow::Result<i64> {
        let query = "SELECT count(*) FROM articles";
        Ok(match &self.backend {
            Backend::Sqlite(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await?,
            Backend::Postgres(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await?,
        })
    }

    /// Whether some subscribed feed was not polled since `since` (through the store, as the admin route asks).
    pub async fn any_polled_before(&self, since: DateTime<Utc>) -> anyhow::Result<bool> {
        Ok(!self.polled_before(since, 1).await?.is_empty())
    }

    /// The URLs of up to `limit` subscribed feeds not polled since `since`.
    pub async fn polled_before(&self, since: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<String>> {
        let stale = self.store().stale_feeds(since, limit).await?;
        Ok(stale.into_iter().map(|feed| feed.url).collect())
    }

    /// Closes the pool and deletes the database or its directory.
    pub async fn remove(self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(store) => store.pool().close().await,
            Backend::Postgres(store) => store.pool().close().await,
        }
        match self.cleanup {
            Cleanup::Directory(directory) => std::fs::remove_dir_all(directory)?,
            Cleanup::PostgresDatabase { admin_url, name } => {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
            }
        }
        Ok(())
    }
}
