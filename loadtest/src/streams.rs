//! The streams scenario: many idle event streams open on one engine (resident memory and CPU per stream), then
//! the cold round over the farm while they stay open, with one more stream reading: the time from an event's
//! store to its arrival on that stream (p50, p99).
//!
//! The idle streams belong to a user with no subscriptions, so nothing is sent on them but heartbeats. Their
//! client ends live in a child process (`stream_clients`), so the memory and CPU read here are the engine's
//! (with the farm's, idle by then). Memory is read three times: just after the first `--streams-first` are
//! open, just after all are, and after they idled (`--streams-idle-secs`), each against a reading taken after
//! the engine idled as long before the first stream opened. The two early readings count what
//! the opening requests left behind, freed blocks that malloc keeps between the streams' until the engine's
//! next trim of its heaps (`SYNDIC_MEMORY_TRIM_SECS`); the last, per stream over all of them, is the figure for
//! an idle stream.
//!
//! The latency is measured two ways. The reader times each event from its `at`, stamped as the event is written,
//! to its arrival: store to wire. On SQLite an `article.new` is written in the transaction of the flush that
//! stored its articles, before that transaction commits, so the figure includes the commit; on Postgres the
//! event bus writes it after the flush committed and the subscribers were looked up. The engine times each
//! message from the moment the commit that stored its event returned to its hand-over to the connection
//! (`syndic_event_delivery_seconds`, read from `/metrics` before and after the round): commit to wire, as
//! bucket bounds. Events the stream read from the log are timed there from `at`, an upper bound.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::database::LoadDatabase;
use crate::driver::ApiClient;
use crate::farm::Farm;
use crate::report::{millis, quantile, two_columns};
use crate::scraped::{Histogram, Scrape};
use crate::stream_clients::StreamClients;
use crate::{cold_round, cpu_time, engine_config, on_fresh_database, wait_until, RunningEngine};
use syndic_actors::instruments::EVENT_DELIVERY as DELIVERY;
use syndic_testkit::process::resident_bytes;

#[derive(Debug, Clone, clap::Args)]
pub struct StreamsSettings {
    /// streams: idle event streams held open (their client ends are in a child process).
    #[arg(long, default_value_t = 10_000)]
    pub streams: usize,
    /// streams: the streams open at the first memory reading; the second figure is per stream beyond them.
    #[arg(long, default_value_t = 1_000)]
    pub streams_first: usize,
    /// streams: how long the idle streams are watched for CPU before the last memory reading, in seconds: long
    /// enough for two heartbeats (every 15 s) and one trim of malloc's heaps (`SYNDIC_MEMORY_TRIM_SECS`, 30 s).
    #[arg(long, default_value_t = 40)]
    pub streams_idle_secs: u64,
}

#[derive(Debug, Clone, Default)]
pub struct StreamsReport {
    pub database: String,
    pub streams: usize,
    pub streams_first: usize,
    pub open_elapsed: Duration,
    pub resident_before: u64,
    pub resident_first: u64,
    pub resident_open: u64,
    /// After the streams idled for `idle`: what the allocator kept once the openings' garbage could be returned.
    pub resident_idle: u64,
    pub idle: Duration,
    pub idle_cpu: Duration,
    pub feeds: usize,
    pub cold_round: Duration,
    pub events_received: usize,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// The engine's `syndic_event_delivery_seconds` over the round: commit to the hand-over to the connection.
    pub delivery: Histogram,
    /// Of those, the messages a stream took from the log, timed from `at`.
    pub delivered_from_log: f64,
}

/// The commit-to-wire target.
const TARGET_SECONDS: f64 = 0.05;

impl StreamsReport {
    fn bytes_per_stream(&self) -> f64 {
        self.resident_open.saturating_sub(self.resident_before) as f64 / self.streams.max(1) as f64
    }

    /// The same, read after the streams idled: the figure for an idle stream.
    fn bytes_per_idle_stream(&self) -> f64 {
        self.resident_idle.saturating_sub(self.resident_before) as f64 / self.streams.max(1) as f64
    }

    /// What each stream beyond the first reading added.
    fn bytes_per_further_stream(&self) -> f64 {
        self.resident_open.saturating_sub(self.resident_first) as f64
            / self.streams.saturating_sub(self.streams_first).max(1) as f64
    }

    fn cpu_share(&self) -> f64 {
        self.idle_cpu.as_secs_f64() / self.idle.as_secs_f64().max(f64::EPSILON)
    }

