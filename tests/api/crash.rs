//! The real binary stopped in the middle of ingesting a feed farm, by `kill -9` and by SIGTERM: after a restart
//! every entry is stored exactly once and on the subscriber's timeline.

use std::time::{Duration, Instant};

use crate::helpers::{eventually, spawn_app, Backend, TestDatabase};
use crate::process::{free_port, register_and_login, subscribe_all, whole_timeline, DatabaseProbe, SlowFarm, Syndic};

const FEEDS: usize = 300;
const ENTRIES: usize = 20;
const TOTAL: i64 = (FEEDS * ENTRIES) as i64;

/// The settings both runs of the binary share: only the port may differ.
fn settings(database: &TestDatabase) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database.url.clone()),
        ("SYNDIC_ALLOW_PRIVATE_NETWORKS", "true".into()),
        ("SYNDIC_STARTUP_SPREAD_SECS", "0".into()),
        ("SYNDIC_PER_HOST_INTERVAL_MS", "0".into()),
        ("SYNDIC_PER_HOST_CONCURRENCY", "8".into()),
        ("SYNDIC_JWT_SECRET", "fixed".into()),
        ("RUST_LOG", "info".into()),
    ]
}

/// Starts the binary, subscribes one user to the whole farm and waits until the first entries are committed.
async fn ingest_until_the_first_commit(
    database: &TestDatabase,
    probe: &DatabaseProbe,
    farm: &SlowFarm,
    client: &reqwest::Client,
) -> (Syndic, String) {
    let mut syndic = Syndic::spawn(free_port(), &settings(database));
    syndic.wait_until_healthy().await;
    let token = register_and_login(client, &syndic, "alice").await;
    subscribe_all(client, &syndic, &token, &farm.urls()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Counted every few milliseconds, so that the interruption lands right after the first commit.
    while probe.articles().await == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing was stored; logs:\n{}",
            syndic.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (syndic, token)
}

/// Restarts the binary on the same database and waits until every entry is stored, then checks that each is
/// stored once and on the user's timeline once.
async fn restart_and_expect_everything(
    database: &TestDatabase,
    probe: &DatabaseProbe,
    client: &reqwest::Client,
    token: &str,
) {
    let mut syndic = Syndic::spawn(free_port(), &settings(database));
    syndic.wait_until_healthy().await;
    eventually(30, "every entry of the farm is stored after the restart", || async {
        probe.articles().await >= TOTAL && probe.timeline_of("alice").await >= TOTAL
    })
    .await;
    assert_eq!(probe.articles().await, TOTAL, "no entry is stored twice");
    assert_eq!(
        probe.timeline_of("alice").await,
        TOTAL,
        "no article is on the timeline twice"
    );
    // The token from before the restart still works: the secret is fixed.
    let timeline = whole_timeline(client, &syndic, token).await;
    assert_eq!(timeline.len() as i64, TOTAL, "the API shows the whole timeline");
    let mut ids: Vec<i64> = timeline.iter().map(|article| article["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, TOTAL, "no article appears twice on the timeline");
}

/// One attempt at killing the binary mid-ingest. Returns false, without judging the engine, when the kill
/// landed after the farm was fully stored, so the caller can retry with a slower farm.
async fn kill_9_mid_ingest_then_restart(delay: Duration) -> bool {
    let database = TestDatabase::create(Backend::Postgres).await;
    let probe = DatabaseProbe::connect(&database).await;
    let farm = SlowFarm::start(FEEDS, ENTRIES, delay).await;
    let client = reqwest::Client::new();
    let (mut syndic, token) = ingest_until_the_first_commit(&database, &probe, &farm, &client).await;
    syndic.kill_hard();
    let stored = probe.articles().await;
    if stored == TOTAL {
        return false;
    }
    assert!(
        stored > 0 && stored < TOTAL,
        "the kill landed mid-ingest: {stored} of {TOTAL}"
    );
    assert_eq!(
        stored % ENTRIES as i64,
        0,
        "a feed's entries are committed together, never half"
    );
    assert_eq!(
        probe.timeline_of("alice").await,
        stored,
        "every committed article is on the subscriber's timeline"
    );
    drop(syndic);
    restart_and_expect_everything(&database, &probe, &client, &token).await;
    true
}

#[tokio::test]
async fn a_kill_9_mid_ingest_loses_and_duplicates_nothing_after_a_restart() {
    // Slower farms make the ingest last longer; the first one is already slow enough on a normal machine
    // (300 feeds, 8 at a time, 250 ms each: about 9 s).
    for delay_ms in [250, 600] {
        if kill_9_mid_ingest_then_restart(Duration::from_millis(delay_ms)).await {
            return;
        }
    }
    panic!("the kill never landed mid-ingest, even with the slowest farm");
}

#[tokio::test]
async fn sigterm_mid_ingest_flushes_what_was_fetched_and_a_restart_stores_the_rest() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let probe = DatabaseProbe::connect(&database).await;
    // Slow enough that the backlog outlasts the shutdown grace, so the restart has work left to do.
    let farm = SlowFarm::start(FEEDS, ENTRIES, Duration::from_millis(300)).await;
    let client = reqwest::Client::new();
    let (mut syndic, token) = ingest_until_the_first_commit(&database, &probe, &farm, &client).await;
    let answered = farm.answered();
    assert!(answered < FEEDS, "SIGTERM is sent while the farm is being ingested");
    syndic.terminate();
    let exit = syndic.wait_for_exit(Duration::from_secs(10)).await;
    assert!(exit.success(), "exit {exit:?}; logs:\n{}", syndic.logs());
    let stored = probe.articles().await;
    // Every document the engine had received before the signal is stored before it exits.
    assert!(
        stored >= (answered * ENTRIES) as i64,
        "{stored} entries stored at exit, but {answered} feeds had been answered before SIGTERM; logs:\n{}",
        syndic.logs()
    );
    assert_eq!(stored % ENTRIES as i64, 0, "a feed's entries are committed together");
    assert_eq!(probe.timeline_of("alice").await, stored);
    drop(syndic);
    restart_and_expect_everything(&database, &probe, &client, &token).await;
}

#[tokio::test]
async fn a_poll_under_way_at_shutdown_is_stored_before_the_engine_stops() {
    let mut app = spawn_app(Backend::Sqlite).await;
    // The farm holds each request for 2 s, so the poll is still fetching when the shutdown begins.
    let farm = SlowFarm::start(1, ENTRIES, Duration::from_secs(2)).await;
    let token = app.user("alice").await;
    app.subscribe(&token, &farm.urls()).await;
    eventually(10, "the poll reaches the farm", || async { farm.most_in_flight() >= 1 }).await;
    assert_eq!(farm.answered(), 0, "the answer is still held back");
    app.stop().await;
    assert_eq!(farm.answered(), 1, "the shutdown waited for the poll");
    assert_eq!(
        app.article_count().await,
        ENTRIES as i64,
        "the poll's entries were written before the engine stopped"
    );
}
