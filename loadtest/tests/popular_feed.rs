//! The popular-feed scenario at a tiny size, on both backends: every subscriber's timeline holds every new entry,
//! by the store for all and through the API for the sample. Timings are not checked here.

use std::time::Duration;

use clap::Parser;
use syndic::Cli;
use syndic_loadtest::popular_feed::{run, PopularFeedSettings};
use syndic_testkit::database::test_admin_url;

async fn every_subscriber_sees_the_new_entries(database_url: Option<String>) {
    let mut base = Cli::try_parse_from(["syndic"]).unwrap().config;
    base.database_url = database_url;
    let settings = PopularFeedSettings {
        subscribers: 20,
        new_entries: 10,
        api_sample: 3,
    };
    let report = run(&base, &settings, Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.subscribers_holding_all, 20, "{report:?}");
    assert_eq!(report.sample_showing_all, 3, "{report:?}");
    assert!(report.flush_elapsed <= report.store_visible_elapsed, "{report:?}");
    assert!(report.store_visible_elapsed <= report.api_visible_elapsed, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_sees_the_new_entries_on_sqlite() {
    every_subscriber_sees_the_new_entries(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_sees_the_new_entries_on_postgres() {
    every_subscriber_sees_the_new_entries(Some(test_admin_url())).await;
}
