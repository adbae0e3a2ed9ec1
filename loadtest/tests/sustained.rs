//! The sustained scenario at a tiny size, on both backends: every feed is polled at least twice on a short fixed
//! interval, the seeded ETags make the unchanged feeds' polls 304s, and the figures are consistent with each
//! other. Timings are not checked here.

use clap::Parser;
use syndic::Cli;
use syndic_loadtest::sustained::{run, SustainedSettings};
use syndic_testkit::database::test_admin_url;

const FEEDS: usize = 200;

async fn every_feed_is_polled_on_the_fixed_interval(database_url: Option<String>, changing_share: f64) {
    let mut base = Cli::try_parse_from(["syndic"]).unwrap().config;
    base.database_url = database_url;
    let settings = SustainedSettings {
        polled_feeds: FEEDS,
        fixed_interval_secs: 2,
        sustain_secs: 7,
        changing_share,
        lateness_sample: 50,
    };
    let report = run(&base, &settings, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.feeds_polled_twice, FEEDS, "{report:?}");
    assert!(report.fewest_requests_per_feed >= 2, "{report:?}");
    if changing_share == 0.0 {
        assert_eq!(report.responses.full, 0, "a first poll was not a 304: {report:?}");
    } else {
        assert!(report.responses.full > 0, "no feed changed: {report:?}");
    }
    assert!(report.responses.not_modified > 0, "{report:?}");
    assert_eq!(report.responses.broken, 0, "{report:?}");
    assert_eq!(report.traced_feeds, 50, "{report:?}");
    // Some traced polls were paired with the farm's requests: not every intent is counted as unserved.
    assert!(report.lateness_unserved < report.lateness_measured, "{report:?}");
    assert!(report.lateness_p50 <= report.lateness_p99, "{report:?}");
    assert!(report.lateness_p99 <= report.lateness_max, "{report:?}");
    assert!(
        !report.resident.is_empty() && report.resident.iter().all(|bytes| *bytes > 0),
        "{report:?}"
    );
    assert!(
        report.farm_cpu.is_some() && report.farm_cpu <= report.process_cpu,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_is_polled_on_the_fixed_interval_with_only_304s_on_sqlite() {
    every_feed_is_polled_on_the_fixed_interval(None, 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_is_polled_on_the_fixed_interval_with_changing_feeds_on_postgres() {
    every_feed_is_polled_on_the_fixed_interval(Some(test_admin_url()), 0.2).await;
}
