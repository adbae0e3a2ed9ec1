//! Helpers for tests that run the real `syndic` binary: a child process that is always killed, a slow feed
//! farm, a private `redis-server`, and direct counts of what the database holds.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::{Request, Response};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestDatabase};
use syndic_testkit::api_client;
use syndic_testkit::documents::titled::rss;
use syndic_testkit::feed_server;

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `syndic` binary running as a child process. Dropping it kills the process, so a failing test never
/// leaves an engine behind.
pub struct Syndic {
    child: Child,
    pub port: u16,
    log_path: PathBuf,
}

impl Syndic {
    /// Starts the binary with exactly these settings (plus the inherited environment, minus any database or
    /// Redis URL). Its output goes to a log file, so a chatty engine never blocks on a full pipe.
    pub fn spawn(port: u16, settings: &[(&str, String)]) -> Syndic {
        Self::spawn_command(Command::new(env!("CARGO_BIN_EXE_syndic")), port, settings)
    }

    /// Like `spawn`, with both the soft and the hard open-file limit set to `open_files` (via prlimit(1)),
    /// so the engine cannot raise it.
    pub fn spawn_with_open_files(port: u16, settings: &[(&str, String)], open_files: u64) -> Syndic {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={open_files}:{open_files}"))
            .arg(env!("CARGO_BIN_EXE_syndic"));
        Self::spawn_command(command, port, settings)
    }

    fn spawn_command(mut command: Command, port: u16, settings: &[(&str, String)]) -> Syndic {
        let log_path = std::env::temp_dir().join(format!("syndic_process_{}.log", uuid::Uuid::new_v4().simple()));
        let log = std::fs::File::create(&log_path).unwrap();
        command
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("SYNDIC_BIND", format!("127.0.0.1:{port}"))
            .env("SYNDIC_METRICS_BIND", "127.0.0.1:0")
            // Tests register their users; a test of closed registration sets it back.
            .env("SYNDIC_REGISTRATION", "open")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        Syndic { child, port, log_path }
    }

