//! The popular-feed scenario: one farm feed with many subscribers gains new entries; how long from the refresh
//! request until the flush commits them, and until every subscriber's timeline holds them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use syndic_actors::domain::Role;
use syndic_actors::engine::Engine;
use syndic_testkit::users::store_user;

use crate::database::LoadDatabase;
use crate::driver::{ApiClient, USERNAME};
use crate::farm::{Farm, FarmSettings};
use crate::report::{millis, two_columns};
use crate::{engine_config, on_fresh_database, wait_until, RunningEngine, STALL};

/// Subscribers created and subscribed at once while the scenario is set up.
const SETUP_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, clap::Args)]
pub struct PopularFeedSettings {
    /// popular-feed: subscribers of the one feed, the API-registered sample included.
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: usize,
    /// popular-feed: entries the feed has before, and gains.
    #[arg(long, default_value_t = 100)]
    pub new_entries: usize,
    /// popular-feed: subscribers registered and subscribed through the API, whose timelines are also read
    /// through it.
    #[arg(long, default_value_t = 10)]
    pub api_sample: usize,
}

#[derive(Debug, Clone, Default)]
pub struct PopularFeedReport {
    pub database: String,
    pub subscribers: usize,
    pub api_sample: usize,
    pub new_entries: usize,
    /// Creating the subscribers and subscribing them, the cold fetch included.
    pub setup_elapsed: Duration,
    /// From the refresh request to the new articles committed.
    pub flush_elapsed: Duration,
    /// From the refresh request to every subscriber holding a timeline row for every new article (store).
    pub store_visible_elapsed: Duration,
    /// From the refresh request to the API sample's timelines each showing every new article, checked after the
    /// store check.
    pub api_visible_elapsed: Duration,
    /// Subscribers whose timeline rows hold every new article, by the store.
    pub subscribers_holding_all: i64,
    /// Sample users whose timeline, read through the API, shows every new article.
    pub sample_showing_all: usize,
}

/// The whole scenario on a fresh database, removed afterwards even when the run fails.
pub async fn run(
    base: &syndic::Config,
    settings: &PopularFeedSettings,
    timeout: Duration,
) -> anyhow::Result<PopularFeedReport> {
    if settings.api_sample == 0 || settings.api_sample > settings.subscribers {
        bail!("--api-sample must be between 1 and --subscribers");
    }
    let farm = Farm::start(farm_settings(settings), 0).await?;
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, &farm, database, timeout).await
    })
    .await
}

/// One healthy feed whose whole window moves on at each advance.
fn farm_settings(settings: &PopularFeedSettings) -> FarmSettings {
    FarmSettings {
        feeds: 1,
        entries: settings.new_entries,
        change_share: 1.0,
        broken_share: 0.0,
        new_entries: settings.new_entries,
        stall: STALL,
    }
}

async fn measure(
    base: &syndic::Config,
    settings: &PopularFeedSettings,
    farm: &Farm,
    database: &LoadDatabase,
    timeout: Duration,
) -> anyhow::Result<PopularFeedReport> {
    let config = engine_config(base, database.url());
    let engine = RunningEngine::start(&config).await?;
    let url = farm.urls().remove(0);
    let setup_started = Instant::now();
    let sample = subscribe_sample(&engine.base_url(), database, settings.api_sample, &url).await?;
    wait_until(timeout, "the feed's first fetch", || async {
        Ok(database.count_articles().await? >= settings.new_entries as i64)
    })
    .await?;
    subscribe_through_engine(database, engine.application.engine(), settings, &url).await?;
    let cold_last = database.last_article_id().await?;
    let everyone = i64::try_from(settings.subscribers)?;
    wait_until(timeout, "the cold articles' links", || async {
        Ok(database.users_holding_articles_after(0, settings.new_entries).await? >= everyone)
    })
    .await?;
    let setup_elapsed = setup_started.elapsed();

    farm.advance();
    let started = Instant::now();
    sample[0].refresh_all().await?;
    let expected_articles = 2 * settings.new_entries as i64;
    wait_until(timeout, "the flush", || async {
        Ok(database.count_articles().await? >= expected_articles)
    })
    .await?;
    let flush_elapsed = started.elapsed();
    wait_until(timeout, "every subscriber's timeline rows", || async {
        Ok(database
            .users_holding_articles_after(cold_last, settings.new_entries)
            .await?
            >= everyone)
    })
    .await?;
    let store_visible_elapsed = started.elapsed();
    let new_ids: HashSet<i64> = database.article_ids_after(cold_last).await?.into_iter().collect();
    let mut sample_showing_all = 0;
    for client in &sample {
        if client_shows_all(client, &new_ids).await? {
            sample_showing_all += 1;
        }
    }
    let api_visible_elapsed = started.elapsed();
    let subscribers_holding_all = database
        .users_holding_articles_after(cold_last, settings.new_entries)
        .await?;
    engine.stop().await?;
    Ok(PopularFeedReport {
        database: database.kind().to_owned(),
        subscribers: settings.subscribers,
        api_sample: settings.api_sample,
        new_entries: settings.new_entries,
        setup_elapsed,
        flush_elapsed,
        store_visible_elapsed,
        api_visible_elapsed,
        subscribers_holding_all,
        sample_showing_all,
    })
}

