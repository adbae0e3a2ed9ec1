//! Smoke test of `syndic loadtest`: the whole harness with 20 feeds on SQLite, checking the report's counts.

use clap::Parser;
use syndic::loadtest::{run, LoadSettings};
use syndic::Cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_stores_every_entry_cold_and_sees_mostly_304s_warm() {
    let base = Cli::try_parse_from(["syndic"]).unwrap().config;
    let settings = LoadSettings {
        feeds: 20,
        entries: 10,
        change_share: 0.1,
        broken_share: 0.0,
        database_url: None,
        json: None,
        farm_only: false,
        farm_port: 0,
        readers: 2,
        pages: 5,
        round_timeout_secs: 60,
    };
    let report = run(&base, &settings).await.unwrap();
    assert_eq!(report.healthy_feeds, 20);
    assert_eq!(report.cold.articles_stored, 20 * 10);
    assert_eq!(report.cold.responses.full, 20);
    assert_eq!(report.warm.feeds, 20);
    let warm = report.warm.responses;
    assert_eq!(warm.full + warm.not_modified, 20, "{warm:?}");
    assert!(warm.not_modified > warm.full, "mostly 304s: {warm:?}");
    assert_eq!(report.warm.articles_stored, 5 * warm.full as i64);
    assert_eq!(report.startup_actors, 20);
    assert_eq!(report.timeline_pages, 10);
}
