//! Smoke test of `syndic-loadtest`: the whole harness with 20 feeds (a few broken) on SQLite, checking the
//! report's counts.

use clap::Parser;
use syndic::Cli;
use syndic_loadtest::million::MillionSettings;
use syndic_loadtest::popular_feed::PopularFeedSettings;
use syndic_loadtest::search::SearchSettings;
use syndic_loadtest::stream_clients::StreamClientsSettings;
use syndic_loadtest::streams::StreamsSettings;
use syndic_loadtest::sustained::SustainedSettings;
use syndic_loadtest::timeline_read::TimelineReadSettings;
use syndic_loadtest::timers::TimersSettings;
use syndic_loadtest::{run, LoadSettings, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_stores_every_healthy_entry_cold_and_sees_mostly_304s_warm() {
    let mut base = Cli::try_parse_from(["syndic"]).unwrap().config;
    base.database_url = None;
    let settings = LoadSettings {
        scenario: Scenario::Rounds,
        popular_feed: PopularFeedSettings {
            subscribers: 1,
            new_entries: 1,
            api_sample: 1,
        },
        timeline_read: TimelineReadSettings {
            subscriptions: 1,
            articles: 1,
            requests: 1,
            deep_page: 1,
            concurrent_readers: 0,
            concurrent_requests: 0,
            write_every: 0,
            redis: false,
        },
        million: MillionSettings { idle_feeds: 1 },
        sustained: SustainedSettings {
            polled_feeds: 1,
            fixed_interval_secs: 1,
            sustain_secs: 1,
            changing_share: 0.0,
            lateness_sample: 1,
        },
        streams: StreamsSettings {
            streams: 1,
            streams_first: 1,
            streams_idle_secs: 1,
        },
        stream_clients: StreamClientsSettings {
            stream_clients_address: None,
        },
        timers: TimersSettings {
            pending_timers: 10,
            due_timers: 5,
            due_after_secs: 3,
        },
        search: SearchSettings {
            search_feeds: 1,
            search_articles: 1,
            search_queries: 1,
            search_clients: 1,
            search_hold_secs: 0,
        },
        feeds: 20,
        entries: 10,
        change_share: 0.1,
        broken_share: 0.2,
        json: None,
        farm_only: false,
        farm_port: 0,
        readers: 2,
        pages: 5,
        round_timeout_secs: 60,
    };
    let report = run(&base, &settings).await.unwrap();
    let healthy = report.healthy_feeds;
    let broken = 20 - healthy;
    assert!((1..20).contains(&broken), "the farm has broken feeds: {broken}");
    assert_eq!(report.cold.feeds, healthy);
    assert_eq!(report.cold.articles_stored, healthy as i64 * 10);
    assert_eq!(report.cold.responses.full, healthy as u64);
    assert_eq!(report.warm.feeds, healthy);
    let warm = report.warm.responses;
    assert_eq!(warm.full + warm.not_modified, healthy as u64, "{warm:?}");
    assert_eq!(
        warm.broken, broken as u64,
        "every broken feed was asked again: {warm:?}"
    );
    assert!(warm.not_modified > warm.full, "mostly 304s: {warm:?}");
    assert_eq!(report.warm.articles_stored, 5 * warm.full as i64);
    for round in [&report.cold, &report.warm] {
        assert!(round.all_polled_elapsed >= round.elapsed, "{round:?}");
        // Every healthy feed's poll in the round is timed, and none of the broken ones'.
        assert_eq!(round.polls_answered, healthy, "{round:?}");
    }
    assert_eq!(report.startup_actors, 20);
    assert_eq!(report.timeline_pages, 10);
}
