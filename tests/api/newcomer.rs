//! Rough edges a newcomer hits first: logs written to a file, a feed whose host does not resolve yet, and how
//! long a poll took apart from its wait for a politeness slot.

use serde_json::Value;
use syndic_actors::actors::feed::FeedMsg;

use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp, TestDatabase};
use crate::process::{free_port, Syndic};
use syndic_testkit::documents::titled::rss;

/// An app that refuses private addresses, as production does (the other tests allow them).
async fn public_only_app(backend: Backend) -> TestApp {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.allow_private_networks = false;
    app.restart().await;
    app
}

async fn feed(app: &TestApp, token: &str, feed_id: i64) -> Value {
    let response = app.get(&format!("/v1/feeds/{feed_id}"), Some(token)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `.invalid` never resolves (RFC 2606), and the lookup goes no further than the local resolver.
const UNRESOLVABLE: &str = "http://feed.syndic-test.invalid/feed.xml";

async fn a_host_that_does_not_resolve_is_subscribed_and_retried(backend: Backend) {
    let app = public_only_app(backend).await;
    let token = app.user("alice").await;
    let results = app.subscribe(&token, &[UNRESOLVABLE.into()]).await;
    assert_eq!(
        results[0]["status"], "pending",
        "a DNS failure may be transient: {}",
        results[0]
    );
    assert_eq!(results[0]["error"], Value::Null, "{}", results[0]);
    let feed_id = results[0]["feed_id"].as_i64().expect("the feed is created");

    eventually(10, "the DNS failure to be recorded on the feed", || async {
        feed(&app, &token, feed_id).await["status"] == "error"
    })
    .await;
    let body = feed(&app, &token, feed_id).await;
    let last_error = body["last_error"].as_str().unwrap_or_default().to_lowercase();
    assert!(last_error.contains("resolve"), "a DNS-ish error: {body}");
    assert_eq!(body["error_count"], 1, "{body}");
    assert!(body["next_poll_at"].is_string(), "a retry is scheduled: {body}");

    // The actor is still polling it: the next poll fails again and is counted.
    let actor = app
        .engine()
        .feed_actor(feed_id)
        .await
        .unwrap()
        .expect("the feed keeps its actor");
    actor.send_message(FeedMsg::PollNow).unwrap();
    eventually(10, "the second failure to be counted", || async {
        feed(&app, &token, feed_id).await["error_count"] == 2
    })
    .await;
    let body = feed(&app, &token, feed_id).await;
    assert_eq!(body["status"], "error", "{body}");
    assert!(body["next_poll_at"].is_string(), "{body}");
}

async fn a_refused_private_address_names_the_setting_that_allows_it(backend: Backend) {
    let app = public_only_app(backend).await;
    let token = app.user("alice").await;
    let results = app
        .subscribe(
            &token,
            &["http://127.0.0.1:1/feed".into(), "http://localhost/feed".into()],
        )
        .await;
    for result in &results {
        assert_eq!(result["status"], "invalid", "{result}");
        assert_eq!(result["feed_id"], Value::Null, "{result}");
        let error = result["error"].as_str().unwrap();
        assert!(error.contains("private or reserved"), "{result}");
        assert!(error.contains("SYNDIC_ALLOW_PRIVATE_NETWORKS"), "{result}");
    }
}

/// How many polls of the shared metrics recorder took longer than half a second: the `_count` less the
/// `le="0.5"` bucket of a histogram.
fn slower_than_half_a_second(metrics: &str, histogram: &str) -> f64 {
    let value = |series: String| {
        metrics
            .lines()
            .find_map(|line| {
                line.strip_prefix(series.as_str())
                    .and_then(|rest| rest.trim().parse::<f64>().ok())
            })
            .unwrap_or(0.0)
    };
    value(format!("{histogram}_count")) - value(format!("{histogram}_bucket{{le=\"0.5\"}}"))
}

async fn a_poll_that_waited_for_its_host_is_timed_apart_from_the_wait(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    // The default politeness: one second between two requests to one host, so feeds on one host queue.
    app.config.per_host_interval_ms = 1000;
    app.restart().await;
    let server = feed_server().await;
    let paths = ["/one.xml", "/two.xml", "/three.xml"];
    for path in paths {
        server.set(path, rss(path, 0, 1), "application/rss+xml");
    }
    let before = app.metrics().await;
    let alice = app.user("alice").await;
    let root = app.user("root").await;
    app.make_admin("root").await;
    let urls: Vec<String> = paths.iter().map(|path| server.url(path)).collect();
    let results = app.subscribe(&alice, &urls).await;
    app.wait_for_timeline(&alice, paths.len()).await;

    let mut timings = Vec::new();
    for result in &results {
        let feed_id = result["feed_id"].as_i64().unwrap();
        let actor: Value = app
            .get(&format!("/v1/admin/actors/{feed_id}"), Some(&root))
            .await
            .json()
            .await
            .unwrap();
        let own = actor["last_poll_duration_ms"].as_u64().expect("the poll is timed");
        let waited = actor["last_poll_wait_ms"].as_u64().expect("the wait is timed");
        timings.push((own, waited));
    }
    // The server answers at once: the queued polls waited about one and two seconds, and took little.
    assert!(
        timings.iter().any(|&(own, waited)| own < 500 && waited > 500),
        "(poll ms, wait ms): {timings:?}"
    );

    // The recorder is shared by every app in this process, so only what grew during this test counts; the
    // other tests' feeds answer at once with no gap between polls.
    let after = app.metrics().await;
    let grown =
        |histogram: &str| slower_than_half_a_second(&after, histogram) - slower_than_half_a_second(&before, histogram);
    let long_waits = grown("syndic_fetch_wait_seconds");
    let long_polls = grown("syndic_poll_duration_seconds");
    assert!(
        long_waits >= 1.0,
        "the long waits are in the wait histogram: {long_waits}"
    );
    assert!(
        long_polls < long_waits,
        "and not in the poll duration histogram: {long_polls} long polls, {long_waits} long waits"
    );
}

crate::on_both_backends!(
    a_poll_that_waited_for_its_host_is_timed_apart_from_the_wait,
    a_host_that_does_not_resolve_is_subscribed_and_retried,
    a_refused_private_address_names_the_setting_that_allows_it
);

#[tokio::test]
async fn logs_written_to_a_file_carry_no_colour_codes() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let mut syndic = Syndic::spawn(
        free_port(),
        &[
            ("DATABASE_URL", database.url.clone()),
            ("RUST_LOG", "info".into()),
            // An empty NO_COLOR does not turn colours off, so only the missing terminal can.
            ("NO_COLOR", String::new()),
        ],
    );
    syndic.wait_until_healthy().await;
    let logs = syndic.logs();
    assert!(logs.contains("INFO"), "the engine logged its start: {logs}");
    assert!(!logs.contains("\x1b["), "no ANSI escape codes in a log file: {logs:?}");
}
