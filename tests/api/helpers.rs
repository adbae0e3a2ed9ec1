//! Test harness: a fresh database per test (the testkit's), a Redis key prefix per test, the real app on port 0,
//! and an HTTP client that speaks the API.

use std::sync::{Arc, Once};
use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};
use syndic::{Application, Cli, Config};
use syndic_actors::store::Store;
use syndic_testkit::api_client;
pub use syndic_testkit::database::Backend;
use syndic_testkit::database::{BackendStore, FreshDatabase};
pub use syndic_testkit::feed_server::FeedServer;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Where tests create their databases; override with SYNDIC_TEST_DATABASE_URL.
pub fn admin_database_url() -> String {
    syndic_testkit::database::test_admin_url()
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

/// A database that exists for one test and is removed with it, even when the test panics.
pub struct TestDatabase {
    pub backend: Backend,
    /// The Postgres database's name, or the SQLite file's path.
    pub name: String,
    pub url: String,
    pub store: Arc<dyn Store>,
    fresh: FreshDatabase,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        let fresh = FreshDatabase::create(backend, &admin_database_url(), "syndic_test", 8)
            .await
            .unwrap_or_else(|error| panic!("a fresh {backend:?} database (is Postgres running?): {error:#}"));
        TestDatabase {
            backend,
            name: fresh.name(),
            url: fresh.url.clone(),
            store: fresh.store.shared(),
            fresh,
        }
    }

    pub async fn article_count(&self) -> i64 {
        self.fresh.store.article_count().await.unwrap()
    }

    /// Deletes a user the way an operator would in SQL; their subscriptions and article state go with them.
    pub async fn delete_user(&self, name: &str) {
        let query = "DELETE FROM users WHERE username = $1";
        let deleted = match &self.fresh.store {
            BackendStore::Postgres(store) => sqlx::query(query)
                .bind(name)
                .execute(store.pool())
                .await
                .unwrap()
                .rows_affected(),
            BackendStore::Sqlite(store) => sqlx::query(query)
                .bind(name)
                .execute(store.pool())
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(deleted, 1, "{name} existed");
    }

    /// Every table with a `user_id` column, found in the catalog, with how many of its rows belong to `user`:
    /// what account deletion must leave at zero.
    pub async fn rows_of_user(&self, user: &str) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        match &self.fresh.store {
            BackendStore::Postgres(store) => {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.columns \
                     WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY 1",
                )
                .fetch_all(store.pool())
                .await
                .unwrap();
                for (table,) in tables {
                    let query = format!("SELECT count(*) FROM {table} WHERE user_id::text = $1");
                    let (count,): (i64,) = sqlx::query_as(&query).bind(user).fetch_one(store.pool()).await.unwrap();
                    counts.push((table, count));
                }
            }
            BackendStore::Sqlite(store) => {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND p.name = 'user_id' ORDER BY 1",
                )
                .fetch_all(store.pool())
                .await
                .unwrap();
                for (table,) in tables {
                    let query = format!("SELECT count(*) FROM {table} WHERE user_id = $1");
                    let (count,): (i64,) = sqlx::query_as(&query).bind(user).fetch_one(store.pool()).await.unwrap();
                    counts.push((table, count));
                }
            }
        }
        counts
    }

    /// Renames every stored article behind the engine's back, as an operator's SQL would: what a cached page
    /// cannot know about.
    pub async fn retitle_articles(&self, title: &str) {
        let query = "UPDATE articles SET title = $1";
        match &self.fresh.store {
            BackendStore::Postgres(store) => sqlx::query(query).bind(title).execute(store.pool()).await.map(drop),
            BackendStore::Sqlite(store) => sqlx::query(query).bind(title).execute(store.pool()).await.map(drop),
        }
        .unwrap();
    }

    /// Every stored article's summary, as the feed sent it.
    pub async fn stored_summaries(&self) -> Vec<Option<String>> {
        let query = "SELECT summary FROM articles ORDER BY id";
        let rows: Vec<(Option<String>,)> = match &self.fresh.store {
            BackendStore::Postgres(store) => sqlx::query_as(query).fetch_all(store.pool()).await,
            BackendStore::Sqlite(store) => sqlx::query_as(query).fetch_all(store.pool()).await,
        }
        .unwrap();
        rows.into_iter().map(|(summary,)| summary).collect()
    }

    /// Moves every timer's next instant to `at`, as if the engine had been down since then.
    pub async fn move_timers_to(&self, at: chrono::DateTime<chrono::Utc>) {
        let query = "UPDATE timers SET next_fire_at = $1";
        match &self.fresh.store {
            BackendStore::Postgres(store) => sqlx::query(query).bind(at).execute(store.pool()).await.map(drop),
            BackendStore::Sqlite(store) => sqlx::query(query)
                .bind(at.timestamp_micros())
                .execute(store.pool())
                .await
                .map(drop),
        }
        .unwrap();
    }

    /// The stored ETag and status of a feed.
    pub async fn feed_state(&self, feed_id: i64) -> (Option<String>, String) {
        let query = "SELECT etag, status FROM feeds WHERE id = $1";
        match &self.fresh.store {
            BackendStore::Postgres(store) => sqlx::query_as(query)
                .bind(feed_id)
                .fetch_one(store.pool())
                .await
                .unwrap(),
            BackendStore::Sqlite(store) => sqlx::query_as(query)
                .bind(feed_id)
                .fetch_one(store.pool())
                .await
                .unwrap(),
        }
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
    spawn_app_configured(backend, settings, |_| {}).await
}

/// [`spawn_app_with`], with any other configuration a test needs set by `adjust`.
pub async fn spawn_app_configured(
    backend: Backend,
    settings: TestSettings,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
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
    adjust(&mut config);
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

    /// The text of `/metrics`, from the metrics listener; its counters are shared by every app in this process.
    pub async fn metrics(&self) -> String {
        let address = self.application.as_ref().unwrap().metrics_address();
        let response = self
            .client
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
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

    /// Registers and logs in a user with the tests' password; returns the access token.
    pub async fn user(&self, name: &str) -> String {
        api_client::register(&self.client, &self.address, name, api_client::PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("register {name}: {error:#}"));
        self.login(name).await
    }

    /// Logs in a user registered with the tests' password; returns the access token.
    pub async fn login(&self, name: &str) -> String {
        api_client::log_in(&self.client, &self.address, name, api_client::PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("log in {name}: {error:#}"))
    }

    pub async fn subscribe(&self, token: &str, urls: &[String]) -> Vec<Value> {
        let response = self.post_json("/v1/feeds", Some(token), &json!({ "urls": urls })).await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        body["results"].as_array().unwrap().clone()
    }

    /// Every article on the user's timeline, following cursors.
    pub async fn timeline(&self, token: &str, query: &str) -> Vec<Value> {
        api_client::whole_timeline(&self.client, &self.address, token, query)
            .await
            .unwrap_or_else(|error| panic!("read the timeline: {error:#}"))
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

/// Panics unless a webhook delivery's body has its event's shape in the contract (`WebhookPayload`).
pub fn assert_payload_matches_contract(body: &Value) {
    use poem_openapi::types::ParseFromJSON;
    if let Err(error) = syndic_api::webhook_payloads::WebhookPayload::parse_from_json(Some(body.clone())) {
        panic!("{body} does not match the contract: {}", error.into_message());
    }
}
