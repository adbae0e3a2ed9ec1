//! Subscription input rules and ownership over HTTP.

use serde_json::{json, Value};

use crate::feed_server::rss;
use crate::helpers::{feed_server, spawn_app, Backend};

async fn one_bad_url_is_invalid_with_a_reason_and_does_not_fail_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/ok.xml", rss("ok", 0, 1), "application/rss+xml");
    let token = app.user("alice").await;
    let results = app
        .subscribe(
            &token,
            &[
                "not a url".into(),
                server.url("/ok.xml"),
                "ftp://example.com/feed".into(),
                "".into(),
            ],
        )
        .await;
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["status"], "invalid");
    assert_eq!(results[0]["url"], "not a url");
    assert!(results[0]["error"].as_str().unwrap().contains("could not be parsed"));
    assert_eq!(results[0]["feed_id"], Value::Null);
    assert_eq!(results[1]["status"], "pending");
    assert!(results[1]["feed_id"].is_i64());
    assert_eq!(results[2]["status"], "invalid");
    assert!(results[2]["error"].as_str().unwrap().contains("http and https"));
    assert_eq!(results[3]["status"], "invalid");
    app.wait_for_timeline(&token, 1).await;
}

async fn subscribe_needs_between_one_and_a_hundred_urls(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    for urls in [vec![], vec!["https://example.com/feed".to_owned(); 101]] {
        let response = app.post_json("/v1/feeds", Some(&token), &json!({ "urls": urls })).await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "urls");
    }
    let missing_field = app.post_json("/v1/feeds", Some(&token), &json!({"url": "x"})).await;
    assert_eq!(missing_field.status(), 400);
}

async fn another_users_feed_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/mine.xml", rss("mine", 0, 1), "application/rss+xml");
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    let results = app.subscribe(&alice, &[server.url("/mine.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let response = app.get(&format!("/v1/feeds/{feed_id}"), Some(&mallory)).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(
        app.delete(&format!("/v1/feeds/{feed_id}"), &mallory).await.status(),
        404
    );
    // Alice's subscription is untouched.
    assert_eq!(
        app.get(&format!("/v1/feeds/{feed_id}"), Some(&alice)).await.status(),
        200
    );
    assert_eq!(app.get("/v1/feeds/abc", Some(&alice)).await.status(), 400);
}

async fn private_addresses_are_refused_when_private_networks_are_not_allowed(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.allow_private_networks = false;
    app.restart().await;
    let token = app.user("alice").await;
    let results = app
        .subscribe(
            &token,
            &[
                "http://127.0.0.1:9/feed".into(),
                "http://[::1]/feed".into(),
                "http://localhost/feed".into(),
                "http://169.254.169.254/latest".into(),
            ],
        )
        .await;
    for result in &results {
        assert_eq!(result["status"], "invalid", "{result}");
        assert!(
            result["error"].as_str().unwrap().contains("private or reserved"),
            "{result}"
        );
    }
    let feeds: Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    assert!(feeds["feeds"].as_array().unwrap().is_empty());
}

crate::on_both_backends!(
    one_bad_url_is_invalid_with_a_reason_and_does_not_fail_the_others,
    subscribe_needs_between_one_and_a_hundred_urls,
    another_users_feed_is_not_found,
    private_addresses_are_refused_when_private_networks_are_not_allowed,
);
