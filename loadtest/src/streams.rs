//! The streams scenario: many idle event streams open on one engine (resident memory and CPU per stream), then
//! the cold round over the farm while they stay open, with one more stream reading: the time from an event's
//! store to its arrival on that stream (p50, p99).
//!
//! The idle streams belong to a user with no subscriptions, so nothing is sent on them but heartbeats.
//! Both ends of every stream live in this process, so the memory per stream is an upper bound: it includes the
//! client's socket and its buffer. The latency is measured from the event's `at`, which the event bus stamps
//! as it writes the event, after the flush that caused it committed and its subscribers were looked up.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::database::LoadDatabase;
use crate::driver::ApiClient;
use crate::farm::Farm;
use crate::report::{millis, quantile, resident_bytes, two_columns};
use crate::{cold_round, cpu_time, engine_config, on_fresh_database, wait_until, RunningEngine};

/// Streams opened at once while the idle streams open.
const OPEN_CONCURRENCY: usize = 200;

#[derive(Debug, Clone, clap::Args)]
pub struct StreamsSettings {
    /// streams: idle event streams held open (each takes two file descriptors in this process).
    #[arg(long, default_value_t = 9_000)]
    pub streams: usize,
    /// streams: how long the idle streams are watched for CPU, in seconds (a heartbeat every 15 s).
    #[arg(long, default_value_t = 30)]
    pub streams_idle_secs: u64,
}

#[derive(Debug, Clone, Default)]
pub struct StreamsReport {
    pub database: String,
    pub streams: usize,
    pub open_elapsed: Duration,
    pub resident_before: u64,
    pub resident_open: u64,
    pub idle: Duration,
    pub idle_cpu: Duration,
    pub feeds: usize,
    pub cold_round: Duration,
    pub events_received: usize,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
}

impl StreamsReport {
    fn bytes_per_stream(&self) -> f64 {
        self.resident_open.saturating_sub(self.resident_before) as f64 / self.streams.max(1) as f64
    }

    fn cpu_share(&self) -> f64 {
        self.idle_cpu.as_secs_f64() / self.idle.as_secs_f64().max(f64::EPSILON)
    }

    pub fn table(&self) -> String {
        two_columns(&[
            ("database", self.database.clone()),
            ("idle streams", self.streams.to_string()),
            ("opening them", format!("{:.0} ms", millis(self.open_elapsed))),
            ("resident before", format!("{:.1} MiB", mib(self.resident_before))),
            (
                "resident with the streams open",
                format!("{:.1} MiB", mib(self.resident_open)),
            ),
            (
                "per idle stream (both ends)",
                format!("{:.0} bytes", self.bytes_per_stream()),
            ),
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
        ])
    }

    pub fn to_json(&self) -> Value {
        json!({
            "database": self.database,
            "streams": self.streams,
            "open_ms": millis(self.open_elapsed),
            "resident_before_bytes": self.resident_before,
            "resident_open_bytes": self.resident_open,
            "bytes_per_stream": self.bytes_per_stream(),
            "idle_seconds": self.idle.as_secs_f64(),
            "idle_cpu_seconds": self.idle_cpu.as_secs_f64(),
            "cold_round_feeds": self.feeds,
            "cold_round_ms": millis(self.cold_round),
            "events_received": self.events_received,
            "store_to_wire_p50_ms": millis(self.latency_p50),
            "store_to_wire_p99_ms": millis(self.latency_p99),
            "store_to_wire_max_ms": millis(self.latency_max),
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

    report.resident_before = resident_bytes().unwrap_or(0);
    let started = Instant::now();
    let address = engine.application.address();
    let mut idle = Vec::with_capacity(settings.streams);
    let mut opening = futures::stream::iter(0..settings.streams)
        .map(|_| open_idle_stream(address, idle_user.token()))
        .buffer_unordered(OPEN_CONCURRENCY);
    while let Some(stream) = futures::StreamExt::next(&mut opening).await {
        idle.push(stream?);
    }
    drop(opening);
    wait_until(deadline, "the idle streams to open", || async {
        Ok(handle.events().streams().open_count() >= settings.streams)
    })
    .await?;
    report.open_elapsed = started.elapsed();
    report.resident_open = resident_bytes().unwrap_or(0);

    report.idle = Duration::from_secs(settings.streams_idle_secs);
    let cpu_before = cpu_time::process().unwrap_or_default();
    tokio::time::sleep(report.idle).await;
    report.idle_cpu = cpu_time::process().unwrap_or_default().saturating_sub(cpu_before);

    // One stream that reads, as a client would, while the cold round runs beside the idle ones.
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_stream(engine.base_url(), client.token().to_owned(), arrivals));
    wait_until(deadline, "the reading stream to open", || async {
        Ok(handle.events().streams().open_count() > settings.streams)
    })
    .await?;
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
    report.events_received = latencies.len();
    report.latency_p50 = quantile(&mut latencies, 0.5);
    report.latency_p99 = quantile(&mut latencies, 0.99);
    report.latency_max = latencies.iter().max().copied().unwrap_or_default();
    drop(idle);
    engine.stop().await?;
    Ok(report)
}

use futures::StreamExt as _;

/// Opens a stream over a bare socket and reads only the response head: an idle client.
async fn open_idle_stream(address: std::net::SocketAddr, token: &str) -> anyhow::Result<TcpStream> {
    let mut socket = TcpStream::connect(address).await?;
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            bail!("the stream closed before its head");
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("the stream was refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(socket)
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