    fn delivery_bound(&self, quantile: f64) -> String {
        match self.delivery.quantile_bound(quantile) {
            Some(bound) if bound.is_finite() => format!("at most {:.1} ms", bound * 1e3),
            Some(_) => "over the last bucket".to_owned(),
            None => "none timed".to_owned(),
        }
    }

    /// The share of the timed messages handed over within the target.
    fn delivered_within_target(&self) -> f64 {
        self.delivery.at_most(TARGET_SECONDS).unwrap_or(0.0) / self.delivery.count().max(1.0)
    }

    pub fn table(&self) -> String {
        two_columns(&[
            ("database", self.database.clone()),
            ("idle streams", self.streams.to_string()),
            ("opening them", format!("{:.0} ms", millis(self.open_elapsed))),
            ("resident before", format!("{:.1} MiB", mib(self.resident_before))),
            (
                "resident with the first streams open",
                format!("{:.1} MiB ({})", mib(self.resident_first), self.streams_first),
            ),
            (
                "resident with the streams open",
                format!("{:.1} MiB", mib(self.resident_open)),
            ),
            (
                "per stream, just opened",
                format!("{:.0} bytes", self.bytes_per_stream()),
            ),
            (
                "per idle stream beyond the first",
                format!("{:.0} bytes", self.bytes_per_further_stream()),
            ),
            ("resident after idling", format!("{:.1} MiB", mib(self.resident_idle))),
            ("per idle stream", format!("{:.0} bytes", self.bytes_per_idle_stream())),
            (
                "CPU while idle",
                format!(
                    "{:.2} % of one core over {} s",
                    self.cpu_share() * 100.0,
                    self.idle.as_secs()
                ),
            ),
            ("cold round feeds", self.feeds.to_string()),
            ("cold round", format!("{:.0} ms", millis(self.cold_round))),
            ("article.new received", self.events_received.to_string()),
            ("store to wire p50", format!("{:.1} ms", millis(self.latency_p50))),
            ("store to wire p99", format!("{:.1} ms", millis(self.latency_p99))),
            ("store to wire max", format!("{:.1} ms", millis(self.latency_max))),
            (
                "commit to wire, messages timed",
                format!(
                    "{} ({} from the log, timed from `at`)",
                    self.delivery.count(),
                    self.delivered_from_log
                ),
            ),
            ("commit to wire p50", self.delivery_bound(0.5)),
            ("commit to wire p99", self.delivery_bound(0.99)),
            (
                "commit to wire within 50 ms",
                format!("{:.2} %", self.delivered_within_target() * 100.0),
            ),
        ])
    }

    pub fn to_json(&self) -> Value {
        json!({
            "database": self.database,
            "streams": self.streams,
            "streams_first": self.streams_first,
            "open_ms": millis(self.open_elapsed),
            "resident_before_bytes": self.resident_before,
            "resident_first_bytes": self.resident_first,
            "resident_open_bytes": self.resident_open,
            "bytes_per_stream": self.bytes_per_stream(),
            "bytes_per_stream_beyond_first": self.bytes_per_further_stream(),
            "resident_idle_bytes": self.resident_idle,
            "bytes_per_idle_stream": self.bytes_per_idle_stream(),
            "idle_seconds": self.idle.as_secs_f64(),
            "idle_cpu_seconds": self.idle_cpu.as_secs_f64(),
            "cold_round_feeds": self.feeds,
            "cold_round_ms": millis(self.cold_round),
            "events_received": self.events_received,
            "store_to_wire_p50_ms": millis(self.latency_p50),
            "store_to_wire_p99_ms": millis(self.latency_p99),
            "store_to_wire_max_ms": millis(self.latency_max),
            "commit_to_wire_timed": self.delivery.count(),
            "commit_to_wire_from_log": self.delivered_from_log,
            "commit_to_wire_p50_at_most_ms": self.delivery.quantile_bound(0.5).map(|bound| bound * 1e3),
            "commit_to_wire_p99_at_most_ms": self.delivery.quantile_bound(0.99).map(|bound| bound * 1e3),
            "commit_to_wire_within_50_ms": self.delivered_within_target(),
        })
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub async fn run(
    base: &syndic::Config,
    settings: &StreamsSettings,
    farm: &Farm,
    deadline: Duration,
) -> anyhow::Result<StreamsReport> {
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, farm, database, deadline).await
    })
    .await
}

