//! Webhooks end to end, with a receiver inside the test: signed deliveries of new articles, retries until a
//! success, `Retry-After` honoured, dead deliveries and redelivery, a webhook disabled by fifty dead deliveries,
//! the cap of 100 per user, refusals of private addresses and bad input, and another user's webhooks staying out
//! of reach.

use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{
    assert_payload_matches_contract, eventually, feed_server, spawn_app_configured, Backend, FeedServer, TestApp,
    TestSettings,
};
use crate::sse::SseReader;
use crate::webhook_receiver::Receiver;

/// An app whose delivery retries follow each other within milliseconds (1 ms base, ×4 each time).
pub async fn app(backend: Backend) -> TestApp {
    spawn_app_configured(backend, TestSettings::default(), |config| {
        config.webhook_retry_base_ms = 1;
    })
    .await
}

/// Creates a webhook for `events`; returns its id and secret.
async fn create(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (i64, String) {
    let response = app
        .post_json("/v1/webhooks", Some(token), &json!({ "url": url, "events": events }))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (
        body["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Serves a feed of `count` articles and subscribes the user to it.
async fn subscribe_to_news(app: &TestApp, token: &str, count: usize) -> FeedServer {
    let server = feed_server().await;
    server.set("/news.xml", rss("news", 0, count), "application/rss+xml");
    app.subscribe(token, &[server.url("/news.xml")]).await;
    server
}

async fn deliveries(app: &TestApp, token: &str, webhook: i64, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/v1/webhooks/{webhook}/deliveries{query}"), Some(token))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["deliveries"].as_array().unwrap().clone()
}

fn attempt_codes(delivery: &Value) -> Vec<i64> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["status_code"].as_i64().unwrap_or(0))
        .collect()
}

async fn new_articles_are_delivered_signed(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    let (webhook, secret) = create(&app, &token, &receiver.url, &["article.new"]).await;
    let _server = subscribe_to_news(&app, &token, 2).await;

    eventually(10, "both articles are delivered", || async {
        receiver.accepted().len() == 2
    })
    .await;
    let mut titles = Vec::new();
    for received in receiver.received() {
        assert_eq!(received.event.as_deref(), Some("article.new"));
        assert!(received.signed_with(&secret), "the signature verifies with the secret");
        assert!(!received.signed_with("whsec_other"), "and with no other secret");
        let body = received.json();
        assert_payload_matches_contract(&body);
        assert_eq!(
            body["id"].as_str(),
            received.delivery.as_deref(),
            "X-Syndic-Delivery is the body's id"
        );
        assert_eq!(body["event"], "article.new");
        let data = &body["data"];
        assert!(data["id"].is_i64() && data["feed_id"].is_i64() && data["published"].is_string());
        assert!(data["url"].is_string());
        assert!(data.get("content").is_none(), "no content: the payload stays small");
        titles.push(data["title"].as_str().unwrap().to_owned());
    }
    titles.sort();
    assert_eq!(titles, ["news 0", "news 1"]);

    // The receiver answers before the engine records the attempt: wait for both records.
    let (app_ref, token_ref) = (&app, token.as_str());
    eventually(10, "both deliveries are recorded ok", || async move {
        deliveries(app_ref, token_ref, webhook, "?status=ok").await.len() == 2
    })
    .await;
    let delivered = deliveries(&app, &token, webhook, "?status=ok").await;
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|delivery| attempt_codes(delivery) == [200]));
    assert!(delivered[0]["attempts"][0]["latency_ms"].is_i64());
    assert!(deliveries(&app, &token, webhook, "?status=pending").await.is_empty());
}