    /// The process id (prlimit(1) execs the binary, so it is the engine's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Waits until the HTTP API answers its health check with `ok`.
    pub async fn wait_until_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(exit) = self.child.try_wait().unwrap() {
                panic!("syndic exited at start-up with {exit:?}; logs:\n{}", self.logs());
            }
            if let Ok(response) = client.get(self.url("/healthcheck")).send().await {
                let body: Value = response.json().await.unwrap_or_default();
                if body["status"] == "ok" {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("syndic never became healthy; logs:\n{}", self.logs());
    }

    /// SIGKILL: no shutdown code runs at all.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator sends before it stops a container.
    pub fn terminate(&self) {
        // kill(1) sends SIGTERM without a libc dependency in the tests.
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to exit; fails the test (and kills it) if that takes longer than `within`.
    pub async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            if Instant::now() > deadline {
                self.kill_hard();
                panic!("syndic did not exit within {within:?}; logs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Syndic {
    fn drop(&mut self) {
        self.kill_hard();
        if std::env::var("TEST_LOG").is_ok() {
            eprintln!("--- syndic logs ({}) ---\n{}", self.log_path.display(), self.logs());
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// Registers and logs in a user against a running binary; returns the access token.
pub async fn register_and_login(client: &reqwest::Client, syndic: &Syndic, name: &str) -> String {
    api_client::register(client, &syndic.url(""), name, api_client::PASSWORD)
        .await
        .unwrap_or_else(|error| panic!("register {name}: {error:#}"));
    log_in(client, syndic, name).await
}

/// Logs in a user registered with the tests' password; returns the access token.
pub async fn log_in(client: &reqwest::Client, syndic: &Syndic, name: &str) -> String {
    api_client::log_in(client, &syndic.url(""), name, api_client::PASSWORD)
        .await
        .unwrap_or_else(|error| panic!("log in {name}: {error:#}"))
}

/// Subscribes in requests of at most 100 URLs, the API's limit.
pub async fn subscribe_all(client: &reqwest::Client, syndic: &Syndic, token: &str, urls: &[String]) {
    for chunk in urls.chunks(100) {
        let response = client
            .post(syndic.url("/v1/feeds"))
            .bearer_auth(token)
            .json(&json!({ "urls": chunk }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
}

/// Every article on a user's timeline through the API, following cursors.
pub async fn whole_timeline(client: &reqwest::Client, syndic: &Syndic, token: &str) -> Vec<Value> {
    api_client::whole_timeline(client, &syndic.url(""), token, "status=all")
        .await
        .unwrap_or_else(|error| panic!("read the timeline: {error:#}"))
}

/// Reads the database a binary writes to, directly, to see what is committed.
pub enum DatabaseProbe {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl DatabaseProbe {
    pub async fn connect(database: &TestDatabase) -> DatabaseProbe {
        match database.backend {
            Backend::Postgres => DatabaseProbe::Postgres(sqlx::PgPool::connect(&database.url).await.unwrap()),
            Backend::Sqlite => DatabaseProbe::Sqlite(sqlx::SqlitePool::connect(&database.url).await.unwrap()),
        }
    }

    async fn count(&self, query: &str, username: Option<&str>) -> i64 {
        match self {
            DatabaseProbe::Postgres(pool) => {
                let mut query = sqlx::query_scalar(query);
                if let Some(username) = username {
                    query = query.bind(username);
                }
                query.fetch_one(pool).await.unwrap()
            }
            DatabaseProbe::Sqlite(pool) => {
                let mut query = sqlx::query_scalar(query);
                if let Some(username) = username {
                    query = query.bind(username);
                }
                query.fetch_one(pool).await.unwrap()
            }
        }
    }

    pub async fn articles(&self) -> i64 {
        self.count("SELECT count(*) FROM articles", None).await
    }

    /// How many articles are on a user's timeline.
    pub async fn timeline_of(&self, username: &str) -> i64 {
        self.count(
            "SELECT count(*) FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id \
             WHERE s.user_id = (SELECT id FROM users WHERE username = $1)",
            Some(username),
        )
        .await
    }
}

/// A farm of RSS feeds on one local host, each answering only after a delay, so that ingesting the whole
/// farm takes long enough for a test to interrupt it.
pub struct SlowFarm {
    address: String,
    feeds: usize,
    answered: Arc<AtomicUsize>,
    /// The most requests the farm ever had in flight at once.
    most_in_flight: Arc<AtomicUsize>,
}

impl SlowFarm {
    /// `feeds` feeds at `/feed/{n}.xml`, each with `entries` entries, every answer `delay` late.
    pub async fn start(feeds: usize, entries: usize, delay: Duration) -> SlowFarm {
        let bodies: Arc<Vec<String>> = Arc::new((0..feeds).map(|n| rss(&format!("farm{n}"), 0, entries)).collect());
        let answered = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        let endpoint_in_flight = in_flight.clone();
        let endpoint_most = most_in_flight.clone();
        let endpoint_answered = answered.clone();
        let endpoint = poem::endpoint::make(move |request: Request| {
            let bodies = bodies.clone();
            let answered = endpoint_answered.clone();
            let in_flight = endpoint_in_flight.clone();
            let most = endpoint_most.clone();
            async move {
                let now_in_flight = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now_in_flight, Ordering::SeqCst);
                let body = request
                    .uri()
                    .path()
                    .strip_prefix("/feed/")
                    .and_then(|rest| rest.strip_suffix(".xml"))
                    .and_then(|number| number.parse::<usize>().ok())
                    .and_then(|number| bodies.get(number).cloned());
                tokio::time::sleep(delay).await;
                let response = match body {
                    Some(body) => Response::builder()
                        .header("content-type", "application/rss+xml")
                        .body(body),
                    None => Response::builder()
                        .status(poem::http::StatusCode::NOT_FOUND)
                        .body("no such feed"),
                };
                in_flight.fetch_sub(1, Ordering::SeqCst);
                answered.fetch_add(1, Ordering::SeqCst);
                Ok::<_, poem::Error>(response)
            }
        });
        let address = feed_server::serve(0, endpoint).await.expect("the slow farm starts");
        SlowFarm {
            address: format!("http://{address}"),
            feeds,
            answered,
            most_in_flight,
        }
    }

    pub fn urls(&self) -> Vec<String> {
        (0..self.feeds)
            .map(|n| format!("{}/feed/{n}.xml", self.address))
            .collect()
    }

    /// The most requests the farm ever had in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many responses the farm has finished, all feeds together.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

/// A `redis-server` of the test's own on a free port, so that it can be stopped without touching the Redis
/// other tests share. Dropping it kills the server.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let mut redis = PrivateRedis {
            port: free_port(),
            child: None,
        };
        redis.start_again().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server: every connection to it breaks and new ones are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (it keeps nothing on disk), and waits until it answers.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the private Redis is already running");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the Redis outage test");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the private redis-server did not start on port {}", self.port);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
