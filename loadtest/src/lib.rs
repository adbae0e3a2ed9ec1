//! syndic's load harness: a local feed farm, a fresh engine in this process, and the figures of a cold round, a
//! warm round, memory, a second engine's start-up and timeline reads; or of one scale scenario (a popular feed,
//! timeline reads over a million articles, a million idle feeds, a million feeds polled on a fixed interval).
//! Every run stops by itself.

pub mod arrivals;
pub mod cpu_time;
pub mod database;
pub mod driver;
pub mod farm;
pub mod farm_thread;
pub mod lateness;
pub mod million;
pub mod popular_feed;
pub mod report;
pub mod scraped;
pub mod search;
pub mod search_seed;
pub mod search_text;
pub mod seed;
pub mod stream_clients;
pub mod streams;
pub mod sustained;
pub mod sustained_report;
pub mod timeline_concurrent;
pub mod timeline_read;
pub mod timers;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use syndic_actors::actors::snapshot::ActorOrder;
use syndic_actors::engine::Engine;

use database::LoadDatabase;
use driver::ApiClient;
use farm::{Farm, FarmSettings};
use report::{quantile, Report, RoundFigures};
use syndic::config::RegistrationMode;
use syndic::{Application, Config};
use syndic_testkit::process::resident_bytes;

/// The name prefix of a load run's fresh database.
pub(crate) const LOAD_DATABASE: &str = "syndic_loadtest";
/// The engine's fetch timeout in a load run: short, so that the stalling feeds do not hold fetch slots long.
const FETCH_TIMEOUT_SECS: u64 = 2;
/// How long a stalling farm feed waits; longer than the fetch timeout, so the engine gives up first.
const STALL: Duration = Duration::from_secs(5);
/// New entries a changing feed gains per round.
const NEW_ENTRIES_PER_CHANGE: usize = 5;
/// How often the harness checks the store while it waits for a round to finish. A round's time is known only to
/// this resolution: a warm round over 1,000 feeds takes about a quarter of a second.
const CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The cold and warm polling rounds, memory, a second start-up and timeline reads.
    Rounds,
    /// One feed with many subscribers gains new entries: time to the flush and to every timeline.
    PopularFeed,
    /// One user with many subscriptions over many seeded articles: timeline pages and unread counts.
    TimelineRead,
    /// Many idle subscribed feeds seeded: start-up, every actor running, idle memory, shutdown.
    Million,
    /// Many subscribed feeds polled on a fixed interval, mostly 304s, for a while: polls/s, lateness, memory
    /// over time, CPU per 1,000 polls.
    Sustained,
    /// Many idle event streams: memory and CPU per stream; then the cold round with one reading stream: time
    /// from an event's store to the wire.
    Streams,
    /// Many pending timers and some due in the same second, each to its own webhook: lateness at a receiver.
    Timers,
    /// One user following every feed of many articles with written text: two-word searches of the timeline.
    Search,
    /// The streams scenario's idle clients, in a child process it starts (not run by hand).
    #[value(hide = true)]
    StreamClients,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LoadSettings {
    /// What to measure; the scenario's own flags are named after it in their help.
    #[arg(long, value_enum, default_value_t = Scenario::Rounds)]
    pub scenario: Scenario,
    #[command(flatten)]
    pub popular_feed: popular_feed::PopularFeedSettings,
    #[command(flatten)]
    pub timeline_read: timeline_read::TimelineReadSettings,
    #[command(flatten)]
    pub million: million::MillionSettings,
    #[command(flatten)]
    pub sustained: sustained::SustainedSettings,
    #[command(flatten)]
    pub streams: streams::StreamsSettings,
    #[command(flatten)]
    pub stream_clients: stream_clients::StreamClientsSettings,
    #[command(flatten)]
    pub timers: timers::TimersSettings,
    #[command(flatten)]
    pub search: search::SearchSettings,
    /// Feeds in the farm.
    #[arg(long, default_value_t = 10_000)]
    pub feeds: usize,
    /// Entries in every feed document.
    #[arg(long, default_value_t = 20)]
    pub entries: usize,
    /// Share of the healthy feeds that gain entries between the cold and the warm round.
    #[arg(long, default_value_t = 0.1)]
    pub change_share: f64,
    /// Share of the feeds that are broken (500, garbage, or slower than the fetch timeout).
    #[arg(long, default_value_t = 0.01)]
    pub broken_share: f64,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Only serve the farm (GET /feeds.txt lists the URLs, POST /advance moves the changing feeds on) until
    /// Ctrl-C, for another tool to poll.
    #[arg(long)]
    pub farm_only: bool,
    /// The farm's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub farm_port: u16,
    /// Concurrent timeline readers.
    #[arg(long, default_value_t = 8)]
    pub readers: usize,
    /// Timeline pages each reader fetches.
    #[arg(long, default_value_t = 50)]
    pub pages: usize,
    /// Longest a round may take before the run fails, in seconds.
    #[arg(long, default_value_t = 600)]
    pub round_timeout_secs: u64,
}

