//! The sustained scenario's figures: what the process and the farm had done at the edges of the measured
//! window, and the report made from them, as a table and as JSON.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::database::LoadDatabase;
use crate::farm::ResponseCounts;
use crate::farm_thread::FarmThread;
use crate::report::two_columns;

/// The counters at one edge of the measured window.
pub struct Sample {
    pub instant: Instant,
    pub at: DateTime<Utc>,
    /// CPU time of the whole process: engine, farm and harness.
    pub process_cpu: Option<Duration>,
    pub farm_cpu: Option<Duration>,
    /// CPU time of each Postgres backend serving the run's database; None on SQLite.
    pub database_cpu: Option<HashMap<u32, Duration>>,
    pub responses: ResponseCounts,
    /// The machine's 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
    pub load_average: Option<String>,
}

impl Sample {
    pub async fn take(farm: &FarmThread, database: &LoadDatabase) -> anyhow::Result<Sample> {
        let database_cpu = database.server_processes().await?.map(|processes| {
            processes
                .into_iter()
                .filter_map(|process| Some((process, crate::cpu_time::other_process(process)?)))
                .collect()
        });
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|line| line.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
        Ok(Sample {
            instant: Instant::now(),
            at: Utc::now(),
            process_cpu: crate::cpu_time::process(),
            farm_cpu: farm.cpu_time(),
            database_cpu,
            responses: farm.farm().responses(),
            load_average,
        })
    }
}

/// CPU time the database's backends used between two samples: each backend's growth, or all of it for one that
/// connected in between. A backend that disconnected in between is missed, so this is a lower bound.
pub fn database_cpu_between(start: &Sample, end: &Sample) -> Option<Duration> {
    let (start, end) = (start.database_cpu.as_ref()?, end.database_cpu.as_ref()?);
    Some(
        end.iter()
            .map(|(process, used)| used.saturating_sub(start.get(process).copied().unwrap_or_default()))
            .sum(),
    )
}

#[derive(Debug, Clone, Default)]
pub struct SustainedReport {
    pub database: String,
    pub feeds: usize,
    pub interval: Duration,
    pub changing_share: f64,
    pub max_fetches: usize,
    pub seed_elapsed: Duration,
    /// From starting the engine to every feed's actor running; the measured window starts there.
    pub actors_elapsed: Duration,
    pub window: Duration,
    /// The farm's answers within the window: every one is a poll.
    pub responses: ResponseCounts,
    pub process_cpu: Option<Duration>,
    pub farm_cpu: Option<Duration>,
    /// The Postgres backends' CPU time (`database_cpu_between`); None on SQLite.
    pub database_cpu: Option<Duration>,
    /// This process's resident memory, read every sample period through the window.
    pub resident: Vec<u64>,
    pub traced_feeds: usize,
    /// Lateness of the traced feeds' polls due within the window, in seconds (`lateness::measure`).
    pub lateness_p50: f64,
    pub lateness_p99: f64,
    pub lateness_max: f64,
    pub lateness_measured: usize,
    pub lateness_unserved: usize,
    /// Over the whole run, start-up included.
    pub fewest_requests_per_feed: u32,
    pub feeds_polled_twice: usize,
    pub load_average_start: Option<String>,
    pub load_average_end: Option<String>,
}

impl SustainedReport {
    pub fn polls(&self) -> u64 {
        self.responses.full + self.responses.not_modified + self.responses.broken
    }

    pub fn polls_per_second(&self) -> f64 {
        if self.window.is_zero() {
            return 0.0;
        }
        self.polls() as f64 / self.window.as_secs_f64()
    }

    /// CPU seconds per 1,000 polls of `cpu`.
    fn per_thousand_polls(&self, cpu: Option<Duration>) -> Option<f64> {
        let polls = self.polls();
        cpu.filter(|_| polls > 0)
            .map(|cpu| cpu.as_secs_f64() * 1000.0 / polls as f64)
    }

    /// The process's CPU time less the farm's: the engine's, with the harness's small share.
    fn engine_cpu(&self) -> Option<Duration> {
        Some(self.process_cpu?.saturating_sub(self.farm_cpu?))
    }

    fn resident_first_last_max(&self) -> (u64, u64, u64) {
        let first = self.resident.first().copied().unwrap_or(0);
        let last = self.resident.last().copied().unwrap_or(0);
        (first, last, self.resident.iter().copied().max().unwrap_or(0))
    }

