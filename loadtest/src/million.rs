//! The million scenario: N idle subscribed feeds seeded directly, then an engine started on them in this process:
//! time to `/healthcheck`, time until every feed's actor runs, resident memory at idle, and the in-process
//! shutdown. SIGTERM to exit of the real binary is what `scripts/startup_memory.sh` measures (Postgres).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use syndic_testkit::users::store_user;

use crate::database::LoadDatabase;
use crate::report::{millis, two_columns};
use crate::seed::seed_idle_feeds;
use crate::{engine_config, on_fresh_database, wait_until, RunningEngine};
use syndic_testkit::process::resident_bytes;

/// How long the engine idles before its memory is read.
const IDLE: Duration = Duration::from_secs(5);
const USERNAME: &str = "million";

#[derive(Debug, Clone, clap::Args)]
pub struct MillionSettings {
    /// million: idle subscribed feeds seeded before the engine starts.
    #[arg(long, default_value_t = 1_000_000)]
    pub idle_feeds: usize,
}

#[derive(Debug, Clone, Default)]
pub struct MillionReport {
    pub database: String,
    pub feeds: usize,
    pub seed_elapsed: Duration,
    /// From starting the engine (opening its store) to `/healthcheck` answering 200.
    pub healthcheck_elapsed: Duration,
    /// From starting the engine to every seeded feed's actor running.
    pub actors_elapsed: Duration,
    pub running_actors: usize,
    /// This process's resident memory before the engine started, and after it idled with every actor running.
    pub resident_before: u64,
    pub resident_idle: u64,
    /// From asking the in-process engine to stop to its last task ending.
    pub shutdown_elapsed: Duration,
}

pub async fn run(
    base: &syndic::Config,
    settings: &MillionSettings,
    timeout: Duration,
) -> anyhow::Result<MillionReport> {
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, database, timeout).await
    })
    .await
}

async fn measure(
    base: &syndic::Config,
    settings: &MillionSettings,
    database: &LoadDatabase,
    timeout: Duration,
) -> anyhow::Result<MillionReport> {
    let config = engine_config(base, database.url());
    let seed_started = Instant::now();
    store_user(database.store().as_ref(), USERNAME).await;
    seed_idle_feeds(database.backend_store(), USERNAME, settings.idle_feeds).await?;
    let seed_elapsed = seed_started.elapsed();
    let resident_before = resident_bytes().unwrap_or(0);

    let started = Instant::now();
    let engine = RunningEngine::start(&config).await?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let healthcheck = format!("{}/healthcheck", engine.base_url());
    wait_until(timeout, "/healthcheck", || async {
        Ok(client
            .get(&healthcheck)
            .send()
            .await
            .is_ok_and(|response| response.status().is_success()))
    })
    .await?;
    let healthcheck_elapsed = started.elapsed();
    let handle = engine.application.engine().clone();
    wait_until(timeout, "every feed actor", || async {
        Ok(handle.running_feed_actors().await? >= settings.idle_feeds)
    })
    .await?;
    let actors_elapsed = started.elapsed();
    tokio::time::sleep(IDLE).await;
    let resident_idle = resident_bytes().unwrap_or(0);
    let running_actors = handle.running_feed_actors().await?;
    drop(handle);
    let stopping = Instant::now();
    engine.stop().await?;
    Ok(MillionReport {
        database: database.kind().to_owned(),
        feeds: settings.idle_feeds,
        seed_elapsed,
        healthcheck_elapsed,
        actors_elapsed,
        running_actors,
        resident_before,
        resident_idle,
        shutdown_elapsed: stopping.elapsed(),
    })
}

impl MillionReport {
    /// Resident memory the engine added, per feed.
    fn bytes_per_feed(&self) -> f64 {
        self.resident_idle.saturating_sub(self.resident_before) as f64 / self.feeds.max(1) as f64
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scenario": "million",
            "database": self.database,
            "feeds": self.feeds,
            "seed_seconds": self.seed_elapsed.as_secs_f64(),
            "healthcheck_ms": millis(self.healthcheck_elapsed),
            "all_actors_running_ms": millis(self.actors_elapsed),
            "running_actors": self.running_actors,
            "resident_bytes_before_engine": self.resident_before,
            "resident_bytes_idle": self.resident_idle,
            "engine_bytes_per_feed": self.bytes_per_feed(),
            "in_process_shutdown_ms": millis(self.shutdown_elapsed),
            "targets": { "resident_bytes": 4_u64 << 30, "startup_ms": 10_000, "sigterm_to_exit_ms": 10_000 },
        })
    }

    pub fn table(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        two_columns(&[
            ("scenario", "million".to_owned()),
            ("database", self.database.clone()),
            (
                "feeds seeded",
                format!("{} in {:.1} s", self.feeds, self.seed_elapsed.as_secs_f64()),
            ),
            (
                "start to /healthcheck",
                format!("{:.0} ms", millis(self.healthcheck_elapsed)),
            ),
            (
                "start to every actor running",
                format!(
                    "{:.0} ms ({} running; target under 10 s)",
                    millis(self.actors_elapsed),
                    self.running_actors
                ),
            ),
            (
                "resident, idle",
                format!(
                    "{:.1} MiB ({:.1} MiB before the engine; {:.0} bytes per feed; target 4 GiB)",
                    mib(self.resident_idle),
                    mib(self.resident_before),
                    self.bytes_per_feed()
                ),
            ),
            (
                "in-process shutdown",
                format!(
                    "{:.0} ms (SIGTERM to exit: scripts/startup_memory.sh)",
                    millis(self.shutdown_elapsed)
                ),
            ),
        ])
    }
}
