//! What operators get: Prometheus metrics on their own listener, per-actor inspection, and the dashboard.

use serde_json::Value;

use crate::chromium;
use crate::events::{job_done, open, user_id, wait_for_streams};
use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp};
use syndic_testkit::documents::titled::rss;

async fn operator_app(backend: Backend) -> TestApp {
    spawn_app(backend).await
}

/// The value of one series, e.g. `syndic_polls_total{outcome="modified"}`.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
}

async fn metrics_are_served_on_their_own_listener(backend: Backend) {
    let app = operator_app(backend).await;
    let server = feed_server().await;
    server.set("/measured.xml", rss("measured", 0, 3), "application/rss+xml");
    server.set_status("/broken.xml", 500, &[]);
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/measured.xml"), server.url("/broken.xml")])
        .await;
    app.wait_for_timeline(&token, 3).await;
    app.engine().record_gauges();

    let text = app.metrics().await;
    // The recorder is shared by every app in this test process, so counts are at least ours.
    assert!(
        series(&text, "syndic_polls_total{outcome=\"modified\"}").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(
        series(&text, "syndic_polls_total{outcome=\"status\"}").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(series(&text, "syndic_http_responses_total{class=\"5xx\"}").unwrap_or(0.0) >= 1.0);
    assert!(series(&text, "syndic_entries_new_total").unwrap_or(0.0) >= 3.0);
    assert!(series(&text, "syndic_persistence_rows_total").unwrap_or(0.0) >= 3.0);
    assert!(
        text.contains("syndic_poll_duration_seconds_bucket{le=\"0.05\"}"),
        "explicit buckets"
    );
    assert!(text.contains("syndic_persistence_flush_seconds_bucket"));
    assert!(text.contains("syndic_feed_actors{status=\"ok\"}"));
    assert!(text.contains("syndic_db_pool_connections{state=\"idle\"}"));
    assert!(!text.contains("measured.xml"), "no per-feed labels");
    // The feeds' status changes reach the event log through the bus, whose writes are timed.
    eventually(10, "a timed write of the event bus", || async {
        app.metrics()
            .await
            .contains("syndic_event_write_seconds_bucket{le=\"0.05\"}")
    })
    .await;
    // Not on the API's listener.
    assert_eq!(app.get("/metrics", None).await.status(), 404);
}

/// How many messages the event streams handed over so far, timed from `timed_from` (`commit` or `stored_at`).
fn deliveries(text: &str, timed_from: &str) -> f64 {
    series(
        text,
        &format!("syndic_event_delivery_seconds_count{{timed_from=\"{timed_from}\"}}"),
    )
    .unwrap_or(0.0)
}

async fn event_deliveries_are_timed_from_the_commit_or_from_at_when_read_from_the_log(backend: Backend) {
    let mut app = operator_app(backend).await;
    app.config.event_stream_buffer = 16;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let mut stream = open(&app, &token, "", None).await;
    wait_for_streams(&app, 1).await;
    let before = app.metrics().await;

    // One event comes live, with the moment its commit returned.
    app.engine().events().publish(vec![job_done(alice, 0)]);
    stream.expect().await;
    // A burst far beyond the buffer: the stream reads most of it from the log, where only `at` is known.
    app.engine()
        .events()
        .publish((1..=1_000).map(|job| job_done(alice, job)).collect());
    assert_eq!(stream.take(1_000).await.len(), 1_000);

    let after = app.metrics().await;
    let added = |timed_from| deliveries(&after, timed_from) - deliveries(&before, timed_from);
    // The recorder is shared by every app in this test process, so counts are at least ours.
    assert!(added("commit") >= 1.0, "{after}");
    assert!(added("stored_at") >= 1.0, "{after}");
    assert!(
        added("commit") + added("stored_at") >= 1_001.0,
        "every message: {after}"
    );
    assert!(
        after.contains("syndic_event_delivery_seconds_bucket{timed_from=\"commit\",le=\"0.05\"}"),
        "explicit buckets around the target"
    );
}

async fn operators_inspect_actors_live_and_list_the_worst(backend: Backend) {
    let app = operator_app(backend).await;
    let server = feed_server().await;
    server.set("/good.xml", rss("good", 0, 4), "application/rss+xml");
    server.set_status("/gone.xml", 410, &[]);
    let alice = app.user("alice").await;
    let root = app.user("root").await;
    app.make_admin("root").await;
    let results = app
        .subscribe(&alice, &[server.url("/good.xml"), server.url("/gone.xml")])
        .await;
    let good = results[0]["feed_id"].as_i64().unwrap();
    let gone = results[1]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&alice, 4).await;
    eventually(10, "the gone feed to be listed dead", || async {
        let listing: Value = app
            .get("/v1/admin/actors?sort=errors", Some(&root))
            .await
            .json()
            .await
            .unwrap();
        listing["by_status"]["dead"] == 1
    })
    .await;

    let listing: Value = app
        .get("/v1/admin/actors?sort=errors&limit=1", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listing["total"], 2);
    assert_eq!(listing["actors"].as_array().unwrap().len(), 1);
    assert_eq!(listing["actors"][0]["feed_id"], gone, "the worst first");
    assert_eq!(listing["actors"][0]["last_status_code"], 410);

    let live: Value = app
        .get(&format!("/v1/admin/actors/{good}"), Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    assert_eq!(live["entries_total"], 4);
    assert_eq!(live["last_status_code"], 200);
    assert_eq!(live["consecutive_errors"], 0);
    assert_eq!(live["mailbox_depth"], 0);
    assert!(live["bytes_total"].as_u64().unwrap() > 0);
    assert!(live["last_poll_duration_ms"].is_u64());
    assert!(live["next_poll_at"].is_string());
    assert_eq!(live["interval_reason"], "adaptive");

    // A 304 shows in the ratio.
    app.engine()
        .feed_actor(good)
        .await
        .unwrap()
        .unwrap()
        .send_message(syndic_actors::actors::feed::FeedMsg::PollNow)
        .unwrap();
    eventually(5, "the 304", || async { server.not_modified("/good.xml") == 1 }).await;
    let live: Value = app
        .get(&format!("/v1/admin/actors/{good}"), Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(live["not_modified_ratio"], 0.5);
    assert_eq!(live["last_status_code"], 304);

    assert_eq!(app.get("/v1/admin/actors/999999", Some(&root)).await.status(), 404);
    assert_eq!(app.get("/v1/admin/actors", Some(&alice)).await.status(), 403);
    assert_eq!(app.get("/v1/admin/actors?limit=0", Some(&root)).await.status(), 422);
    assert_eq!(
        app.get("/v1/admin/actors?sort=sideways", Some(&root)).await.status(),
        400
    );
}

#[tokio::test]
async fn the_dashboard_shows_a_dead_feed_in_headless_chromium() {
    let app = operator_app(Backend::Sqlite).await;
    let server = feed_server().await;
    server.set("/alive.xml", rss("alive", 0, 1), "application/rss+xml");
    server.set_status("/dead.xml", 410, &[]);
    let alice = app.user("alice").await;
    let root = app.user("root").await;
    app.make_admin("root").await;
    app.subscribe(&alice, &[server.url("/alive.xml"), server.url("/dead.xml")])
        .await;
    eventually(10, "the dead feed", || async {
        let listing: Value = app.get("/v1/admin/actors", Some(&root)).await.json().await.unwrap();
        listing["by_status"]["dead"] == 1
    })
    .await;

    let page = format!("{}/admin#token={root}", app.address);
    let output = tokio::task::spawn_blocking(move || chromium::dump_dom(page, 10_000))
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let dead_row = dom
        .split("<tr")
        .find(|row| row.contains("data-status=\"dead\""))
        .unwrap_or_else(|| {
            panic!(
                "no dead row in the dashboard; DOM:\n{dom}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(dead_row.contains(&server.url("/dead.xml")), "{dead_row}");
    assert!(dead_row.contains("410"), "{dead_row}");
    assert!(dom.contains("id=\"total-dead\""), "the totals are shown");
    assert!(dom.contains(&server.url("/alive.xml")), "the live feed is listed too");

    // Who is signed in, and no login form once signed in.
    assert!(dom.contains("signed in as <b id=\"username\">root</b>"), "{dom}");
    assert!(dom.contains("id=\"sign-out\""), "a sign-out button");
    let login_form = dom.split("<form").nth(1).and_then(|form| form.split('>').next());
    assert!(login_form.is_some_and(|tag| tag.contains("hidden")), "{login_form:?}");
    // The next poll, about an hour away in tests, is relative, with the absolute time as its title.
    let alive_row = dom
        .split("<tr")
        .find(|row| row.contains(&server.url("/alive.xml")))
        .unwrap();
    let next_poll = alive_row
        .split("class=\"next-poll\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{alive_row}"));
    assert!(
        next_poll.starts_with(" title=\""),
        "the absolute time is the title: {alive_row}"
    );
    let shown = next_poll
        .split('>')
        .nth(1)
        .and_then(|text| text.split('<').next())
        .unwrap_or_default();
    assert!(
        shown == "in 1 h" || (shown.starts_with("in ") && shown.ends_with(" min")),
        "relative: {shown:?} in {alive_row}"
    );
}

crate::on_both_backends!(
    metrics_are_served_on_their_own_listener,
    event_deliveries_are_timed_from_the_commit_or_from_at_when_read_from_the_log,
    operators_inspect_actors_live_and_list_the_worst
);
