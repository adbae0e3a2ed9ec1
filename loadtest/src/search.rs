//! The search scenario (issue 16): one user following every feed of a store of many articles with written text
//! (`search_seed`), then two-word searches of the timeline through the API (`GET /v1/articles?q=`, the first page
//! of the default size), each class of query in both orders: latency per class and order, and overall.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::database::LoadDatabase;
use crate::driver::{ApiClient, USERNAME};
use crate::report::{millis, quantile, two_columns};
use crate::search_seed::{database_size, seed_search, SeededSearch};
use crate::search_text::{queries, QueryClass};
use crate::{engine_config, on_fresh_database, RunningEngine};

/// The target for a two-word query, at p99.
const TARGET_P99_MS: u64 = 50;
/// The fixed seed of the text and of the queries.
const SEED: u64 = 16;
/// Queries asked before the timed ones (other words), not counted: the first reads of the index from disk.
const WARM_UP: usize = 20;
const ORDERS: [&str; 2] = ["relevance", "date"];

#[derive(Debug, Clone, clap::Args)]
pub struct SearchSettings {
    /// search: feeds, all followed by the one user.
    #[arg(long, default_value_t = 1_000)]
    pub search_feeds: usize,
    /// search: articles in all, spread evenly over the feeds.
    #[arg(long, default_value_t = 1_000_000)]
    pub search_articles: usize,
    /// search: queries timed per class of query and order (3 classes, 2 orders).
    #[arg(long, default_value_t = 100)]
    pub search_queries: usize,
    /// search: clients asking at once (each query is asked once, by one of them).
    #[arg(long, default_value_t = 1)]
    pub search_clients: usize,
    /// search: after the timed queries, keep the database this long before removing it (its URL is printed),
    /// to look at query plans by hand.
    #[arg(long, default_value_t = 0)]
    pub search_hold_secs: u64,
}

/// The latencies of one set of queries.
#[derive(Debug, Clone, Default)]
pub struct SearchLatency {
    pub queries: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Articles on the first pages, on average: how much each query found, up to the page.
    pub mean_articles: f64,
}

impl SearchLatency {
    fn of(samples: &[(Duration, usize)]) -> SearchLatency {
        let mut latencies: Vec<Duration> = samples.iter().map(|(latency, _)| *latency).collect();
        let articles: usize = samples.iter().map(|(_, articles)| articles).sum();
        SearchLatency {
            queries: samples.len(),
            p50: quantile(&mut latencies, 0.5),
            p90: quantile(&mut latencies, 0.9),
            p99: quantile(&mut latencies, 0.99),
            max: latencies.iter().max().copied().unwrap_or_default(),
            mean_articles: articles as f64 / samples.len().max(1) as f64,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "queries": self.queries,
            "p50_ms": millis(self.p50),
            "p90_ms": millis(self.p90),
            "p99_ms": millis(self.p99),
            "max_ms": millis(self.max),
            "mean_articles_on_page": self.mean_articles,
        })
    }

    fn line(&self) -> String {
        format!(
            "{:.1} / {:.1} / {:.1} / {:.1} ms ({} queries, {:.1} articles a page)",
            millis(self.p50),
            millis(self.p90),
            millis(self.p99),
            millis(self.max),
            self.queries,
            self.mean_articles
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchReport {
    pub database: String,
    pub seeded: SeededSearch,
    pub seed_elapsed: Duration,
    pub database_bytes: u64,
    pub index_bytes: Option<u64>,
    pub clients: usize,
    /// Per class and order, in `QueryClass::ALL` then `ORDERS` order.
    pub classes: Vec<(QueryClass, &'static str, SearchLatency)>,
    pub overall: SearchLatency,
}

pub async fn run(base: &syndic::Config, settings: &SearchSettings) -> anyhow::Result<SearchReport> {
    if settings.search_feeds == 0 || settings.search_articles % settings.search_feeds != 0 {
        bail!("--search-articles must be a multiple of --search-feeds (at least one)");
    }
    if settings.search_queries == 0 || settings.search_clients == 0 {
        bail!("--search-queries and --search-clients must be at least 1");
    }
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, database).await
    })
    .await
}

