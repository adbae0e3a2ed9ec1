//! The sustained scenario: N subscribed feeds seeded on the farm with their ETags, an engine that polls each of
//! them on one fixed interval, and a run of a set duration: polls per second, lateness against the engine's own
//! schedule, resident memory over time, and CPU time per 1,000 polls, the farm's apart.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use syndic_testkit::users::store_user;

use crate::database::LoadDatabase;
use crate::farm::{Farm, FarmSettings, ResponseCounts};
use crate::farm_thread::FarmThread;
use crate::seed::seed_polled_feeds;
use crate::sustained_report::{database_cpu_between, Sample, SustainedReport};
use crate::{engine_config, lateness, on_fresh_database, wait_until, RunningEngine};
use syndic_testkit::process::resident_bytes;

const USERNAME: &str = "sustained";
const DATABASE_PREFIX: &str = "syndic_loadtest_sustained";
/// Entries in every farm document, and how many a changing feed gains each interval.
const ENTRIES: usize = 20;
const NEW_ENTRIES_PER_CHANGE: usize = 5;
/// How often memory and the traced feeds' schedules are read, at most; shorter for short intervals, so that
/// every recorded `next_poll_at` is seen before the poll that carries it out overwrites it.
const SAMPLE_PERIOD: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, clap::Args)]
pub struct SustainedSettings {
    /// sustained: subscribed feeds on the farm, each polled on the fixed interval.
    #[arg(long, default_value_t = 1_000_000)]
    pub polled_feeds: usize,
    /// sustained: the one poll interval of every feed, in seconds (the engine's default, minimum and maximum).
    #[arg(long, default_value_t = 300)]
    pub fixed_interval_secs: u64,
    /// sustained: how long polling is measured, in seconds, from the moment every feed's actor runs.
    #[arg(long, default_value_t = 900)]
    pub sustain_secs: u64,
    /// sustained: share of the feeds that gain entries once per interval (answered 200; the others 304).
    #[arg(long, default_value_t = 0.01)]
    pub changing_share: f64,
    /// sustained: feeds whose requests and recorded schedule are traced for the lateness figures.
    #[arg(long, default_value_t = 10_000)]
    pub lateness_sample: usize,
}

impl SustainedSettings {
    fn interval(&self) -> Duration {
        Duration::from_secs(self.fixed_interval_secs.max(1))
    }

    fn farm(&self) -> FarmSettings {
        FarmSettings {
            feeds: self.polled_feeds,
            entries: ENTRIES,
            change_share: self.changing_share,
            broken_share: 0.0,
            new_entries: NEW_ENTRIES_PER_CHANGE,
            // No feed is broken, so none stalls.
            stall: Duration::ZERO,
        }
    }
}

/// Runs the scenario on a fresh database; `timeout` bounds the wait for every actor to run.
pub async fn run(
    base: &syndic::Config,
    settings: &SustainedSettings,
    timeout: Duration,
) -> anyhow::Result<SustainedReport> {
    let farm = FarmThread::start(settings.farm())?;
    let measured = on_fresh_database(base, DATABASE_PREFIX, async |database| {
        measure(base, settings, &farm, database, timeout).await
    })
    .await;
    let stopped = farm.stop();
    let report = measured?;
    stopped?;
    Ok(report)
}

/// The engine settings: every feed on the one interval, whatever it publishes, and the first polls of the
/// never-polled feeds spread by the engine itself over one interval, so that the load is steady from the start.
/// The engine caps a jittered delay at the maximum, so here the jitter only shortens it (292.5 s on average for
/// 300 s): a little more load than the interval says, rather than a maximum above it that would let a changed
/// feed's measured interval move.
fn sustained_config(base: &syndic::Config, database_url: &str, interval: Duration) -> syndic::Config {
    let mut config = engine_config(base, database_url);
    let seconds = interval.as_secs();
    config.poll_interval_secs = seconds;
    config.min_poll_interval_secs = seconds;
    config.max_poll_interval_secs = seconds;
    config.startup_spread_secs = seconds;
    config
}

