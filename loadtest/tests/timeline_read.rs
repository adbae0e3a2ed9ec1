//! The timeline-read scenario at a tiny size, on both backends: the seeded timeline read through the API, its
//! pages disjoint and newest first, unread pages unread, one-feed pages of that feed, unread counts summing to
//! what was seeded; then concurrent readers of the first page with writes among them. Timings are not checked here.

use clap::Parser;
use syndic::Cli;
use syndic_loadtest::timeline_read::{run, TimelineReadSettings};
use syndic_testkit::database::test_admin_url;

async fn the_seeded_timeline_reads_back_whole_and_in_order(database_url: Option<String>) {
    let mut base = Cli::try_parse_from(["syndic"]).unwrap().config;
    base.database_url = database_url;
    // 20 pages of 50 hold the whole timeline: the walk to the deep page reads every article once.
    let settings = TimelineReadSettings {
        subscriptions: 20,
        articles: 1_000,
        requests: 5,
        deep_page: 20,
        concurrent_readers: 2,
        concurrent_requests: 10,
        write_every: 5,
        redis: false,
    };
    let report = run(&base, &settings).await.unwrap();
    assert_eq!(report.articles, 1_000, "{report:?}");
    assert_eq!(report.unread, 500, "half the articles are seeded read: {report:?}");
    assert_eq!(report.walked_articles, 1_000, "{report:?}");
    assert_eq!(report.walked_repeats, 0, "{report:?}");
    assert_eq!(report.walked_out_of_order, 0, "{report:?}");
    assert_eq!(report.unread_pages_read_articles, 0, "{report:?}");
    assert_eq!(report.feed_pages_foreign_articles, 0, "{report:?}");
    assert_eq!(report.subscriptions_listed, 20, "{report:?}");
    assert_eq!(report.unread_count_sum, 500, "{report:?}");
    // Each reader's 5th and 10th requests are writes.
    assert_eq!(
        (report.concurrent.reads, report.concurrent.writes),
        (16, 4),
        "{report:?}"
    );
    // The counters are the process's: the other backend's run may add to them, never take away.
    assert!(report.concurrent.hits + report.concurrent.misses >= 16.0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_timeline_reads_back_whole_and_in_order_on_sqlite() {
    the_seeded_timeline_reads_back_whole_and_in_order(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_timeline_reads_back_whole_and_in_order_on_postgres() {
    the_seeded_timeline_reads_back_whole_and_in_order(Some(test_admin_url())).await;
}