async fn measure(
    base: &syndic::Config,
    settings: &StreamsSettings,
    farm: &Farm,
    database: &LoadDatabase,
    deadline: Duration,
) -> anyhow::Result<StreamsReport> {
    let mut config = engine_config(base, database.url());
    config.event_streams_per_user = settings.streams + 1;
    config.event_streams_max = settings.streams + 1;
    config.max_connections = Some(settings.streams + 100);
    let engine = RunningEngine::start(&config).await?;
    let client = ApiClient::register(&engine.base_url()).await?;
    // The idle streams are another user's, who subscribes to nothing: they stay idle while the round runs.
    let idle_user = ApiClient::register_as(&engine.base_url(), "idle-streams").await?;
    let handle = engine.application.engine().clone();
    let mut report = StreamsReport {
        database: database.kind().to_owned(),
        streams: settings.streams,
        feeds: farm.settings().healthy_feeds(),
        ..StreamsReport::default()
    };

    let first = settings.streams_first.min(settings.streams);
    report.streams_first = first;
    let mut idle = StreamClients::spawn(engine.application.address(), idle_user.token())?;
    // The engine idles first as it will with the streams open, so that both readings follow a trim of its heaps.
    report.idle = Duration::from_secs(settings.streams_idle_secs);
    tokio::time::sleep(report.idle).await;
    report.resident_before = resident_bytes().unwrap_or(0);
    let started = Instant::now();
    for (total, reading) in [
        (first, &mut report.resident_first),
        (settings.streams, &mut report.resident_open),
    ] {
        idle.open(total - handle.events().streams().open_count()).await?;
        // A stream is registered before its head is written: the child's answer means they are all open.
        let open = handle.events().streams().open_count();
        if open != total {
            bail!("{open} idle streams are open, not {total}");
        }
        *reading = resident_bytes().unwrap_or(0);
    }
    report.open_elapsed = started.elapsed();

    let cpu_before = cpu_time::process().unwrap_or_default();
    tokio::time::sleep(report.idle).await;
    report.idle_cpu = cpu_time::process().unwrap_or_default().saturating_sub(cpu_before);
    report.resident_idle = resident_bytes().unwrap_or(0);

    // One stream that reads, as a client would, while the cold round runs beside the idle ones.
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_stream(engine.base_url(), client.token().to_owned(), arrivals));
    wait_until(deadline, "the reading stream to open", || async {
        Ok(handle.events().streams().open_count() > settings.streams)
    })
    .await?;
    let metrics_url = format!("http://{}/metrics", engine.application.metrics_address());
    let before = Scrape::read(&metrics_url).await?;
    let round_started = Instant::now();
    cold_round(&client, farm, database, &handle, deadline).await?;
    report.cold_round = round_started.elapsed();
    // Every healthy feed's first poll stored articles: one article.new each.
    let mut latencies = Vec::with_capacity(report.feeds);
    let collect_deadline = Instant::now() + Duration::from_secs(30);
    while latencies.len() < report.feeds && Instant::now() < collect_deadline {
        match tokio::time::timeout(Duration::from_secs(1), arrived.recv()).await {
            Ok(Some(latency)) => latencies.push(latency),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    reader.abort();
    // Each message was timed as it was handed over, before the reader got it.
    let after = Scrape::read(&metrics_url).await?;
    report.delivery = after.histogram(DELIVERY).since(&before.histogram(DELIVERY));
    let from_log = format!("{DELIVERY}_count{{timed_from=\"stored_at\"}}");
    report.delivered_from_log = after.value(&from_log) - before.value(&from_log);
    report.events_received = latencies.len();
    report.latency_p50 = quantile(&mut latencies, 0.5);
    report.latency_p99 = quantile(&mut latencies, 0.99);
    report.latency_max = latencies.iter().max().copied().unwrap_or_default();
    idle.close().await?;
    engine.stop().await?;
    Ok(report)
}

/// Reads `article.new` events and sends, for each, the time from its `at` to its arrival.
async fn read_stream(base: String, token: String, arrivals: mpsc::UnboundedSender<Duration>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut response = client
        .get(format!("{base}/v1/events?types=article.new"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let mut buffer = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let received = Utc::now();
        buffer.extend_from_slice(&chunk);
        // Every whole message in the buffer, then one drain: draining per message would move the rest of a large
        // chunk once per message and delay reading the next chunk, which the figures would count.
        let Some(last_end) = buffer.windows(2).rposition(|pair| pair == b"\n\n") else {
            continue;
        };
        let whole = std::str::from_utf8(&buffer[..last_end + 2]).context("the stream is UTF-8")?;
        for line in whole.lines() {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let event: Value = serde_json::from_str(data)?;
            let at: DateTime<Utc> = event["at"].as_str().context("an event has `at`")?.parse()?;
            let latency = (received - at).to_std().unwrap_or_default();
            let _ = arrivals.send(latency);
        }
        buffer.drain(..last_end + 2);
    }
    Ok(())
}