impl LoadSettings {
    fn farm(&self) -> FarmSettings {
        FarmSettings {
            feeds: self.feeds,
            entries: self.entries,
            change_share: self.change_share,
            broken_share: self.broken_share,
            new_entries: NEW_ENTRIES_PER_CHANGE,
            stall: STALL,
        }
    }
}

/// The command: serve the farm only, or run the load test, print the table and write the JSON.
pub async fn execute(base: &Config, settings: &LoadSettings) -> anyhow::Result<()> {
    if settings.farm_only {
        return serve_farm(settings).await;
    }
    let deadline = Duration::from_secs(settings.round_timeout_secs);
    let (table, json) = match settings.scenario {
        Scenario::Rounds => {
            let report = run(base, settings).await?;
            (report.table(), report.to_json())
        }
        Scenario::PopularFeed => {
            let report = popular_feed::run(base, &settings.popular_feed, deadline).await?;
            (report.table(), report.to_json())
        }
        Scenario::TimelineRead => {
            let report = timeline_read::run(base, &settings.timeline_read).await?;
            (report.table(), report.to_json())
        }
        Scenario::Million => {
            let report = million::run(base, &settings.million, deadline).await?;
            (report.table(), report.to_json())
        }
        Scenario::Sustained => {
            let report = sustained::run(base, &settings.sustained, deadline).await?;
            (report.table(), report.to_json())
        }
        Scenario::Streams => {
            let farm = Farm::start(settings.farm(), settings.farm_port).await?;
            let report = streams::run(base, &settings.streams, &farm, deadline).await?;
            (report.table(), report.to_json())
        }
        Scenario::Timers => {
            let report = timers::run(base, &settings.timers, deadline).await?;
            (report.table(), report.to_json())
        }
        Scenario::Search => {
            let report = search::run(base, &settings.search).await?;
            (report.table(), report.to_json())
        }
        // Its stdout is its answers to the harness that started it: no table.
        Scenario::StreamClients => return stream_clients::serve(&settings.stream_clients).await,
    };
    print!("{table}");
    if let Some(path) = &settings.json {
        let json = serde_json::to_string_pretty(&json)?;
        std::fs::write(path, json).with_context(|| format!("Failed to write {}", path.display()))?;
    }
    Ok(())
}

