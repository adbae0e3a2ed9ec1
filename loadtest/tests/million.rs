//! The million scenario at a tiny size, on both backends: every seeded feed's actor runs before the figures are
//! taken. Timings are not checked here.

use std::time::Duration;

use clap::Parser;
use syndic::Cli;
use syndic_loadtest::million::{run, MillionSettings};
use syndic_testkit::database::test_admin_url;

async fn every_seeded_feed_gets_a_running_actor(database_url: Option<String>) {
    let mut base = Cli::try_parse_from(["syndic"]).unwrap().config;
    base.database_url = database_url;
    let report = run(&base, &MillionSettings { idle_feeds: 50 }, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.running_actors, 50, "{report:?}");
    assert!(report.healthcheck_elapsed <= report.actors_elapsed, "{report:?}");
    assert!(report.resident_idle > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_feed_gets_a_running_actor_on_sqlite() {
    every_seeded_feed_gets_a_running_actor(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_feed_gets_a_running_actor_on_postgres() {
    every_seeded_feed_gets_a_running_actor(Some(test_admin_url())).await;
}
