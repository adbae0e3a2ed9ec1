//! The timeline-read scenario: one user with many subscriptions over many articles, seeded directly in the
//! database; p50/p99 of the timeline pages and of the unread counts, read through the API one request at a time.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::database::LoadDatabase;
use crate::driver::{ApiClient, USERNAME};
use crate::report::{millis, quantile, two_columns};
use crate::seed::{seed_timeline, SeededTimeline};
use crate::timeline_concurrent::{self, ConcurrentReads};
use crate::{engine_config, on_fresh_database, RunningEngine};

/// Articles per timeline page.
const PAGE_SIZE: usize = 50;
/// Subscriptions per `GET /v1/feeds` page (the API's most).
const FEEDS_PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, clap::Args)]
pub struct TimelineReadSettings {
    /// timeline-read: the user's subscriptions.
    #[arg(long, default_value_t = 1_000)]
    pub subscriptions: usize,
    /// timeline-read: articles in all, spread evenly over the subscriptions.
    #[arg(long, default_value_t = 1_000_000)]
    pub articles: usize,
    /// timeline-read: requests timed for each kind of read.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// timeline-read: the page (of 50) the deep read asks for, reached by following cursors.
    #[arg(long, default_value_t = 50)]
    pub deep_page: usize,
    /// timeline-read: clients reading the first page at once in the concurrent phase (0: no such phase).
    #[arg(long, default_value_t = 8)]
    pub concurrent_readers: usize,
    /// timeline-read: requests per concurrent reader.
    #[arg(long, default_value_t = 200)]
    pub concurrent_requests: usize,
    /// timeline-read: one request in this many is a mark-read or unread of an article on the first page, which
    /// drops the cached page (0: reads only).
    #[arg(long, default_value_t = 20)]
    pub write_every: usize,
    /// timeline-read: the engine's caches (feed and timeline) in the Redis of --redis-url, under a fresh key
    /// prefix, instead of in-process. Turn the timeline cache off with --timeline-cache-ttl-secs 0.
    #[arg(long)]
    pub redis: bool,
}

/// The p50 and p99 of one kind of read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadLatency {
    pub p50: Duration,
    pub p99: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct TimelineReadReport {
    pub database: String,
    pub subscriptions: usize,
    pub articles: i64,
    pub unread: i64,
    pub requests: usize,
    pub deep_page: usize,
    pub seed_elapsed: Duration,
    pub first_page: ReadLatency,
    pub deep: ReadLatency,
    pub unread_only: ReadLatency,
    pub one_feed: ReadLatency,
    pub unread_counts: ReadLatency,
    /// The engine's timeline cache (`off`, `memory`, `redis`) and TTL, and the concurrent phase.
    pub timeline_cache: String,
    pub concurrent: ConcurrentReads,
    /// Articles on the pages walked to the deep page (itself included), and how many of them repeated an earlier
    /// one or were not older than the one before.
    pub walked_articles: usize,
    pub walked_repeats: usize,
    pub walked_out_of_order: usize,
    /// Articles on the unread-only pages that were read, and on the one-feed pages from another feed.
    pub unread_pages_read_articles: usize,
    pub feed_pages_foreign_articles: usize,
    /// Subscriptions listed by `GET /v1/feeds` and the sum of their unread counts, at the last read.
    pub subscriptions_listed: usize,
    pub unread_count_sum: i64,
}

pub async fn run(base: &syndic::Config, settings: &TimelineReadSettings) -> anyhow::Result<TimelineReadReport> {
    if settings.subscriptions == 0 || settings.articles % settings.subscriptions != 0 {
        bail!("--articles must be a multiple of --subscriptions (at least one)");
    }
    if settings.requests == 0 || settings.deep_page == 0 {
        bail!("--requests and --deep-page must be at least 1");
    }
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, database).await
    })
    .await
}

async fn measure(
    base: &syndic::Config,
    settings: &TimelineReadSettings,
    database: &LoadDatabase,
) -> anyhow::Result<TimelineReadReport> {
    let mut config = engine_config(base, database.url());
    if settings.redis {
        config.redis_url = Some(base.redis_url.clone().context("--redis needs --redis-url")?);
        config.redis_prefix = format!("loadtest-{}:", hex::encode(rand::random::<[u8; 8]>()));
    }
    let engine = RunningEngine::start(&config).await?;
    let client = ApiClient::register(&engine.base_url()).await?;
    let seed_started = Instant::now();
    let seeded = seed_timeline(
        database.backend_store(),
        USERNAME,
        settings.subscriptions,
        settings.articles / settings.subscriptions,
    )
    .await?;
    let seed_elapsed = seed_started.elapsed();
    let mut report = TimelineReadReport {
        database: database.kind().to_owned(),
        requests: settings.requests,
        deep_page: settings.deep_page,
        seed_elapsed,
        timeline_cache: match (config.timeline_cache_ttl_secs, settings.redis) {
            (0, _) => "off".to_owned(),
            (ttl, true) => format!("redis, {ttl} s"),
            (ttl, false) => format!("memory, {ttl} s"),
        },
        ..TimelineReadReport::default()
    };
    read_all_kinds(&client, settings, &seeded, &mut report).await?;
    if settings.concurrent_readers > 0 {
        let metrics_url = format!("http://{}/metrics", engine.application.metrics_address());
        report.concurrent = timeline_concurrent::read_first_pages(
            &client,
            &metrics_url,
            settings.concurrent_readers,
            settings.concurrent_requests,
            settings.write_every,
        )
        .await?;
    }
    engine.stop().await?;
    Ok(report)
}

