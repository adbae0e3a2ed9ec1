//! The two backends under test, each a fresh database per test that is removed when the test ends, even by a panic.

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::{Connection, PgConnection};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn postgres_admin_url() -> String {
    std::env::var("SYNDIC_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database of its own on the test server; dropped with the guard.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
}

pub async fn postgres() -> (PostgresDatabase, Arc<dyn Store>) {
    let admin_url = postgres_admin_url();
    let name = format!("syndic_store_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot reach Postgres at {admin_url}: {error}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    admin.close().await.expect("close the admin connection");
    // The guard exists before the store connects, so a failing connect still drops the database.
    let database = PostgresDatabase { admin_url, name };
    let store = PostgresStore::connect(&database.url(), 4)
        .await
        .expect("connect to the test database");
    (database, Arc::new(store))
}

impl PostgresDatabase {
    /// The test database's own URL.
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("a Postgres URL");
        url.set_path(&self.name);
        url.into()
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // The test's own runtime may be unwinding or blocked in this drop: use a runtime of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(&statement).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<(), anyhow::Error>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop test database {}: {error}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

/// A database file of its own in the temp directory; removed, with its WAL and shared-memory files, with the guard.
pub struct SqliteFile {
    path: PathBuf,
}

pub async fn sqlite() -> (SqliteFile, Arc<dyn Store>) {
    let file = SqliteFile::new();
    let store = SqliteStore::connect(&file.url(), 4)
        .await
        .expect("open the test database");
    (file, Arc::new(store))
}

impl SqliteFile {
    /// A name for a file that does not exist yet.
    pub fn new() -> Self {
        let name = format!("syndic_store_{}.db", Uuid::new_v4().simple());
        SqliteFile {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn path(&self) -> &std::path::Path {
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
