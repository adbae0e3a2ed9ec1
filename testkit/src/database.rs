//! A fresh database per test, bench or load run: a new Postgres database with a unique name, or a SQLite file of
//! its own in the temp directory. Each is a guard that removes its database when dropped, even by a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

/// The Postgres server the tests use when SYNDIC_TEST_DATABASE_URL is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where tests create their Postgres databases: SYNDIC_TEST_DATABASE_URL, or the local server.
pub fn test_admin_url() -> String {
    std::env::var("SYNDIC_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Where benches create their Postgres databases: SYNDIC_BENCH_ADMIN_URL, or the local server.
pub fn bench_admin_url() -> String {
    std::env::var("SYNDIC_BENCH_ADMIN_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// `{prefix}_{32 hex digits}`: lower case, so a Postgres name needs no quotes.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// A database of its own on a Postgres server; dropped with the guard.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    /// Set once `remove` has dropped it, so that `Drop` does not try again.
    removed: bool,
}

impl PostgresDatabase {
    /// Creates `{prefix}_{unique}` on the server of `admin_url` (a URL of any database there).
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<PostgresDatabase> {
        let name = unique_name(prefix);
        let mut admin = PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("cannot reach Postgres at {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        admin.close().await?;
        Ok(PostgresDatabase {
            admin_url: admin_url.to_owned(),
            name,
            removed: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's own URL: the admin URL with the database's name as its path.
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("the admin URL parsed when the database was created");
        url.set_path(&self.name);
        url.into()
    }

    /// Drops the database now, reporting a failure that `Drop` could only print.
    pub async fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // The caller's runtime may be unwinding or blocked in this drop: use a runtime of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_database(&admin_url, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop the database {}: {error:#}", self.name),
            Err(_) => eprintln!("dropping the database {} panicked", self.name),
        }
    }
}

/// A SQLite file of its own in the temp directory; removed, with its WAL and shared-memory files, with the guard.
pub struct SqliteFile {
    path: PathBuf,
}

impl SqliteFile {
    /// A name for a file that does not exist yet: `{prefix}_{unique}.db` in the temp directory.
    pub fn new(prefix: &str) -> SqliteFile {
        SqliteFile {
            path: std::env::temp_dir().join(format!("{}.db", unique_name(prefix))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            // A file that was never created is not an error here.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A fresh database on either backend, with the store connected to it (migrations run).
pub struct FreshDatabase {
    pub url: String,
    pub store: BackendStore,
    guard: Guard,
}

enum Guard {
    Postgres(PostgresDatabase),
    Sqlite(SqliteFile),
}

/// The concrete store, for what the `Store` trait does not offer (a pool to count rows with).
#[derive(Clone)]
pub enum BackendStore {
    Postgres(PostgresStore),
    Sqlite(SqliteStore),
}

impl FreshDatabase {
    /// A new database named `{prefix}_{unique}`: on the server of `admin_url` for Postgres, in the temp directory
    /// for SQLite.
    pub async fn create(
        backend: Backend,
        admin_url: &str,
        prefix: &str,
        max_connections: u32,
    ) -> anyhow::Result<FreshDatabase> {
        // Each guard exists before the store connects, so a failing connect still removes the database.
        match backend {
            Backend::Postgres => {
                let database = PostgresDatabase::create(admin_url, prefix).await?;
                let url = database.url();
                let store = PostgresStore::connect(&url, max_connections).await?;
                Ok(FreshDatabase {
                    url,
                    store: BackendStore::Postgres(store),
                    guard: Guard::Postgres(database),
                })
            }
            Backend::Sqlite => {
                let file = SqliteFile::new(prefix);
                let url = file.url();
                let store = SqliteStore::connect(&url, max_connections).await?;
                Ok(FreshDatabase {
                    url,
                    store: BackendStore::Sqlite(store),
                    guard: Guard::Sqlite(file),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self.guard {
            Guard::Postgres(_) => Backend::Postgres,
            Guard::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The Postgres database's name, or the SQLite file's path.
    pub fn name(&self) -> String {
        match &self.guard {
            Guard::Postgres(database) => database.name().to_owned(),
            Guard::Sqlite(file) => file.path().to_string_lossy().into_owned(),
        }
    }

    /// Closes the store's pool and removes the database now, reporting a failure.
    pub async fn remove(self) -> anyhow::Result<()> {
        self.store.close().await;
        match self.guard {
            Guard::Postgres(database) => database.remove().await,
            // Dropping the guard removes the file.
            Guard::Sqlite(_) => Ok(()),
        }
    }
}

impl BackendStore {
    /// The store as the engine takes it; it shares this store's pool.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            BackendStore::Postgres(store) => Arc::new(store.clone()),
            BackendStore::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    /// Stored articles, all feeds together. The Store trait has no count, so this asks the database directly.
    pub async fn article_count(&self) -> Result<i64, sqlx::Error> {
        let query = "SELECT count(*) FROM articles";
        match self {
            BackendStore::Postgres(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await,
            BackendStore::Sqlite(store) => sqlx::query_scalar(query).fetch_one(store.pool()).await,
        }
    }

    pub async fn close(&self) {
        match self {
            BackendStore::Postgres(store) => store.pool().close().await,
            BackendStore::Sqlite(store) => store.pool().close().await,
        }
    }
}