async fn read_all_kinds(
    client: &ApiClient,
    settings: &TimelineReadSettings,
    seeded: &SeededTimeline,
    report: &mut TimelineReadReport,
) -> anyhow::Result<()> {
    report.subscriptions = seeded.feeds;
    report.articles = seeded.articles;
    report.unread = seeded.unread;
    let first_path = format!("/v1/articles?limit={PAGE_SIZE}");
    report.first_page = time_reads(settings.requests, |_| first_path.clone(), client, |_| Ok(())).await?;

    let deep_path = walk_to_deep_page(client, settings.deep_page, report).await?;
    report.deep = time_reads(settings.requests, |_| deep_path.clone(), client, |_| Ok(())).await?;

    let unread_path = format!("/v1/articles?status=unread&limit={PAGE_SIZE}");
    let mut read_articles = 0;
    report.unread_only = time_reads(
        settings.requests,
        |_| unread_path.clone(),
        client,
        |body| {
            read_articles += articles(body)?
                .iter()
                .filter(|article| article["read"] != false)
                .count();
            Ok(())
        },
    )
    .await?;
    report.unread_pages_read_articles = read_articles;

    let (feed_ids, _) = list_subscriptions(client).await?;
    let mut foreign = 0;
    let mut asked = 0;
    report.one_feed = time_reads(
        settings.requests,
        |request| {
            format!(
                "/v1/articles?feed_id={}&limit={PAGE_SIZE}",
                feed_ids[request % feed_ids.len()]
            )
        },
        client,
        |body| {
            let feed = feed_ids[asked % feed_ids.len()];
            asked += 1;
            foreign += articles(body)?
                .iter()
                .filter(|article| article["feed_id"] != feed)
                .count();
            Ok(())
        },
    )
    .await?;
    report.feed_pages_foreign_articles = foreign;

    let mut latencies = Vec::with_capacity(settings.requests);
    for _ in 0..settings.requests {
        let started = Instant::now();
        let (listed, unread) = list_subscriptions(client).await?;
        latencies.push(started.elapsed());
        report.subscriptions_listed = listed.len();
        report.unread_count_sum = unread;
    }
    report.unread_counts = latency_of(&mut latencies);
    Ok(())
}

/// Times `requests` GETs of `path(request)`, handing each body to `check`.
async fn time_reads(
    requests: usize,
    path: impl Fn(usize) -> String,
    client: &ApiClient,
    mut check: impl FnMut(&Value) -> anyhow::Result<()>,
) -> anyhow::Result<ReadLatency> {
    let mut latencies = Vec::with_capacity(requests);
    for request in 0..requests {
        let (body, elapsed) = client.get_timed(&path(request)).await?;
        latencies.push(elapsed);
        check(&body)?;
    }
    Ok(latency_of(&mut latencies))
}

pub(crate) fn latency_of(latencies: &mut [Duration]) -> ReadLatency {
    ReadLatency {
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
    }
}

fn articles(body: &Value) -> anyhow::Result<&Vec<Value>> {
    body["articles"]
        .as_array()
        .context("The timeline answer has no articles")
}

/// Follows the cursors from the first page to page `deep_page`, checking that the pages are disjoint and newest
/// first; returns the deep page's path.
async fn walk_to_deep_page(
    client: &ApiClient,
    deep_page: usize,
    report: &mut TimelineReadReport,
) -> anyhow::Result<String> {
    let mut seen = HashSet::new();
    let mut previous: Option<(DateTime<Utc>, i64)> = None;
    let mut path = format!("/v1/articles?limit={PAGE_SIZE}");
    for page in 1..=deep_page {
        let (body, _) = client.get_timed(&path).await?;
        for article in articles(&body)? {
            let id = article["id"].as_i64().context("An article has no id")?;
            let published: DateTime<Utc> = article["published_at"]
                .as_str()
                .context("An article has no published_at")?
                .parse()?;
            report.walked_articles += 1;
            if !seen.insert(id) {
                report.walked_repeats += 1;
            }
            if previous.is_some_and(|before| (published, id) >= before) {
                report.walked_out_of_order += 1;
            }
            previous = Some((published, id));
        }
        if page == deep_page {
            break;
        }
        let Some(cursor) = body["next_cursor"].as_str() else {
            bail!("The timeline ends before page {deep_page}, at page {page}");
        };
        path = format!("/v1/articles?limit={PAGE_SIZE}&cursor={cursor}");
    }
    Ok(path)
}