    pub fn to_json(&self) -> Value {
        let (first, last, max) = self.resident_first_last_max();
        let seconds = |cpu: Option<Duration>| cpu.map(|cpu| cpu.as_secs_f64());
        json!({
            "scenario": "sustained",
            "database": self.database,
            "feeds": self.feeds,
            "interval_seconds": self.interval.as_secs_f64(),
            "changing_share": self.changing_share,
            "max_fetches": self.max_fetches,
            "seed_seconds": self.seed_elapsed.as_secs_f64(),
            "all_actors_running_seconds": self.actors_elapsed.as_secs_f64(),
            "window_seconds": self.window.as_secs_f64(),
            "polls": self.polls(),
            "polls_per_second": self.polls_per_second(),
            "polls_per_second_scheduled": self.feeds as f64 / self.interval.as_secs_f64(),
            "responses_200": self.responses.full,
            "responses_304": self.responses.not_modified,
            "responses_broken": self.responses.broken,
            "traced_feeds": self.traced_feeds,
            "lateness_measured": self.lateness_measured,
            "lateness_unserved": self.lateness_unserved,
            "lateness_p50_seconds": self.lateness_p50,
            "lateness_p99_seconds": self.lateness_p99,
            "lateness_max_seconds": self.lateness_max,
            "resident_bytes_first": first,
            "resident_bytes_last": last,
            "resident_bytes_max": max,
            "resident_bytes_series": self.resident,
            "cpu_seconds_process": seconds(self.process_cpu),
            "cpu_seconds_farm": seconds(self.farm_cpu),
            "cpu_seconds_database_server": seconds(self.database_cpu),
            "cpu_seconds_per_1000_polls_process": self.per_thousand_polls(self.process_cpu),
            "cpu_seconds_per_1000_polls_farm": self.per_thousand_polls(self.farm_cpu),
            "cpu_seconds_per_1000_polls_engine": self.per_thousand_polls(self.engine_cpu()),
            "cpu_seconds_per_1000_polls_database_server": self.per_thousand_polls(self.database_cpu),
            "fewest_requests_per_feed": self.fewest_requests_per_feed,
            "feeds_polled_at_least_twice": self.feeds_polled_twice,
            "load_average_start": self.load_average_start,
            "load_average_end": self.load_average_end,
            "targets": { "lateness_p99_seconds": 2.0, "resident": "flat" },
        })
    }

    pub fn table(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let (first, last, max) = self.resident_first_last_max();
        let cpu = |cpu: Option<Duration>| match (cpu, self.per_thousand_polls(cpu)) {
            (Some(cpu), Some(per_thousand)) => {
                format!("{:.1} s, {:.3} s per 1,000 polls", cpu.as_secs_f64(), per_thousand)
            }
            _ => "not available".to_owned(),
        };
        two_columns(&[
            ("scenario", "sustained".to_owned()),
            ("database", self.database.clone()),
            (
                "feeds seeded",
                format!("{} in {:.1} s", self.feeds, self.seed_elapsed.as_secs_f64()),
            ),
            (
                "interval, changing share",
                format!("{} s, {}", self.interval.as_secs(), self.changing_share),
            ),
            (
                "start to every actor running",
                format!("{:.1} s", self.actors_elapsed.as_secs_f64()),
            ),
            (
                "polls in the window",
                format!(
                    "{} in {:.0} s: {:.0}/s (schedule: {:.0}/s); 200 / 304 / other: {} / {} / {}",
                    self.polls(),
                    self.window.as_secs_f64(),
                    self.polls_per_second(),
                    self.feeds as f64 / self.interval.as_secs_f64(),
                    self.responses.full,
                    self.responses.not_modified,
                    self.responses.broken
                ),
            ),
            (
                "lateness p50 / p99 / max",
                format!(
                    "{:.3} s / {:.3} s / {:.3} s ({} polls of {} traced feeds, {} not served by the end; target \
                     p99 under 2 s)",
                    self.lateness_p50,
                    self.lateness_p99,
                    self.lateness_max,
                    self.lateness_measured,
                    self.traced_feeds,
                    self.lateness_unserved
                ),
            ),
            (
                "resident first / last / max",
                format!(
                    "{:.1} / {:.1} / {:.1} MiB ({} samples)",
                    mib(first),
                    mib(last),
                    mib(max),
                    self.resident.len()
                ),
            ),
            ("CPU, whole process", cpu(self.process_cpu)),
            ("CPU, farm thread", cpu(self.farm_cpu)),
            ("CPU, engine and harness", cpu(self.engine_cpu())),
            ("CPU, Postgres backends (at least)", cpu(self.database_cpu)),
            (
                "feeds polled at least twice",
                format!(
                    "{} of {} (fewest requests of one feed: {})",
                    self.feeds_polled_twice, self.feeds, self.fewest_requests_per_feed
                ),
            ),
            (
                "load average start / end",
                format!(
                    "{} / {}",
                    self.load_average_start.as_deref().unwrap_or("?"),
                    self.load_average_end.as_deref().unwrap_or("?")
                ),
            ),
        ])
    }
}
