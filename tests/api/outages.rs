//! Outages of the dependencies while the engine runs: a Postgres database that refuses connections while
//! polls are in flight, and a Redis that dies and comes back empty.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use syndic_actors::actors::feed::FeedMsg;
use syndic_actors::cache::{CacheSettings, FeedCache};
use syndic_actors::feed_url::FeedUrl;

use crate::helpers::{admin_database_url, eventually, feed_server, spawn_app, Backend, TestApp};
use crate::process::PrivateRedis;
use syndic_testkit::documents::titled::rss;

/// An outage of one test database: it refuses new connections and its open ones are cut. Dropping the
/// outage ends it, so a failing test does not leave the database closed.
struct DatabaseOutage {
    name: String,
    admin: Option<PgConnection>,
}

impl DatabaseOutage {
    async fn begin(name: &str) -> DatabaseOutage {
        let mut admin = PgConnection::connect(&admin_database_url()).await.unwrap();
        admin
            .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#).as_str())
            .await
            .unwrap();
        admin
            .execute(
                format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'").as_str(),
            )
            .await
            .unwrap();
        DatabaseOutage {
            name: name.to_owned(),
            admin: Some(admin),
        }
    }

    async fn end(mut self) {
        let mut admin = self.admin.take().unwrap();
        admin
            .execute(format!(r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS true"#, self.name).as_str())
            .await
            .unwrap();
    }
}

impl Drop for DatabaseOutage {
    fn drop(&mut self) {
        if self.admin.is_none() {
            return;
        }
        let name = self.name.clone();
        // Drop cannot await, so reopen the database from a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_database_url()).await {
                    let _ = admin
                        .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#).as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

async fn health(app: &TestApp) -> (u16, Value) {
    let response = app.get("/healthcheck", None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn poll_now(app: &TestApp, feed_id: i64) {
    app.engine()
        .feed_actor(feed_id)
        .await
        .unwrap()
        .expect("the feed has an actor")
        .send_message(FeedMsg::PollNow)
        .unwrap();
}

fn feed_ids(results: &[Value]) -> Vec<i64> {
    results
        .iter()
        .map(|result| result["feed_id"].as_i64().expect("subscribed"))
        .collect()
}

#[tokio::test]
async fn a_postgres_outage_during_polls_loses_and_duplicates_nothing() {
    const FEEDS: usize = 4;
    let app = spawn_app(Backend::Postgres).await;
    let server = feed_server().await;
    let paths: Vec<String> = (0..FEEDS).map(|n| format!("/outage{n}.xml")).collect();
    for (n, path) in paths.iter().enumerate() {
        server.set(path, rss(&format!("outage{n}"), 0, 5), "application/rss+xml");
    }
    let token = app.user("alice").await;
    let urls: Vec<String> = paths.iter().map(|path| server.url(path)).collect();
    let feeds = feed_ids(&app.subscribe(&token, &urls).await);
    app.wait_for_timeline(&token, FEEDS * 5).await;

    let outage = DatabaseOutage::begin(&app.database.name).await;
    // Each feed publishes three more entries while the database is away.
    for (n, path) in paths.iter().enumerate() {
        server.set(path, rss(&format!("outage{n}"), 0, 8), "application/rss+xml");
    }
    for &feed in &feeds {
        poll_now(&app, feed).await;
    }
    eventually(10, "every feed is fetched during the outage", || async {
        paths.iter().all(|path| server.requests(path) >= 2)
    })
    .await;
    let (status, body) = health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    // The outage lasts a while on purpose: the persistence actor must fail and retry several times, not
    // just once, while the feed actors wait for their acks.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.engine().running_feed_actors().await.unwrap(),
        FEEDS,
        "every feed actor survives the outage"
    );
    let (status, _) = health(&app).await;
    assert_eq!(status, 503, "the database is still down");
    outage.end().await;

    let total = FEEDS * 8;
    eventually(
        20,
        "every entry fetched during the outage reaches the timeline",
        || async { app.timeline(&token, "status=all").await.len() >= total },
    )
    .await;
    let timeline = app.timeline(&token, "status=all").await;
    assert_eq!(timeline.len(), total, "no article twice on the timeline");
    let titles: Vec<&str> = timeline
        .iter()
        .map(|article| article["title"].as_str().unwrap())
        .collect();
    for n in 0..FEEDS {
        for entry in 5..8 {
            let title = format!("outage{n} {entry}");
            assert!(titles.contains(&title.as_str()), "{title} missing");
        }
    }
    assert_eq!(
        app.article_count().await,
        total as i64,
        "nothing lost, nothing stored twice"
    );
    let (status, body) = health(&app).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
    // The validators of the new documents were stored with them: the next poll is a 304, not a re-ingest.
    for &feed in &feeds {
        poll_now(&app, feed).await;
    }
    eventually(10, "every feed answers 304 to the next poll", || async {
        paths.iter().all(|path| server.not_modified(path) >= 1)
    })
    .await;
    assert_eq!(app.article_count().await, total as i64);
}

#[tokio::test]
async fn a_redis_outage_degrades_health_but_not_ingest_and_the_cache_fills_again() {
    let mut redis = PrivateRedis::start().await;
    let mut app = spawn_app(Backend::Postgres).await;
    app.stop().await;
    app.config.redis_url = Some(redis.url());
    app.restart().await;
    // The test's own view of the same Redis keys, to see whether the engine filled the cache.
    let cache = FeedCache::new(&CacheSettings {
        redis_url: Some(redis.url()),
        key_prefix: app.config.redis_prefix.clone(),
        ttl: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
        max_entries: 16,
    })
    .unwrap();
    eventually(10, "health is ok with the private Redis", || async {
        health(&app).await.1["status"] == "ok"
    })
    .await;

    let server = feed_server().await;
    server.set("/before.xml", rss("before", 0, 4), "application/rss+xml");
    // Unconditional, so that a poll after the outage refetches it and refills the cache.
    server.set_unconditional("/during.xml", rss("during", 0, 5), "application/rss+xml");
    let during_key = FeedUrl::parse(&server.url("/during.xml")).unwrap().as_str().to_owned();
    let alice = app.user("alice").await;
    let before = feed_ids(&app.subscribe(&alice, &[server.url("/before.xml")]).await)[0];
    app.wait_for_timeline(&alice, 4).await;

    redis.stop();
    eventually(10, "health reports the cache down as degraded", || async {
        let (status, body) = health(&app).await;
        status == 200 && body["status"] == "degraded" && body["database"] == "ok" && body["cache"] != "ok"
    })
    .await;
    // A new feed is still fetched and stored; only the cache write fails.
    let subscribed = app.subscribe(&alice, &[server.url("/during.xml")]).await;
    assert_eq!(subscribed[0]["status"], "pending", "{subscribed:?}");
    let during = feed_ids(&subscribed)[0];
    app.wait_for_timeline(&alice, 9).await;
    // Polling goes on: a known feed's new entries arrive too.
    server.set("/before.xml", rss("before", 0, 6), "application/rss+xml");
    poll_now(&app, before).await;
    app.wait_for_timeline(&alice, 11).await;
    assert_eq!(app.article_count().await, 11);

    // One more entry, so that the cache entry written after the restart can be told from one of the
    // writes attempted during the outage, which the Redis client may still deliver late.
    server.set_unconditional("/during.xml", rss("during", 0, 6), "application/rss+xml");
    redis.start_again().await;
    eventually(10, "health is ok again once Redis is back", || async {
        health(&app).await.1["status"] == "ok"
    })
    .await;
    poll_now(&app, during).await;
    eventually(10, "the next poll fills the cache again", || async {
        matches!(cache.get(&during_key).await, Ok(Some(cached)) if cached.articles.len() == 6)
    })
    .await;
    let bob = app.user("bob").await;
    let results = app.subscribe(&bob, &[server.url("/during.xml")]).await;
    assert_eq!(results[0]["status"], "ready", "{results:?}");
    assert_eq!(
        app.timeline(&bob, "status=all").await.len(),
        6,
        "ready means the articles are there at once"
    );
    assert_eq!(app.article_count().await, 12, "the refetch stored only the new entry");
}