/// Every subscription's feed id, page by page, and the sum of their unread counts.
async fn list_subscriptions(client: &ApiClient) -> anyhow::Result<(Vec<i64>, i64)> {
    let mut feed_ids = Vec::new();
    let mut unread = 0;
    let mut path = format!("/v1/feeds?limit={FEEDS_PAGE_SIZE}");
    loop {
        let (body, _) = client.get_timed(&path).await?;
        for feed in body["feeds"].as_array().context("The feed list has no feeds")? {
            feed_ids.push(feed["id"].as_i64().context("A feed has no id")?);
            unread += feed["unread_count"].as_i64().context("A feed has no unread count")?;
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/feeds?limit={FEEDS_PAGE_SIZE}&cursor={cursor}"),
            None => return Ok((feed_ids, unread)),
        }
    }
}

fn latency_json(latency: ReadLatency, target_ms: u64) -> Value {
    json!({ "p50_ms": millis(latency.p50), "p99_ms": millis(latency.p99), "target_p99_ms": target_ms })
}

fn latency_line(latency: ReadLatency, target_ms: u64) -> String {
    format!(
        "{:.1} ms / {:.1} ms (target p99 < {target_ms} ms)",
        millis(latency.p50),
        millis(latency.p99)
    )
}

impl TimelineReadReport {
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": "timeline-read",
            "database": self.database,
            "subscriptions": self.subscriptions,
            "articles": self.articles,
            "unread": self.unread,
            "requests": self.requests,
            "deep_page": self.deep_page,
            "seed_seconds": self.seed_elapsed.as_secs_f64(),
            "first_page": latency_json(self.first_page, 20),
            "deep_page_read": latency_json(self.deep, 20),
            "unread_only": latency_json(self.unread_only, 20),
            "one_feed": latency_json(self.one_feed, 20),
            "unread_counts": latency_json(self.unread_counts, 50),
            "timeline_cache": self.timeline_cache,
            "concurrent_first_page": {
                "readers": self.concurrent.readers,
                "reads": self.concurrent.reads,
                "writes": self.concurrent.writes,
                "seconds": self.concurrent.elapsed.as_secs_f64(),
                "p50_ms": millis(self.concurrent.latency.p50),
                "p99_ms": millis(self.concurrent.latency.p99),
                "cache_hits": self.concurrent.hits,
                "cache_misses": self.concurrent.misses,
                "hit_rate": self.concurrent.hit_rate(),
            },
            "walked_articles": self.walked_articles,
            "walked_repeats": self.walked_repeats,
            "walked_out_of_order": self.walked_out_of_order,
            "unread_pages_read_articles": self.unread_pages_read_articles,
            "feed_pages_foreign_articles": self.feed_pages_foreign_articles,
            "subscriptions_listed": self.subscriptions_listed,
            "unread_count_sum": self.unread_count_sum,
        })
    }

    pub fn table(&self) -> String {
        two_columns(&[
            ("scenario", "timeline-read".to_owned()),
            ("database", self.database.clone()),
            (
                "seeded",
                format!(
                    "{} subscriptions, {} articles ({} unread) in {:.1} s",
                    self.subscriptions,
                    self.articles,
                    self.unread,
                    self.seed_elapsed.as_secs_f64()
                ),
            ),
            ("requests per read, p50 / p99", self.requests.to_string()),
            ("first page", latency_line(self.first_page, 20)),
            (
                &format!("page {} (cursors)", self.deep_page),
                latency_line(self.deep, 20),
            ),
            ("unread only", latency_line(self.unread_only, 20)),
            ("one feed", latency_line(self.one_feed, 20)),
            (
                "all unread counts (GET /v1/feeds)",
                latency_line(self.unread_counts, 50),
            ),
            ("timeline cache", self.timeline_cache.clone()),
            (
                "concurrent first pages",
                format!(
                    "{} readers, {} reads and {} writes in {:.1} s: {:.1} ms / {:.1} ms; {} hits, {} misses ({:.0}%)",
                    self.concurrent.readers,
                    self.concurrent.reads,
                    self.concurrent.writes,
                    self.concurrent.elapsed.as_secs_f64(),
                    millis(self.concurrent.latency.p50),
                    millis(self.concurrent.latency.p99),
                    self.concurrent.hits,
                    self.concurrent.misses,
                    self.concurrent.hit_rate() * 100.0
                ),
            ),
            (
                "checks",
                format!(
                    "{} articles walked, {} repeated, {} out of order; {} read on unread pages; {} from another \
                     feed; {} subscriptions listed, {} unread counted",
                    self.walked_articles,
                    self.walked_repeats,
                    self.walked_out_of_order,
                    self.unread_pages_read_articles,
                    self.feed_pages_foreign_articles,
                    self.subscriptions_listed,
                    self.unread_count_sum
                ),
            ),
        ])
    }
}
