//! Test harness: a fresh Postgres database per test, a Redis key prefix per test, the real app on port 0,
//! and an HTTP client that speaks the API.

use std::sync::{Arc, Once};
use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use syndic::{Application, Cli, Config};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::feed_server::FeedServer;

/// Where tests create their databases; override with SYNDIC_TEST_DATABASE_URL.
pub fn admin_database_url() -> String {
    std::env::var("SYNDIC_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("SYNDIC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            syndic::telemetry::init(syndic::config::LogFormat::Text);
        }
    });
}

/// Which store (and cache) a test runs on: Postgres with Redis, or the embedded SQLite with the in-process cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Runs each listed `async fn name(backend: Backend)` as a test on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Postgres).await })*
        }
        mod on_sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await })*
        }
    };
}

enum RawPool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// A database that exists for one test and is removed with it, even when the test panics.
pub struct TestDatabase {
    pub backend: Backend,
    /// The Postgres database's name, or the SQLite file's path.
    pub name: String,
    pub url: String,
    pub store: Arc<dyn Store>,
    pool: RawPool,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Postgres => Self::create_postgres().await,
            Backend::Sqlite => Self::create_sqlite().await,
        }
    }

    async fn create_postgres() -> TestDatabase {
        let admin_url = admin_database_url();
        let name = format!("syndic_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("Postgres must be running for the tests");
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap();
        let url = format!("{base}/{name}");
        let store = PostgresStore::connect(&url, 8).await.expect("migrations run");
        let pool = RawPool::Postgres(store.pool().clone());
        TestDatabase {
            backend: Backend::Postgres,
            name,
            url,
            store: Arc::new(store),
            pool,
        }
    }

    async fn create_sqlite() -> TestDatabase {
        let path = std::env::temp_dir().join(format!("syndic_test_{}.db", Uuid::new_v4().simple()));
        let name = path.to_string_lossy().into_owned();
        let url = format!("sqlite://{name}");
        let store = SqliteStore::connect(&url, 8).await.expect("migrations run");
        let pool = RawPool::Sqlite(store.pool().clone());
        TestDatabase {
            backend: Backend::Sqlite,
            name,
            url,
            store: Arc::new(store),
            pool,
        }
    }

    pub async fn article_count(&self) -> i64 {
        let query = "SELECT count(*) FROM articles";
        match &self.pool {
            RawPool::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await.unwrap(),
            RawPool::Sqlite(pool) => sqlx::query_scalar(query).fetch_one(pool).await.unwrap(),
        }
    }

    /// Deletes a user the way an operator would in SQL; their subscriptions and article state go with them.
    pub async fn delete_user(&self, name: &str) {
        let query = "DELETE FROM users WHERE username = $1";
        let deleted = match &self.pool {
            RawPool::Postgres(pool) => sqlx::query(query)
                .bind(name)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected(),
            RawPool::Sqlite(pool) => sqlx::query(query)
                .bind(name)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(deleted, 1, "{name} existed");
    }

    /// The stored ETag and status of a feed.
    pub async fn feed_state(&self, feed_id: i64) -> (Option<String>, String) {
        let query = "SELECT etag, status FROM feeds WHERE id = $1";
        match &self.pool {
            RawPool::Postgres(pool) => sqlx::query_as(query).bind(feed_id).fetch_one(pool).await.unwrap(),
            RawPool::Sqlite(pool) => sqlx::query_as(query).bind(feed_id).fetch_one(pool).await.unwrap(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.backend == Backend::Sqlite {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
            }
            return;
        }
        let name = self.name.clone();
        let admin_url = admin_database_url();
        // Drop runs outside any async context we can await in, so use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub config: Config,
    pub application: Option<Application>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Settings for a test engine. Polls happen only when a test asks for them, unless it sets an interval.
pub struct TestSettings {
    /// Every poll interval, adaptive or not, is held to this.
    pub poll_interval_secs: u64,
    pub startup_spread_secs: u64,
}

impl Default for TestSettings {
    fn default() -> Self {
        TestSettings {
            poll_interval_secs: 3600,
            startup_spread_secs: 0,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, TestSettings::default()).await
}

pub async fn spawn_app_with(backend: Backend, settings: TestSettings) -> TestApp {
    init_tracing();
    let database = TestDatabase::create(backend).await;
    let mut config = Cli::try_parse_from(["syndic"]).unwrap().config;
    config.database_url = Some(database.url.clone());
    config.redis_url = match backend {
        Backend::Postgres => Some(redis_url()),
        Backend::Sqlite => None,
    };
    config.redis_prefix = format!("syndic-test-{}:", Uuid::new_v4().simple());
    config.jwt_secret = Some("test-secret".into());
    config.registration = syndic::config::RegistrationMode::Open;
    config.allow_private_networks = true;
    config.metrics_bind = "127.0.0.1:0".parse().unwrap();
    // Every test's feeds live on one local server: relax politeness as a local farm would.
    config.per_host_concurrency = 16;
    config.per_host_interval_ms = 0;
    config.poll_interval_secs = settings.poll_interval_secs;
    config.min_poll_interval_secs = settings.poll_interval_secs;
    config.max_poll_interval_secs = settings.poll_interval_secs;
    config.startup_spread_secs = settings.startup_spread_secs;
    let mut app = TestApp {
        address: String::new(),
        client: reqwest::Client::new(),
        database,
        config,
        application: None,
        shutdown: None,
    };
    app.start().await;
    app
}

impl TestApp {
    async fn start(&mut self) {
        let store = self.database.store.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (sender, receiver) = oneshot::channel();
        let shutdown = async move {
            let _ = receiver.await;
        };
        let application = Application::start(&self.config, store, listener, shutdown)
            .await
            .expect("app starts");
        self.address = format!("http://{}", application.address());
        self.application = Some(application);
        self.shutdown = Some(sender);
    }

    /// Stops the app the way SIGTERM does, then starts a new one on the same database and Redis prefix.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    pub async fn stop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(application) = self.application.take() {
            application.wait().await.expect("clean shutdown");
        }
    }

    pub fn engine(&self) -> &syndic_actors::engine::Engine {
        self.application.as_ref().expect("the app is running").engine()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Gives a registered user the operator role, as `syndic admin grant` does.
    pub async fn make_admin(&self, name: &str) {
        self.database
            .store
            .set_role(name, syndic_actors::domain::Role::Admin)
            .await
            .expect("the user exists");
    }

    /// Registers and logs in a user; returns the access token.
    pub async fn user(&self, name: &str) -> String {
        let registered = self
            .post_json(
                "/v1/auth/register",
                None,
                &json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(registered.status(), 201, "register {name}");
        let login = self
            .post_json(
                "/v1/auth/login",
                None,
                &json!({"identifier": name, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(login.status(), 200);
        let body: Value = login.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn subscribe(&self, token: &str, urls: &[String]) -> Vec<Value> {
        let response = self.post_json("/v1/feeds", Some(token), &json!({ "urls": urls })).await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        body["results"].as_array().unwrap().clone()
    }

    /// Every article on the user's timeline, following cursors.
    pub async fn timeline(&self, token: &str, query: &str) -> Vec<Value> {
        let mut articles = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/articles?limit=200&{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let response = self.get(&path, Some(token)).await;
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            articles.extend(body["articles"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return articles,
            }
        }
    }

    /// Waits until the user's timeline holds `count` articles; fails the test after 15 s.
    pub async fn wait_for_timeline(&self, token: &str, count: usize) -> Vec<Value> {
        let mut last = Vec::new();
        for _ in 0..150 {
            last = self.timeline(token, "status=all").await;
            if last.len() >= count {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timeline has {} articles, expected {count}", last.len());
    }

    pub async fn article_count(&self) -> i64 {
        self.database.article_count().await
    }
}

/// Polls a condition every 50 ms until it holds; fails the test after `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub async fn feed_server() -> FeedServer {
    FeedServer::start().await
}
