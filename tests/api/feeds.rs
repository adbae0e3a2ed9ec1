//! Subscription input rules, ownership and the paged listing over HTTP.

use serde_json::{json, Value};

use crate::helpers::{feed_server, spawn_app, Backend};
use syndic_testkit::documents::titled::rss;

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

async fn the_feed_list_pages_in_subscription_order_until_a_null_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let urls: Vec<String> = (0..5)
        .map(|n| {
            let path = format!("/feed{n}.xml");
            server.set(&path, rss(&format!("feed{n}"), 0, 1), "application/rss+xml");
            server.url(&path)
        })
        .collect();
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    // One request subscribes at one instant, so the order is by feed id: request order for new feeds.
    let subscribed: Vec<Value> = app
        .subscribe(&alice, &urls)
        .await
        .iter()
        .map(|result| result["feed_id"].clone())
        .collect();
    app.subscribe(&bob, &urls[..1]).await;

    let mut listed = Vec::new();
    let mut page_sizes = Vec::new();
    let mut path = "/v1/feeds?limit=2".to_owned();
    for _ in 0..10 {
        let response = app.get(&path, Some(&alice)).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: Value = response.json().await.unwrap();
        let feeds = page["feeds"].as_array().unwrap();
        page_sizes.push(feeds.len());
        listed.extend(feeds.iter().map(|feed| feed["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/feeds?limit=2&cursor={cursor}"),
            None => {
                assert_eq!(page["next_cursor"], Value::Null, "always present");
                break;
            }
        }
    }
    assert_eq!(listed, subscribed);
    assert_eq!(page_sizes, vec![2, 2, 1]);

    let everything: Value = app.get("/v1/feeds", Some(&alice)).await.json().await.unwrap();
    assert_eq!(
        everything["feeds"].as_array().unwrap().len(),
        5,
        "the default page holds them all"
    );
    assert_eq!(everything["next_cursor"], Value::Null);
    let bobs: Value = app.get("/v1/feeds?limit=500", Some(&bob)).await.json().await.unwrap();
    assert_eq!(bobs["feeds"].as_array().unwrap().len(), 1);
}

async fn bad_feed_list_parameters_are_client_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    for (query, status, field) in [
        ("limit=0", 422, Some("limit")),
        ("limit=501", 422, Some("limit")),
        ("limit=-3", 422, Some("limit")),
        ("cursor=garbage", 422, Some("cursor")),
        ("cursor=", 422, Some("cursor")),
        ("limit=abc", 400, None),
    ] {
        let response = app.get(&format!("/v1/feeds?{query}"), Some(&token)).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
        let body: Value = response.json().await.unwrap();
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{query}");
            assert_eq!(body["error"]["code"], "validation_failed", "{query}");
        }
        assert!(body["error"]["message"].is_string(), "{query}");
    }
    assert_eq!(app.get("/v1/feeds?limit=500", Some(&token)).await.status(), 200);
}

crate::on_both_backends!(
    one_bad_url_is_invalid_with_a_reason_and_does_not_fail_the_others,
    subscribe_needs_between_one_and_a_hundred_urls,
    another_users_feed_is_not_found,
    private_addresses_are_refused_when_private_networks_are_not_allowed,
    the_feed_list_pages_in_subscription_order_until_a_null_cursor,
    bad_feed_list_parameters_are_client_errors,
);
