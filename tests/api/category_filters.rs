//! Category filters on webhooks and on digest timers, end to end with a receiver inside the test: a filtered
//! webhook gets only its category's new articles; renaming the category carries the filter along, deleting it
//! leaves a filter that matches nothing; a digest filtered to a category lists only that category's unread
//! articles; and the refusals name their field.

use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{
    assert_payload_matches_contract, eventually, feed_server, spawn_app_configured, Backend, TestApp, TestSettings,
};
use crate::webhook_receiver::Receiver;

/// Feeds polled every second, so that new articles arrive while the test waits.
async fn app(backend: Backend) -> TestApp {
    let settings = TestSettings {
        poll_interval_secs: 1,
        ..TestSettings::default()
    };
    spawn_app_configured(backend, settings, |config| config.webhook_retry_base_ms = 1).await
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    body
}

/// The titles of the `article.new` deliveries a receiver accepted, sorted.
fn delivered_titles(receiver: &Receiver) -> Vec<String> {
    let mut titles: Vec<String> = receiver
        .accepted()
        .iter()
        .filter(|received| received.event.as_deref() == Some("article.new"))
        .map(|received| received.json()["data"]["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn a_webhook_filtered_to_a_category_gets_only_its_feeds_articles(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let server = feed_server().await;
    server.set("/tech.xml", rss("tech", 0, 1), "application/rss+xml");
    server.set("/news.xml", rss("news", 0, 1), "application/rss+xml");
    let category = json_of(
        app.post_json("/v1/categories", Some(&token), &json!({"name": "Tech"}))
            .await,
        201,
    )
    .await;
    let category_id = category["id"].as_i64().unwrap();

    let filtered = Receiver::start(&[]).await;
    let everything = Receiver::start(&[]).await;
    let webhook = json_of(
        app.post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({"url": filtered.url, "events": ["article.new"], "filter": {"category": "Tech"}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(webhook["filter"]["category"], "Tech");
    let webhook_path = format!("/v1/webhooks/{}", webhook["id"]);
    json_of(
        app.post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({"url": everything.url, "events": ["article.new"]}),
        )
        .await,
        201,
    )
    .await;

    let subscribed = app
        .subscribe(&token, &[server.url("/tech.xml"), server.url("/news.xml")])
        .await;
    let tech_feed = subscribed[0]["feed_id"].as_i64().unwrap();
    eventually(10, "the unfiltered webhook gets both first articles", || async {
        delivered_titles(&everything).len() == 2
    })
    .await;
    // Neither feed was in the category when their first articles came.
    assert_eq!(delivered_titles(&filtered), Vec::<String>::new());

    json_of(
        app.patch_json(&format!("/v1/feeds/{tech_feed}"), &token, &json!({"category": "Tech"}))
            .await,
        200,
    )
    .await;
    // Renamed before the next articles come: the filter follows the category.
    json_of(
        app.patch_json(
            &format!("/v1/categories/{category_id}"),
            &token,
            &json!({"name": "Technology"}),
        )
        .await,
        200,
    )
    .await;
    let shown = json_of(app.get(&webhook_path, Some(&token)).await, 200).await;
    assert_eq!(shown["filter"]["category"], "Technology");

    server.set("/tech.xml", rss("tech", 0, 2), "application/rss+xml");
    server.set("/news.xml", rss("news", 0, 2), "application/rss+xml");
    eventually(10, "the unfiltered webhook gets both new articles", || async {
        delivered_titles(&everything).len() == 4
    })
    .await;
    eventually(5, "the filtered webhook gets the category's new article", || async {
        !delivered_titles(&filtered).is_empty()
    })
    .await;
    assert_eq!(delivered_titles(&filtered), ["tech 1"]);
    for received in filtered.accepted() {
        assert_payload_matches_contract(&received.json());
        assert_eq!(received.json()["data"]["feed_id"], tech_feed);
    }

    // A deleted category's filter matches nothing, even the feeds that were in it.
    assert_eq!(
        app.delete(&format!("/v1/categories/{category_id}"), &token)
            .await
            .status(),
        204
    );
    let shown = json_of(app.get(&webhook_path, Some(&token)).await, 200).await;
    assert_eq!(shown["filter"]["category"], "Technology");
    server.set("/tech.xml", rss("tech", 0, 3), "application/rss+xml");
    eventually(10, "the unfiltered webhook gets the third article", || async {
        delivered_titles(&everything).len() == 5
    })
    .await;
    assert_eq!(delivered_titles(&filtered), ["tech 1"]);
}

async fn a_digest_filtered_to_a_category_lists_only_its_unread_articles(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let server = feed_server().await;
    server.set("/tech.xml", rss("tech", 0, 2), "application/rss+xml");
    server.set("/news.xml", rss("news", 0, 3), "application/rss+xml");
    let subscribed = app
        .subscribe(&token, &[server.url("/tech.xml"), server.url("/news.xml")])
        .await;
    let tech_feed = subscribed[0]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&token, 5).await;
    json_of(
        app.patch_json(&format!("/v1/feeds/{tech_feed}"), &token, &json!({"category": "Tech"}))
            .await,
        200,
    )
    .await;

    let receiver = Receiver::start(&[]).await;
    let timer = json_of(
        app.post_json(
            "/v1/timers",
            Some(&token),
            &json!({"in": {"seconds": 1}, "target": {"url": receiver.url},
                    "payload": {"kind": "digest", "category": "Tech"}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(timer["payload"]["category"], "Tech");
    eventually(10, "the digest is delivered", || async {
        !receiver.accepted().is_empty()
    })
    .await;
    let body = receiver.accepted()[0].json();
    assert_payload_matches_contract(&body);
    let digest = &body["data"]["digest"];
    assert_eq!(digest["category"], "Tech");
    let mut titles: Vec<&str> = digest["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|article| article["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["tech 0", "tech 1"], "{digest}");
    assert_eq!(digest["count"], 2);
}

async fn category_filters_name_their_field_when_refused(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let other = app.user("bob").await;
    json_of(
        app.post_json("/v1/categories", Some(&other), &json!({"name": "Tech"}))
            .await,
        201,
    )
    .await;
    let receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let cases = [
        // Bob's category is not Alice's.
        (
            "/v1/webhooks",
            json!({"url": url, "events": ["article.new"], "filter": {"category": "Tech"}}),
            "filter.category",
        ),
        (
            "/v1/webhooks",
            json!({"url": url, "events": ["article.new"], "filter": {"category": " "}}),
            "filter.category",
        ),
        (
            "/v1/timers",
            json!({"in": {"seconds": 5}, "target": {"url": url}, "payload": {"kind": "digest", "category": "Tech"}}),
            "payload.category",
        ),
        (
            "/v1/timers",
            json!({"in": {"seconds": 5}, "target": {"url": url}, "payload": {"kind": "id", "category": "Tech"}}),
            "payload.category",
        ),
    ];
    for (path, body, field) in cases {
        let answer = json_of(app.post_json(path, Some(&token), &body).await, 422).await;
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    assert_eq!(
        json_of(app.get("/v1/webhooks", Some(&token)).await, 200).await["webhooks"],
        json!([])
    );
    assert_eq!(
        json_of(app.get("/v1/timers", Some(&token)).await, 200).await["timers"],
        json!([])
    );
}

crate::on_both_backends!(
    a_webhook_filtered_to_a_category_gets_only_its_feeds_articles,
    a_digest_filtered_to_a_category_lists_only_its_unread_articles,
    category_filters_name_their_field_when_refused,
);