async fn three_failures_then_one_successful_delivery(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[500, 503, 502]).await;
    let (webhook, _) = create(&app, &token, &receiver.url, &["article.new"]).await;
    let _server = subscribe_to_news(&app, &token, 1).await;

    eventually(10, "the fourth attempt succeeds", || async {
        receiver.accepted().len() == 1
    })
    .await;
    // Nothing more is sent once it succeeded.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|received| received.status).collect::<Vec<_>>(),
        [500, 503, 502, 200]
    );
    let ids: std::collections::HashSet<_> = received.iter().map(|received| received.delivery.clone()).collect();
    assert_eq!(ids.len(), 1, "every attempt is of the one delivery");
    let listed = deliveries(&app, &token, webhook, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "ok");
    assert_eq!(attempt_codes(&listed[0]), [500, 503, 502, 200]);
}

async fn an_always_failing_receiver_ends_dead_and_can_be_redelivered(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    receiver.always(500);
    let (webhook, _) = create(&app, &token, &receiver.url, &["article.new"]).await;
    let _server = subscribe_to_news(&app, &token, 1).await;

    let app_ref = &app;
    let token_ref = token.as_str();
    eventually(30, "the delivery is dead after 8 attempts", || async move {
        deliveries(app_ref, token_ref, webhook, "?status=dead").await.len() == 1
    })
    .await;
    assert_eq!(receiver.received().len(), 8, "eight attempts, then no more");
    let dead = deliveries(&app, &token, webhook, "?status=dead").await;
    assert_eq!(attempt_codes(&dead[0]), [500; 8]);
    assert!(dead[0]["next_attempt_at"].is_null());

    receiver.always(200);
    let id = dead[0]["id"].as_str().unwrap();
    let response = app
        .post_json(
            &format!("/v1/webhooks/{webhook}/deliveries/{id}/redeliver"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 202);
    eventually(10, "the redelivery succeeds", || async {
        receiver.accepted().len() == 1
    })
    .await;
    // The receiver answers before the engine records the attempt: wait for the record.
    eventually(10, "the redelivery is recorded ok", || async move {
        deliveries(app_ref, token_ref, webhook, "?status=ok").await.len() == 1
    })
    .await;
    let ok = deliveries(&app, &token, webhook, "?status=ok").await;
    assert_eq!(ok.len(), 1);
    assert_eq!(
        ok[0]["attempts"].as_array().unwrap().len(),
        9,
        "the redelivery's attempt follows the others"
    );
}

async fn fifty_dead_deliveries_in_a_row_disable_the_webhook_and_the_event_stream_says_so(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    receiver.always(500);
    let (webhook, _) = create(&app, &token, &receiver.url, &["article.new"]).await;
    let mut stream = SseReader::new(
        app.client
            .get(app.url("/v1/events?types=webhook.disabled"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    );
    // Fifty articles: fifty deliveries, each dead after its eight attempts.
    let _server = subscribe_to_news(&app, &token, 50).await;

    let app_ref = &app;
    let token_ref = token.as_str();
    eventually(120, "the webhook is disabled", || async move {
        let body: Value = app_ref
            .get(&format!("/v1/webhooks/{webhook}"), Some(token_ref))
            .await
            .json()
            .await
            .unwrap();
        body["enabled"] == false
    })
    .await;
    let event = stream.expect().await;
    assert_eq!(event.event, "webhook.disabled");
    assert_eq!(event.data["webhook_id"], webhook);
    assert!(
        event.data["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("50")),
        "{}",
        event.data
    );
    let body: Value = app
        .get(&format!("/v1/webhooks/{webhook}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(body["disabled_reason"].as_str().is_some(), "{body}");
    assert_eq!(
        deliveries(&app, &token, webhook, "?status=dead&limit=100").await.len(),
        50
    );
    assert_eq!(receiver.received().len(), 50 * 8, "every attempt was made, and no more");

    // Turned back on, it says nothing of the reason any more.
    let response = app
        .patch_json(&format!("/v1/webhooks/{webhook}"), &token, &json!({ "enabled": true }))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["enabled"].clone(), body["disabled_reason"].clone()),
        (json!(true), Value::Null)
    );
}

async fn a_user_has_at_most_a_hundred_webhooks(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    let mut first = None;
    for _ in 0..100 {
        let (id, _) = create(&app, &token, &receiver.url, &["feed.status"]).await;
        first.get_or_insert(id);
    }
    let refused = app
        .post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({ "url": receiver.url, "events": ["feed.status"] }),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("100")),
        "{error}"
    );
    // Another user is not counted against alice, and a deleted webhook frees its place.
    let bob = app.user("bob").await;
    create(&app, &bob, &receiver.url, &["feed.status"]).await;
    let first = first.expect("a webhook was made");
    let deleted = app.delete(&format!("/v1/webhooks/{first}"), &token).await;
    assert_eq!(deleted.status(), 204);
    create(&app, &token, &receiver.url, &["feed.status"]).await;
}

async fn retry_after_on_429_and_503_is_honoured(backend: Backend) {
    // The retry base is 1 ms: without the receiver's Retry-After, the retries would follow within milliseconds.
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[503, 429]).await;
    receiver.retry_after("2");
    create(&app, &token, &receiver.url, &["article.new"]).await;
    let _server = subscribe_to_news(&app, &token, 1).await;

    eventually(30, "the delivery succeeds after two refusals", || async {
        receiver.accepted().len() == 1
    })
    .await;
    let received = receiver.received();
    let statuses: Vec<u16> = received.iter().map(|received| received.status).collect();
    assert_eq!(statuses, [503, 429, 200]);
    for pair in received.windows(2) {
        let waited = pair[1].at - pair[0].at;
        assert!(
            waited >= std::time::Duration::from_millis(1_800),
            "the retry came {waited:?} after a Retry-After of 2 s"
        );
    }
}

async fn private_address_webhooks_are_refused(backend: Backend) {
    // The tests' default allows loopback for their servers; this app refuses private addresses, as production does.
    let app = spawn_app_configured(backend, TestSettings::default(), |config| {
        config.allow_private_networks = false;
    })
    .await;
    let token = app.user("alice").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://localhost:9/hook",
    ] {
        let response = app
            .post_json(
                "/v1/webhooks",
                Some(&token),
                &json!({ "url": url, "events": ["article.new"] }),
            )
            .await;
        assert_eq!(response.status(), 422, "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "url", "{url}: {body}");
    }
    let listed: Value = app.get("/v1/webhooks", Some(&token)).await.json().await.unwrap();
    assert_eq!(listed["webhooks"], json!([]));
}

async fn route_errors_name_their_field_and_other_users_webhooks_are_not_found(backend: Backend) {
    let app = app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let receiver = Receiver::start(&[]).await;
    for (body, field) in [
        (json!({ "url": receiver.url, "events": ["share.deleted"] }), "events"),
        (
            json!({ "url": receiver.url, "events": ["article.new", "webhook.disabled"] }),
            "events",
        ),
        (json!({ "url": receiver.url, "events": [] }), "events"),
        (json!({ "url": "not a url", "events": ["article.new"] }), "url"),
        (
            json!({ "url": "ftp://example.com/hook", "events": ["article.new"] }),
            "url",
        ),
        (
            json!({ "url": receiver.url, "events": ["article.new"], "filter": { "feed_id": 999 } }),
            "filter.feed_id",
        ),
        (
            json!({ "url": receiver.url, "events": ["article.new"], "filter": { "category": "news" } }),
            "filter.category",
        ),
    ] {
        let response = app.post_json("/v1/webhooks", Some(&alice), &body).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }

    let (webhook, _) = create(&app, &alice, &receiver.url, &["article.new", "feed.status"]).await;
    let path = format!("/v1/webhooks/{webhook}");
    assert_eq!(app.get(&path, Some(&bob)).await.status(), 404);
    assert_eq!(
        app.patch_json(&path, &bob, &json!({ "enabled": false })).await.status(),
        404
    );
    assert_eq!(app.delete(&path, &bob).await.status(), 404);
    let rotate = format!("{path}/rotate-secret");
    assert_eq!(app.post_json(&rotate, Some(&bob), &json!({})).await.status(), 404);
    assert_eq!(app.get(&format!("{path}/deliveries"), Some(&bob)).await.status(), 404);
    let listed: Value = app.get("/v1/webhooks", Some(&bob)).await.json().await.unwrap();
    assert_eq!(listed["webhooks"], json!([]));

    let patched = app.patch_json(&path, &alice, &json!({ "events": ["nope"] })).await;
    assert_eq!(patched.status(), 422);
    let patched: Value = app
        .patch_json(&path, &alice, &json!({ "enabled": false }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["events"], json!(["article.new", "feed.status"]));
    let listed: Value = app.get("/v1/webhooks", Some(&alice)).await.json().await.unwrap();
    assert_eq!(listed["webhooks"][0]["id"], webhook);
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(app.delete(&path, &alice).await.status(), 204);
    assert_eq!(app.get(&path, Some(&alice)).await.status(), 404);
}

async fn a_rotated_secret_signs_the_next_deliveries(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    let (webhook, old) = create(&app, &token, &receiver.url, &["article.new"]).await;
    let response = app
        .post_json(
            &format!("/v1/webhooks/{webhook}/rotate-secret"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let new = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    let _server = subscribe_to_news(&app, &token, 1).await;
    eventually(10, "the article is delivered", || async {
        receiver.accepted().len() == 1
    })
    .await;
    let received = &receiver.received()[0];
    assert!(received.signed_with(&new), "signed with the new secret");
    assert!(!received.signed_with(&old), "not with the old one");
}

async fn feed_status_and_job_events_are_delivered(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let receiver = Receiver::start(&[]).await;
    let (_, secret) = create(&app, &token, &receiver.url, &["feed.status", "job.done"]).await;
    let server = feed_server().await;
    server.set_status("/broken.xml", 500, &[]);
    app.subscribe(&token, &[server.url("/broken.xml")]).await;
    eventually(10, "the feed's error is delivered", || async {
        receiver
            .accepted()
            .iter()
            .any(|received| received.event.as_deref() == Some("feed.status"))
    })
    .await;
    let status = receiver.accepted()[0].clone();
    assert_payload_matches_contract(&status.json());
    assert!(status.signed_with(&secret));
    assert_eq!(status.json()["data"]["status"], "error");
    assert!(status.json()["data"]["feed_id"].is_i64());

    let response = app.post_json("/v1/feeds/refresh", Some(&token), &json!({})).await;
    assert_eq!(response.status(), 202);
    let job = response.json::<Value>().await.unwrap()["id"].clone();
    eventually(10, "the job's end is delivered", || async {
        receiver
            .accepted()
            .iter()
            .any(|received| received.event.as_deref() == Some("job.done"))
    })
    .await;
    let done = receiver
        .accepted()
        .into_iter()
        .find(|received| received.event.as_deref() == Some("job.done"))
        .unwrap();
    assert_payload_matches_contract(&done.json());
    assert_eq!(done.json()["data"]["job_id"], job);
    assert!(
        receiver
            .received()
            .iter()
            .all(|received| received.event.as_deref() != Some("article.new")),
        "no event the webhook did not ask for"
    );
}

crate::on_both_backends!(
    feed_status_and_job_events_are_delivered,
    new_articles_are_delivered_signed,
    three_failures_then_one_successful_delivery,
    an_always_failing_receiver_ends_dead_and_can_be_redelivered,
    fifty_dead_deliveries_in_a_row_disable_the_webhook_and_the_event_stream_says_so,
    a_user_has_at_most_a_hundred_webhooks,
    retry_after_on_429_and_503_is_honoured,
    private_address_webhooks_are_refused,
    route_errors_name_their_field_and_other_users_webhooks_are_not_found,
    a_rotated_secret_signs_the_next_deliveries,
);
