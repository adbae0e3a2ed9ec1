//! The engine end to end: subscribe, poll, persist, cache, restart, 304s and unsubscribe.

use std::sync::Arc;
use std::time::Duration;

use syndic_actors::actors::feed::FeedMsg;
use syndic_actors::store::Store;

use crate::helpers::{eventually, feed_server, spawn_app, spawn_app_with, Backend, TestSettings};
use syndic_testkit::documents::titled::{atom, json_feed, rss};

async fn register_login_and_subscribe_lead_to_articles_on_the_timeline(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/rss.xml", rss("rss", 0, 5), "application/rss+xml");
    server.set("/atom.xml", atom("atom", 4), "application/atom+xml");
    server.set("/feed.json", json_feed("json", 3), "application/feed+json");
    let token = app.user("alice").await;

    let results = app
        .subscribe(
            &token,
            &[
                server.url("/rss.xml"),
                server.url("/atom.xml"),
                server.url("/feed.json"),
            ],
        )
        .await;
    assert!(
        results.iter().all(|result| result["status"] == "pending"),
        "{results:?}"
    );

    let articles = app.wait_for_timeline(&token, 12).await;
    assert_eq!(articles.len(), 12);
    let titles: Vec<&str> = articles
        .iter()
        .map(|article| article["title"].as_str().unwrap())
        .collect();
    for expected in ["rss 4", "atom 3", "json 2"] {
        assert!(titles.contains(&expected), "{expected} missing from {titles:?}");
    }
    // Newest first across feeds.
    let dates: Vec<&str> = articles
        .iter()
        .map(|article| article["published_at"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    let json_article = articles.iter().find(|article| article["title"] == "json 1").unwrap();
    assert_eq!(json_article["categories"], serde_json::json!(["json", "test"]));
    assert_eq!(json_article["read"], false);

    let feeds: serde_json::Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    let feeds = feeds["feeds"].as_array().unwrap();
    assert_eq!(feeds.len(), 3);
    let rss_feed = feeds.iter().find(|feed| feed["title"] == "rss").unwrap();
    assert_eq!(rss_feed["status"], "ok");
    assert_eq!(rss_feed["unread_count"], 5);
    assert!(rss_feed["last_polled_at"].is_string());
    assert!(rss_feed["next_poll_at"].is_string());
}

async fn second_subscriber_to_a_cached_feed_gets_ready_and_its_articles_without_a_fetch(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/shared.xml", rss("shared", 0, 6), "application/rss+xml");
    let alice = app.user("alice").await;
    app.subscribe(&alice, &[server.url("/shared.xml")]).await;
    app.wait_for_timeline(&alice, 6).await;
    assert_eq!(server.requests("/shared.xml"), 1);

    let bob = app.user("bob").await;
    let results = app.subscribe(&bob, &[server.url("/shared.xml")]).await;
    assert_eq!(results[0]["status"], "ready");
    assert_eq!(results[0]["error"], serde_json::Value::Null);
    // Ready means ready: the articles are there on the very first read.
    let articles = app.timeline(&bob, "status=all").await;
    assert_eq!(articles.len(), 6);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.requests("/shared.xml"),
        1,
        "a cached feed must not be fetched again"
    );
}

async fn subscribing_twice_is_idempotent_and_equivalent_urls_share_one_feed(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/same.xml", rss("same", 0, 2), "application/rss+xml");
    let token = app.user("alice").await;
    let first = app.subscribe(&token, &[server.url("/same.xml")]).await;
    app.wait_for_timeline(&token, 2).await;
    let upper = server.url("/same.xml").replace("http://127.0.0.1", "HTTP://127.0.0.1") + "#fragment";
    let second = app.subscribe(&token, &[upper]).await;
    assert_eq!(first[0]["feed_id"], second[0]["feed_id"]);
    let feeds: serde_json::Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    assert_eq!(feeds["feeds"].as_array().unwrap().len(), 1);
    assert_eq!(app.timeline(&token, "status=all").await.len(), 2);
}

async fn a_restart_creates_no_duplicates(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        TestSettings {
            poll_interval_secs: 1,
            startup_spread_secs: 0,
        },
    )
    .await;
    let server = feed_server().await;
    // Unconditional: every poll gets the full document again, so dedupe is what prevents duplicates.
    server.set_unconditional("/again.xml", rss("again", 0, 8), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/again.xml")]).await;
    app.wait_for_timeline(&token, 8).await;

    app.restart().await;
    let before = server.requests("/again.xml");
    eventually(15, "two polls after the restart", || async {
        server.requests("/again.xml") >= before + 2
    })
    .await;

    assert_eq!(app.article_count().await, 8);
    assert_eq!(app.timeline(&token, "status=all").await.len(), 8);
}

async fn a_304_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/etag.xml", rss("etag", 0, 4), "application/rss+xml");
    let token = app.user("alice").await;
    let results = app.subscribe(&token, &[server.url("/etag.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let articles = app.wait_for_timeline(&token, 4).await;
    let read_id = articles[0]["id"].as_i64().unwrap();
    let patched = app
        .patch_json(
            &format!("/v1/articles/{read_id}"),
            &token,
            &serde_json::json!({"read": true}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let (etag_before, _) = app.database.feed_state(feed_id).await;
    assert!(etag_before.is_some(), "the ETag is stored after the first poll");
    let last_polled = |store: Arc<dyn Store>| async move { store.get_feed(feed_id).await.unwrap().last_polled_at };
    let polled_before = last_polled(app.database.store.clone()).await.expect("polled once");

    let actor = app
        .engine()
        .feed_actor(feed_id)
        .await
        .unwrap()
        .expect("the feed has an actor");
    actor.send_message(FeedMsg::PollNow).unwrap();
    eventually(10, "a 304 answer", || async { server.not_modified("/etag.xml") == 1 }).await;
    // The persistence actor records the 304 with its next flush.
    eventually(10, "the 304 recorded as the last poll", || async {
        last_polled(app.database.store.clone()).await > Some(polled_before)
    })
    .await;

    assert_eq!(app.article_count().await, 4);
    let after = app.timeline(&token, "status=all").await;
    assert_eq!(after.len(), 4);
    let still_read = after
        .iter()
        .find(|article| article["id"].as_i64() == Some(read_id))
        .unwrap();
    assert_eq!(still_read["read"], true);
    let (etag_after, status) = app.database.feed_state(feed_id).await;
    assert_eq!(etag_after, etag_before);
    assert_eq!(status, "ok");
}

async fn new_entries_reach_every_subscriber_on_the_next_poll(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/grow.xml", rss("grow", 0, 3), "application/rss+xml");
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let results = app.subscribe(&alice, &[server.url("/grow.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&alice, 3).await;
    app.subscribe(&bob, &[server.url("/grow.xml")]).await;

    server.set("/grow.xml", rss("grow", 0, 5), "application/rss+xml");
    let actor = app.engine().feed_actor(feed_id).await.unwrap().unwrap();
    actor.send_message(FeedMsg::PollNow).unwrap();
    app.wait_for_timeline(&alice, 5).await;
    app.wait_for_timeline(&bob, 5).await;
    assert_eq!(app.article_count().await, 5);
}

async fn unsubscribe_stops_the_actor_and_removes_the_users_articles(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/leave.xml", rss("leave", 0, 3), "application/rss+xml");
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let results = app.subscribe(&alice, &[server.url("/leave.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&alice, 3).await;
    app.subscribe(&bob, &[server.url("/leave.xml")]).await;

    // Alice leaves: Bob still reads the feed, so its actor stays.
    assert_eq!(app.delete(&format!("/v1/feeds/{feed_id}"), &alice).await.status(), 204);
    assert!(app.timeline(&alice, "status=all").await.is_empty());
    assert_eq!(
        app.get(&format!("/v1/feeds/{feed_id}"), Some(&alice)).await.status(),
        404
    );
    assert!(app.engine().feed_actor(feed_id).await.unwrap().is_some());

    // Bob leaves: the last subscriber, so the actor stops.
    assert_eq!(app.delete(&format!("/v1/feeds/{feed_id}"), &bob).await.status(), 204);
    eventually(5, "the feed actor to stop", || async {
        app.engine().feed_actor(feed_id).await.unwrap().is_none()
    })
    .await;
    assert_eq!(app.engine().running_feed_actors().await.unwrap(), 0);
    // Unsubscribing again is a 404, not an error.
    assert_eq!(app.delete(&format!("/v1/feeds/{feed_id}"), &bob).await.status(), 404);
}

async fn a_broken_feed_records_its_error_and_does_not_hurt_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/good.xml", rss("good", 0, 2), "application/rss+xml");
    server.set("/garbage.xml", "this is not a feed".into(), "text/plain");
    let token = app.user("alice").await;
    let results = app
        .subscribe(
            &token,
            &[
                server.url("/garbage.xml"),
                server.url("/missing.xml"),
                server.url("/good.xml"),
            ],
        )
        .await;
    app.wait_for_timeline(&token, 2).await;
    for result in &results[..2] {
        let feed_id = result["feed_id"].as_i64().unwrap();
        eventually(5, "the error to be recorded", || async {
            let feed: serde_json::Value = app
                .get(&format!("/v1/feeds/{feed_id}"), Some(&token))
                .await
                .json()
                .await
                .unwrap();
            feed["status"] == "error" && feed["error_count"] == 1 && feed["last_error"].is_string()
        })
        .await;
        // The actor survives its feed's errors.
        assert!(app.engine().feed_actor(feed_id).await.unwrap().is_some());
    }
    let missing: serde_json::Value = app
        .get(&format!("/v1/feeds/{}", results[1]["feed_id"]), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missing["last_error"], "the server answered HTTP 404");
    assert!(missing["next_poll_in_seconds"].as_i64().unwrap() > 0);
}

async fn feeds_with_subscribers_get_their_actors_back_after_a_restart(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/a.xml", rss("a", 0, 1), "application/rss+xml");
    server.set("/b.xml", rss("b", 0, 1), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/a.xml"), server.url("/b.xml")])
        .await;
    app.wait_for_timeline(&token, 2).await;
    app.restart().await;
    assert_eq!(app.engine().running_feed_actors().await.unwrap(), 2);
    // Their stored schedule is an hour away: a restart does not poll them again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests("/a.xml"), 1);
}

crate::on_both_backends!(
    register_login_and_subscribe_lead_to_articles_on_the_timeline,
    second_subscriber_to_a_cached_feed_gets_ready_and_its_articles_without_a_fetch,
    subscribing_twice_is_idempotent_and_equivalent_urls_share_one_feed,
    a_restart_creates_no_duplicates,
    a_304_changes_nothing,
    new_entries_reach_every_subscriber_on_the_next_poll,
    unsubscribe_stops_the_actor_and_removes_the_users_articles,
    a_broken_feed_records_its_error_and_does_not_hurt_the_others,
    feeds_with_subscribers_get_their_actors_back_after_a_restart,
);