async fn measure(
    base: &syndic::Config,
    settings: &SearchSettings,
    database: &LoadDatabase,
) -> anyhow::Result<SearchReport> {
    let config = engine_config(base, database.url());
    let engine = RunningEngine::start(&config).await?;
    let client = ApiClient::register(&engine.base_url()).await?;
    let seed_started = Instant::now();
    let seeded = seed_search(
        database.backend_store(),
        USERNAME,
        settings.search_feeds,
        settings.search_articles / settings.search_feeds,
        SEED,
    )
    .await?;
    let seed_elapsed = seed_started.elapsed();
    let (database_bytes, index_bytes) = database_size(database.backend_store()).await?;

    let mut asked: Vec<(usize, String)> = Vec::new();
    let mut sets = Vec::new();
    for class in QueryClass::ALL {
        for order in ORDERS {
            let set = sets.len();
            sets.push((class, order));
            for q in queries(class, settings.search_queries, SEED + set as u64) {
                asked.push((set, format!("/v1/articles?q={}&order={order}", q.replace(' ', "+"))));
            }
        }
    }
    for (index, q) in queries(QueryClass::CommonRare, WARM_UP, SEED - 1).iter().enumerate() {
        let order = ORDERS[index % ORDERS.len()];
        client
            .get_timed(&format!("/v1/articles?q={}&order={order}", q.replace(' ', "+")))
            .await?;
    }
    let answered = ask_all(&client, &asked, settings.search_clients).await?;
    engine.stop().await?;
    if settings.search_hold_secs > 0 {
        eprintln!(
            "search: holding {} (user {USERNAME}) for {} s",
            database.url(),
            settings.search_hold_secs
        );
        tokio::time::sleep(Duration::from_secs(settings.search_hold_secs)).await;
    }

    let mut by_set: HashMap<usize, Vec<(Duration, usize)>> = HashMap::new();
    for (set, latency, articles) in &answered {
        by_set.entry(*set).or_default().push((*latency, *articles));
    }
    let all: Vec<(Duration, usize)> = answered
        .iter()
        .map(|(_, latency, articles)| (*latency, *articles))
        .collect();
    Ok(SearchReport {
        database: database.kind().to_owned(),
        seeded,
        seed_elapsed,
        database_bytes,
        index_bytes,
        clients: settings.search_clients,
        classes: sets
            .iter()
            .enumerate()
            .map(|(set, (class, order))| {
                (
                    *class,
                    *order,
                    SearchLatency::of(by_set.get(&set).map_or(&[][..], Vec::as_slice)),
                )
            })
            .collect(),
        overall: SearchLatency::of(&all),
    })
}

/// Asks every query once, `clients` at a time (client c asks the queries c, c + clients, ...), interleaving the
/// classes; each answer's set, latency and article count.
async fn ask_all(
    client: &ApiClient,
    asked: &[(usize, String)],
    clients: usize,
) -> anyhow::Result<Vec<(usize, Duration, usize)>> {
    // Interleave the sets, so that no class is timed only at the start or the end of the run.
    let per_set = asked.len() / 6;
    let interleaved: Vec<&(usize, String)> = (0..per_set)
        .flat_map(|index| (0..6).map(move |set| &asked[set * per_set + index]))
        .collect();
    let readers = (0..clients).map(|first| {
        let mine: Vec<&(usize, String)> = interleaved.iter().skip(first).step_by(clients).copied().collect();
        async move {
            let mut answered = Vec::with_capacity(mine.len());
            for (set, path) in mine {
                let (body, latency) = client.get_timed(path).await?;
                let articles = body["articles"]
                    .as_array()
                    .context("A search answer has no articles")?
                    .len();
                answered.push((*set, latency, articles));
            }
            anyhow::Ok(answered)
        }
    });
    let mut all = Vec::with_capacity(asked.len());
    for answered in futures::future::try_join_all(readers).await? {
        all.extend(answered);
    }
    Ok(all)
}

impl SearchReport {
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": "search",
            "database": self.database,
            "feeds": self.seeded.feeds,
            "articles": self.seeded.articles,
            "text_bytes": self.seeded.text_bytes,
            "seed_seconds": self.seed_elapsed.as_secs_f64(),
            "index_build_seconds": self.seeded.index_elapsed.as_secs_f64(),
            "database_bytes": self.database_bytes,
            "search_index_bytes": self.index_bytes,
            "clients": self.clients,
            "classes": self.classes.iter().map(|(class, order, latency)| {
                let mut figures = latency.to_json();
                figures["class"] = json!(class.name());
                figures["order"] = json!(order);
                figures
            }).collect::<Vec<_>>(),
            "overall": self.overall.to_json(),
            "target_p99_ms": TARGET_P99_MS,
        })
    }

    pub fn table(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let mut rows = vec![
            ("scenario".to_owned(), "search".to_owned()),
            ("database".to_owned(), self.database.clone()),
            (
                "seeded".to_owned(),
                format!(
                    "{} feeds, {} articles ({:.0} MiB of text) in {:.1} s ({:.1} s of it the index build)",
                    self.seeded.feeds,
                    self.seeded.articles,
                    mib(self.seeded.text_bytes),
                    self.seed_elapsed.as_secs_f64(),
                    self.seeded.index_elapsed.as_secs_f64()
                ),
            ),
            (
                "database size".to_owned(),
                format!(
                    "{:.0} MiB (search index: {})",
                    mib(self.database_bytes),
                    self.index_bytes
                        .map_or("not known".to_owned(), |bytes| format!("{:.0} MiB", mib(bytes)))
                ),
            ),
            ("clients".to_owned(), self.clients.to_string()),
            ("p50 / p90 / p99 / max".to_owned(), String::new()),
        ];
        for (class, order, latency) in &self.classes {
            rows.push((format!("{}, {order}", class.name()), latency.line()));
        }
        rows.push((
            "overall".to_owned(),
            format!("{} (target p99 < {TARGET_P99_MS} ms)", self.overall.line()),
        ));
        let rows: Vec<(&str, String)> = rows
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        two_columns(&rows)
    }
}