async fn serve_farm(settings: &LoadSettings) -> anyhow::Result<()> {
    let farm = Farm::start(settings.farm(), settings.farm_port).await?;
    let healthy = farm.settings().healthy_feeds();
    println!(
        "farm of {} feeds ({healthy} healthy) on http://{}: GET /feeds.txt lists them, POST /advance moves the \
         changing ones on; Ctrl-C stops",
        settings.feeds,
        farm.address()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Runs the whole load test on a fresh database, which is removed afterwards even when the run fails.
pub async fn run(base: &Config, settings: &LoadSettings) -> anyhow::Result<Report> {
    let farm = Farm::start(settings.farm(), settings.farm_port).await?;
    on_fresh_database(base, LOAD_DATABASE, async |database| {
        measure(base, settings, &farm, database).await
    })
    .await
}

/// Runs `measure` on a fresh database (SQLite, or on the Postgres server of `--database-url`) named after
/// `name_prefix`, and removes the database afterwards even when `measure` fails.
async fn on_fresh_database<T>(
    base: &Config,
    name_prefix: &str,
    measure: impl AsyncFnOnce(&LoadDatabase) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let database = LoadDatabase::create(postgres_server(base), name_prefix, base.database_max_connections).await?;
    let measured = measure(&database).await;
    let removed = database.remove().await;
    let report = measured?;
    removed.context("Failed to remove the load test database")?;
    Ok(report)
}

/// The Postgres server of `--database-url` (the global setting), where the run creates (and drops) a fresh
/// database; any other URL, or none, means SQLite in a temp dir, so the run never writes to a real file.
fn postgres_server(base: &Config) -> Option<&str> {
    base.database_url.as_deref().filter(|url| url.starts_with("postgres"))
}

/// The engine settings of a load run: the operator's, with politeness relaxed for one local host.
fn engine_config(base: &Config, database_url: &str) -> Config {
    let mut config = base.clone();
    config.database_url = Some(database_url.to_owned());
    config.redis_url = None;
    config.allow_private_networks = true;
    // The harness starts several engines in turn, and a test may run it beside a real engine.
    config.metrics_bind = "127.0.0.1:0".parse().expect("a valid socket address");
    config.per_host_concurrency = config.max_fetches;
    config.per_host_interval_ms = 0;
    config.startup_spread_secs = 0;
    config.connect_timeout_secs = FETCH_TIMEOUT_SECS;
    config.fetch_timeout_secs = FETCH_TIMEOUT_SECS;
    // No feed is due again within a run: every poll after the cold round is one the harness asked for.
    config.poll_interval_secs = 3600;
    config.min_poll_interval_secs = 3600;
    config.max_poll_interval_secs = config.max_poll_interval_secs.max(3600);
    config.registration = RegistrationMode::Open;
    config.jwt_secret = Some(hex::encode(rand::random::<[u8; 32]>()));
    // A run (the sustained one above all) outlives a 15-minute access token, and the harness does not refresh.
    config.token_ttl_secs = config.token_ttl_secs.max(24 * 60 * 60);
    config
}

/// An engine started in this process, with the sender that stops it.
struct RunningEngine {
    application: Application,
    stop: oneshot::Sender<()>,
}

impl RunningEngine {
    async fn start(config: &Config) -> anyhow::Result<RunningEngine> {
        let store = Application::connect_store(config).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let application = Application::start(config, store, listener, shutdown).await?;
        Ok(RunningEngine { application, stop })
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.application.address())
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.application.wait().await
    }
}

async fn measure(
    base: &Config,
    settings: &LoadSettings,
    farm: &Farm,
    database: &LoadDatabase,
) -> anyhow::Result<Report> {
    let config = engine_config(base, database.url());
    let deadline = Duration::from_secs(settings.round_timeout_secs);
    let mut report = Report {
        database: database.kind().to_owned(),
        feeds: settings.feeds,
        healthy_feeds: farm.settings().healthy_feeds(),
        entries: settings.entries,
        change_share: settings.change_share,
        max_fetches: config.max_fetches,
        timeline_readers: settings.readers,
        ..Report::default()
    };
    let engine = RunningEngine::start(&config).await?;
    let client = ApiClient::register(&engine.base_url()).await?;
    // The harness refreshes feeds through the admin routes.
    let store = database.store();
    store
        .set_role(driver::USERNAME, syndic_actors::domain::Role::Admin)
        .await?;
    let (cold, subscribe_elapsed) = cold_round(&client, farm, database, engine.application.engine(), deadline).await?;
    report.cold = cold;
    report.subscribe_requests_elapsed = subscribe_elapsed;
    report.resident_after_cold = resident_bytes().unwrap_or(0);
    report.warm = warm_round(&client, farm, database, engine.application.engine(), deadline).await?;
    timeline_reads(&client, settings, &mut report).await?;
    engine.stop().await?;
    let (elapsed, actors) = second_start(&config, settings.feeds, deadline).await?;
    report.startup_elapsed = elapsed;
    report.startup_actors = actors;
    report.resident_after_startup = resident_bytes().unwrap_or(0);
    Ok(report)
}

/// Waits until `done` says so, checking every `CHECK_INTERVAL`; fails after `deadline` with `what`.
async fn wait_until<F, Fut>(deadline: Duration, what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    while !done().await? {
        if started.elapsed() > deadline {
            bail!("{what} did not finish within {} s", deadline.as_secs());
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
    Ok(())
}

/// The farm's view of a round whose healthy feeds are done. Then waits for every feed, the broken ones too, to
/// have its poll recorded, so that no poll of this round is still under way when the next one starts.
async fn finish_round(
    farm: &Farm,
    database: &LoadDatabase,
    engine: &Engine,
    round: &RoundStart,
    articles_stored: i64,
    deadline: Duration,
) -> anyhow::Result<RoundFigures> {
    let elapsed = round.instant.elapsed();
    let mut delays = farm.first_request_delays();
    wait_until(deadline, "the broken feeds' polls", || async {
        Ok(!database.any_polled_before(round.at).await?)
    })
    .await?;
    let mut polls = answered_poll_durations(engine, round.at);
    Ok(RoundFigures {
        elapsed,
        all_polled_elapsed: round.instant.elapsed(),
        feeds: farm.settings().healthy_feeds(),
        articles_stored,
        responses: farm.responses(),
        first_request_p50: quantile(&mut delays, 0.5),
        first_request_p99: quantile(&mut delays, 0.99),
        polls_answered: polls.len(),
        poll_p50: quantile(&mut polls, 0.5),
        poll_p99: quantile(&mut polls, 0.99),
    })
}

/// How long each feed's poll in the round took, as its actor timed it, for the polls that got a feed or a 304:
/// the broken feeds' timeouts and errors are not poll latency.
fn answered_poll_durations(engine: &Engine, since: DateTime<Utc>) -> Vec<Duration> {
    engine
        .actors(ActorOrder::Duration, None, usize::MAX)
        .actors
        .into_iter()
        .filter(|actor| actor.last_poll_at.is_some_and(|at| at >= since))
        .filter(|actor| actor.last_error.is_none() && matches!(actor.last_status_code, Some(200 | 304)))
        // The actors report the wait for a fetch slot apart; the round's figure has always included it.
        .filter_map(|actor| {
            let waited = actor.last_poll_wait_ms.unwrap_or(0);
            actor
                .last_poll_duration_ms
                .map(|own| Duration::from_millis(own + waited))
        })
        .collect()
}

/// When a round started, by the clock that times it and by the clock the store records polls with.
struct RoundStart {
    instant: Instant,
    at: DateTime<Utc>,
}

impl RoundStart {
    fn now() -> RoundStart {
        RoundStart {
            at: Utc::now(),
            instant: Instant::now(),
        }
    }
}

/// From the first subscribe request to the moment every healthy feed's entries are in the store.
pub(crate) async fn cold_round(
    client: &ApiClient,
    farm: &Farm,
    database: &LoadDatabase,
    engine: &Engine,
    deadline: Duration,
) -> anyhow::Result<(RoundFigures, Duration)> {
    let healthy = farm.settings().healthy_feeds();
    let expected = i64::try_from(healthy * farm.settings().entries)?;
    farm.start_round();
    let round = RoundStart::now();
    client.subscribe_all(&farm.urls()).await?;
    let subscribe_elapsed = round.instant.elapsed();
    wait_until(deadline, "the cold round", || {
        healthy_feeds_done(farm, database, &round, expected)
    })
    .await?;
    let stored = database.count_articles().await?;
    let figures = finish_round(farm, database, engine, &round, stored, deadline).await?;
    Ok((figures, subscribe_elapsed))
}

/// After the changing feeds moved on: from the refresh request to the moment every healthy feed has been
/// polled since and the new entries are stored.
async fn warm_round(
    client: &ApiClient,
    farm: &Farm,
    database: &LoadDatabase,
    engine: &Engine,
    deadline: Duration,
) -> anyhow::Result<RoundFigures> {
    let added = i64::try_from(farm.advance())?;
    let before = database.count_articles().await?;
    farm.start_round();
    let round = RoundStart::now();
    client.refresh_all().await?;
    wait_until(deadline, "the warm round", || {
        healthy_feeds_done(farm, database, &round, before + added)
    })
    .await?;
    let stored = database.count_articles().await? - before;
    finish_round(farm, database, engine, &round, stored, deadline).await
}

/// Whether every healthy feed has been polled since the round started and at least `articles` are stored. The
/// stale-feed query is cheap (an index, a short limit); the count scans the articles, so it runs only once the
/// polls are done, and does not take CPU from the engine while the round runs.
async fn healthy_feeds_done(
    farm: &Farm,
    database: &LoadDatabase,
    round: &RoundStart,
    articles: i64,
) -> anyhow::Result<bool> {
    // Only the broken feeds may be left: at most that many stale ones, and none of them healthy.
    let broken = farm.settings().feeds - farm.settings().healthy_feeds();
    let stale = database.polled_before(round.at, u32::try_from(broken + 1)?).await?;
    if stale.iter().any(|url| farm.is_healthy(url)) {
        return Ok(false);
    }
    Ok(database.count_articles().await? >= articles)
}

async fn timeline_reads(client: &ApiClient, settings: &LoadSettings, report: &mut Report) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut latencies = client.read_timelines(settings.readers, settings.pages).await?;
    report.timeline_elapsed = started.elapsed();
    report.timeline_pages = latencies.len();
    report.timeline_p50 = quantile(&mut latencies, 0.5);
    report.timeline_p99 = quantile(&mut latencies, 0.99);
    Ok(())
}

/// A second engine on the same database: from opening the store to every feed's actor running.
async fn second_start(config: &Config, feeds: usize, deadline: Duration) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let engine = RunningEngine::start(config).await?;
    let engine_handle = engine.application.engine().clone();
    wait_until(deadline, "the second start-up", || async {
        Ok(engine_handle.running_feed_actors().await? >= feeds)
    })
    .await?;
    let elapsed = started.elapsed();
    let actors = engine_handle.running_feed_actors().await?;
    engine.stop().await?;
    Ok((elapsed, actors))
}