/// Registers the sample through the API and subscribes each to the feed through it; the first is the admin
/// that asks for the refresh.
async fn subscribe_sample(
    base_url: &str,
    database: &LoadDatabase,
    size: usize,
    url: &str,
) -> anyhow::Result<Vec<ApiClient>> {
    let mut sample = vec![ApiClient::register(base_url).await?];
    database.store().set_role(USERNAME, Role::Admin).await?;
    for index in 1..size {
        sample.push(ApiClient::register_as(base_url, &format!("sample{index}")).await?);
    }
    for client in &sample {
        client.subscribe_all(&[url.to_owned()]).await?;
    }
    Ok(sample)
}

/// The other subscribers: created directly in the store, subscribed through the engine as `POST /v1/feeds`
/// does (which links the feed's stored articles to each).
async fn subscribe_through_engine(
    database: &LoadDatabase,
    engine: &Engine,
    settings: &PopularFeedSettings,
    url: &str,
) -> anyhow::Result<()> {
    let store = database.store();
    stream::iter(settings.api_sample..settings.subscribers)
        .map(|index| {
            let (store, engine) = (store.clone(), engine.clone());
            async move {
                let user = store_user(store.as_ref(), &format!("subscriber{index}")).await;
                let outcomes = engine.subscribe(user.id, vec![url.to_owned()]).await?;
                if outcomes.iter().any(|outcome| outcome.feed_id.is_none()) {
                    bail!("The engine refused the popular feed: {outcomes:?}");
                }
                Ok(())
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<()>()
        .await
}

/// Whether the user's timeline, read through the API from its first page, shows every one of `ids`.
async fn client_shows_all(client: &ApiClient, ids: &HashSet<i64>) -> anyhow::Result<bool> {
    let (body, _) = client
        .get_timed(&format!("/v1/articles?limit={}", ids.len().clamp(1, 200)))
        .await?;
    let shown: HashSet<i64> = body["articles"]
        .as_array()
        .context("The timeline answer has no articles")?
        .iter()
        .filter_map(|article| article["id"].as_i64())
        .collect();
    Ok(ids.is_subset(&shown))
}

impl PopularFeedReport {
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": "popular-feed",
            "database": self.database,
            "subscribers": self.subscribers,
            "api_sample": self.api_sample,
            "new_entries": self.new_entries,
            "setup_seconds": self.setup_elapsed.as_secs_f64(),
            "flush_ms": millis(self.flush_elapsed),
            "store_visible_ms": millis(self.store_visible_elapsed),
            "api_sample_visible_ms": millis(self.api_visible_elapsed),
            "subscribers_holding_all": self.subscribers_holding_all,
            "sample_showing_all": self.sample_showing_all,
            "target_ms": 1000,
        })
    }

    pub fn table(&self) -> String {
        two_columns(&[
            ("scenario", "popular-feed".to_owned()),
            ("database", self.database.clone()),
            (
                "subscribers (API sample)",
                format!("{} ({})", self.subscribers, self.api_sample),
            ),
            ("new entries", self.new_entries.to_string()),
            ("setup", format!("{:.2} s", self.setup_elapsed.as_secs_f64())),
            (
                "refresh to flush committed",
                format!("{:.0} ms", millis(self.flush_elapsed)),
            ),
            (
                "refresh to all timelines (store)",
                format!(
                    "{:.0} ms ({} of {} subscribers hold every new article)",
                    millis(self.store_visible_elapsed),
                    self.subscribers_holding_all,
                    self.subscribers
                ),
            ),
            (
                "refresh to sample timelines (API)",
                format!(
                    "{:.0} ms ({} of {} show every new article)",
                    millis(self.api_visible_elapsed),
                    self.sample_showing_all,
                    self.api_sample
                ),
            ),
            ("target", "under 1000 ms".to_owned()),
        ])
    }
}