async fn measure(
    base: &syndic::Config,
    settings: &SustainedSettings,
    farm_thread: &FarmThread,
    database: &LoadDatabase,
    timeout: Duration,
) -> anyhow::Result<SustainedReport> {
    let farm = farm_thread.farm();
    let interval = settings.interval();
    let config = sustained_config(base, database.url(), interval);
    let seed_started = Instant::now();
    store_user(database.store().as_ref(), USERNAME).await;
    let url_prefix = format!("http://{}/feeds/", farm.address());
    seed_polled_feeds(database.backend_store(), USERNAME, &url_prefix, settings.polled_feeds).await?;
    let seed_elapsed = seed_started.elapsed();
    let traced = trace_sample(database, farm, &url_prefix, settings.lateness_sample).await?;

    let started = Instant::now();
    let engine = RunningEngine::start(&config).await?;
    let handle = engine.application.engine().clone();
    wait_until(timeout, "every feed actor", || async {
        Ok(handle.running_feed_actors().await? >= settings.polled_feeds)
    })
    .await?;
    let actors_elapsed = started.elapsed();
    drop(handle);

    let window = sustain(settings, farm_thread, database, &traced).await?;
    engine.stop().await?;
    let requests = farm.requests_per_feed();
    let mut lateness = lateness::measure(
        &window.intents,
        &farm.arrivals(),
        interval,
        (window.start.at, window.end.at),
    );
    Ok(SustainedReport {
        database: database.kind().to_owned(),
        feeds: settings.polled_feeds,
        interval,
        changing_share: settings.changing_share,
        max_fetches: config.max_fetches,
        seed_elapsed,
        actors_elapsed,
        window: window.end.instant - window.start.instant,
        responses: difference(window.end.responses, window.start.responses),
        process_cpu: elapsed_cpu(window.start.process_cpu, window.end.process_cpu),
        farm_cpu: elapsed_cpu(window.start.farm_cpu, window.end.farm_cpu),
        database_cpu: database_cpu_between(&window.start, &window.end),
        resident: window.resident,
        traced_feeds: traced.index_of.len(),
        lateness_p50: lateness::quantile(&mut lateness.seconds, 0.5),
        lateness_p99: lateness::quantile(&mut lateness.seconds, 0.99),
        lateness_max: lateness::quantile(&mut lateness.seconds, 1.0),
        lateness_measured: lateness.seconds.len(),
        lateness_unserved: lateness.unserved,
        fewest_requests_per_feed: requests.iter().copied().min().unwrap_or(0),
        feeds_polled_twice: requests.iter().filter(|requests| **requests >= 2).count(),
        load_average_start: window.start.load_average,
        load_average_end: window.end.load_average,
    })
}

/// The traced feeds: the `sample` with the lowest ids, by id (so their schedules are one range of the key) and
/// by farm index (which the farm logs requests by).
struct Traced {
    last_id: i64,
    index_of: HashMap<i64, usize>,
}

async fn trace_sample(database: &LoadDatabase, farm: &Farm, url_prefix: &str, sample: usize) -> anyhow::Result<Traced> {
    let feeds = database.first_feeds(sample).await?;
    let index_of: HashMap<i64, usize> = feeds
        .iter()
        .map(|(id, url)| {
            let index = url
                .strip_prefix(url_prefix)
                .and_then(|name| name.strip_suffix(".xml"))
                .and_then(|index| index.parse().ok())
                .with_context(|| format!("A seeded feed's URL is not the farm's: {url}"))?;
            Ok((*id, index))
        })
        .collect::<anyhow::Result<_>>()?;
    farm.trace(index_of.values().copied());
    Ok(Traced {
        last_id: feeds.last().map_or(0, |(id, _)| *id),
        index_of,
    })
}

/// What the measured window saw.
struct Window {
    start: Sample,
    end: Sample,
    resident: Vec<u64>,
    /// Per traced feed (farm index): every `next_poll_at` the engine recorded for it.
    intents: HashMap<usize, BTreeSet<DateTime<Utc>>>,
}

/// Lets the engine poll for the run's duration, reading memory and the traced feeds' schedules every sample
/// period and moving the changing feeds on once per interval.
async fn sustain(
    settings: &SustainedSettings,
    farm_thread: &FarmThread,
    database: &LoadDatabase,
    traced: &Traced,
) -> anyhow::Result<Window> {
    let interval = settings.interval();
    let duration = Duration::from_secs(settings.sustain_secs);
    let period = SAMPLE_PERIOD.min(interval / 4).max(Duration::from_millis(100));
    let start = Sample::take(farm_thread, database).await?;
    let mut resident = Vec::new();
    let mut intents: HashMap<usize, BTreeSet<DateTime<Utc>>> = HashMap::new();
    let mut next_change = interval;
    loop {
        resident.push(resident_bytes().unwrap_or(0));
        for (id, next_poll_at) in database.next_polls_up_to(traced.last_id).await? {
            if let Some(index) = traced.index_of.get(&id) {
                intents.entry(*index).or_default().insert(next_poll_at);
            }
        }
        let elapsed = start.instant.elapsed();
        if elapsed >= duration {
            break;
        }
        if settings.changing_share > 0.0 && elapsed >= next_change {
            farm_thread.farm().advance();
            next_change += interval;
        }
        tokio::time::sleep(period.min(duration - elapsed)).await;
    }
    Ok(Window {
        start,
        end: Sample::take(farm_thread, database).await?,
        resident,
        intents,
    })
}

fn elapsed_cpu(start: Option<Duration>, end: Option<Duration>) -> Option<Duration> {
    Some(end?.saturating_sub(start?))
}

fn difference(end: ResponseCounts, start: ResponseCounts) -> ResponseCounts {
    ResponseCounts {
        full: end.full - start.full,
        not_modified: end.not_modified - start.not_modified,
        broken: end.broken - start.broken,
    }
}
