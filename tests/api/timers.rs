//! Timers end to end, with a receiver inside the test: a one-shot timer fires within a second of its instant
//! through a restart; a digest carries the caller's unread articles of one feed; firings missed while the
//! engine was down arrive once, `late`; and the routes' error paths.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use poem::web::Json;
use poem::{handler, EndpointExt, Route};
use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{assert_payload_matches_contract, eventually, feed_server, spawn_app, Backend, TestApp};

/// One POST the receiver got, and when.
#[derive(Debug, Clone)]
struct Received {
    at: DateTime<Utc>,
    headers: Vec<(String, String)>,
    body: Value,
}

/// A real HTTP receiver on 127.0.0.1 that answers 200 to every POST and keeps what it got.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    url: String,
}

#[handler]
fn receive(request: &poem::Request, body: Json<Value>, log: poem::web::Data<&Arc<Mutex<Vec<Received>>>>) {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    log.lock().unwrap().push(Received {
        at: Utc::now(),
        headers,
        body: body.0,
    });
}

impl Receiver {
    async fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let endpoint = Route::new().at("/hook", poem::post(receive)).data(received.clone());
        let address = syndic_testkit::feed_server::serve(0, endpoint).await.unwrap();
        Receiver {
            received,
            url: format!("http://{address}/hook"),
        }
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Received> {
        eventually(seconds, "the receiver gets the deliveries", || async {
            self.all().len() >= count
        })
        .await;
        self.all()
    }
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json("/v1/timers", Some(token), &body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("an instant"))
        .unwrap()
        .with_timezone(&Utc)
}

async fn a_one_shot_timer_fires_within_a_second_of_its_instant_through_a_restart(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let token = app.user("alice").await;
    let timer = create(
        &app,
        &token,
        json!({"name": "tea", "in": {"seconds": 4}, "target": {"url": receiver.url}}),
    )
    .await;
    assert!(timer["secret"].as_str().is_some_and(|secret| !secret.is_empty()));
    assert!(timer["webhook_id"].as_i64().is_some());
    assert_eq!(timer["time_left_seconds"], 4);
    let due = instant(&timer["next_fire_at"]);

    app.restart().await;
    let received = receiver.wait_for(1, 10).await;
    let lateness = received[0].at - due;
    assert!(
        lateness >= chrono::Duration::zero() && lateness < chrono::Duration::seconds(1),
        "fired {lateness} after its instant"
    );
    let body = &received[0].body;
    assert_payload_matches_contract(body);
    assert_eq!(body["event"], "timer.fired");
    assert_eq!(body["data"]["id"], timer["id"]);
    assert_eq!(body["data"]["late"], false);
    assert_eq!(instant(&body["data"]["scheduled_for"]), due);
    let signature = received[0]
        .headers
        .iter()
        .find(|(name, _)| name == "x-syndic-signature");
    assert!(signature.is_some_and(|(_, value)| value.starts_with("sha256=")));

    let id = timer["id"].as_i64().unwrap();
    let shown: Value = app
        .get(&format!("/v1/timers/{id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "done");
    assert_eq!(shown["time_left_seconds"], Value::Null);
    assert_eq!(shown["fire_count"], 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 1, "a one-shot timer fires once");
}

async fn a_digest_timer_delivers_the_callers_unread_articles_of_its_feed(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let receiver = Receiver::start().await;
    let token = app.user("alice").await;
    let wanted = server.url("/wanted.xml");
    let other = server.url("/other.xml");
    server.set("/wanted.xml", rss("Wanted", 1, 3), "application/rss+xml");
    server.set("/other.xml", rss("Other", 1, 2), "application/rss+xml");
    let subscribed = app.subscribe(&token, &[wanted.clone(), other]).await;
    let feed_id = subscribed[0]["feed_id"].as_i64().unwrap();
    let timeline = app.wait_for_timeline(&token, 5).await;
    let of_feed: Vec<&Value> = timeline
        .iter()
        .filter(|article| article["feed_id"] == feed_id)
        .collect();
    let read = of_feed[0]["id"].as_i64().unwrap();
    let response = app
        .patch_json(&format!("/v1/articles/{read}"), &token, &json!({"read": true}))
        .await;
    assert_eq!(response.status(), 200);

    let timer = create(
        &app,
        &token,
        json!({"in": {"seconds": 1}, "target": {"url": receiver.url},
               "payload": {"kind": "digest", "feed_id": feed_id}}),
    )
    .await;
    assert_eq!(timer["payload"]["kind"], "digest");
    let received = receiver.wait_for(1, 10).await;
    assert_payload_matches_contract(&received[0].body);
    let digest = &received[0].body["data"]["digest"];
    let mut delivered: Vec<i64> = digest["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|article| article["id"].as_i64().unwrap())
        .collect();
    delivered.sort();
    let mut unread: Vec<i64> = of_feed
        .iter()
        .map(|article| article["id"].as_i64().unwrap())
        .filter(|id| *id != read)
        .collect();
    unread.sort();
    assert_eq!(delivered, unread, "the feed's unread articles, and only those");
    assert_eq!(digest["count"], 2);
    assert_eq!(digest["more"], false);
}

async fn firings_missed_while_the_engine_was_down_arrive_once_marked_late(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let token = app.user("alice").await;
    let every = create(&app, &token, json!({"every": "1m", "target": {"url": receiver.url}})).await;
    let once = create(
        &app,
        &token,
        json!({"in": {"hours": 1}, "target": {"url": receiver.url}}),
    )
    .await;
    app.stop().await;
    // Down for an hour: sixty minutes of the repeating timer, and the one-shot one's instant, were missed.
    let down_since = Utc::now() - chrono::Duration::hours(1);
    app.database.move_timers_to(down_since).await;
    app.restart().await;

    let received = receiver.wait_for(2, 10).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let received_later = receiver.all();
    assert_eq!(received_later.len(), 2, "one firing each, not one per missed period");
    for delivery in &received {
        assert_eq!(delivery.body["data"]["late"], true, "{}", delivery.body);
        let scheduled_for = instant(&delivery.body["data"]["scheduled_for"]);
        assert!(
            (scheduled_for - down_since).num_milliseconds().abs() < 1,
            "{scheduled_for}"
        );
    }
    let ids: Vec<&Value> = received.iter().map(|delivery| &delivery.body["data"]["id"]).collect();
    assert!(ids.contains(&&every["id"]) && ids.contains(&&once["id"]));
    let id = every["id"].as_i64().unwrap();
    let shown: Value = app
        .get(&format!("/v1/timers/{id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "active");
    assert!(instant(&shown["next_fire_at"]) > Utc::now());
    assert_eq!(shown["fire_count"], 1);
}

async fn bad_input_is_422_naming_the_field_and_other_users_timers_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let url = "http://127.0.0.1:9/hook";
    let cases = [
        (json!({"in": {"hours": -1}, "target": {"url": url}}), "in.hours"),
        (json!({"in": {"seconds": 0}, "target": {"url": url}}), "in"),
        (json!({"at": "2020-01-01T00:00:00Z", "target": {"url": url}}), "at"),
        (json!({"at": "soon", "target": {"url": url}}), "at"),
        (
            json!({"every": "1d", "timezone": "Mars/Olympus", "target": {"url": url}}),
            "timezone",
        ),
        (json!({"cron": "61 * * * *", "target": {"url": url}}), "cron"),
        (json!({"every": "fortnightly", "target": {"url": url}}), "every"),
        (
            json!({"every": "1d", "at_time": "8am", "target": {"url": url}}),
            "at_time",
        ),
        (json!({"target": {"url": url}}), "schedule"),
        (
            json!({"in": {"seconds": 5}, "cron": "* * * * *", "target": {"url": url}}),
            "schedule",
        ),
        (json!({"in": {"seconds": 5}, "target": {}}), "target"),
        (
            json!({"in": {"seconds": 5}, "target": {"webhook_id": 999_999}}),
            "target.webhook_id",
        ),
        (
            json!({"in": {"seconds": 5}, "target": {"url": url}, "payload": {"kind": "digest", "feed_id": 42}}),
            "payload.feed_id",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_json("/v1/timers", Some(&alice), &body).await;
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            (status.as_u16(), answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{body}: {answer}"
        );
    }

    let timer = create(
        &app,
        &alice,
        json!({"every": "1d", "at_time": "08:00", "timezone": "Europe/Paris",
                                             "target": {"url": url}}),
    )
    .await;
    let path = format!("/v1/timers/{}", timer["id"]);
    assert_eq!(app.get(&path, Some(&bob)).await.status(), 404);
    assert_eq!(
        app.patch_json(&path, &bob, &json!({"enabled": false})).await.status(),
        404
    );
    assert_eq!(app.delete(&path, &bob).await.status(), 404);
    let listed: Value = app.get("/v1/timers", Some(&bob)).await.json().await.unwrap();
    assert_eq!(listed["timers"], json!([]));

    let response = app.patch_json(&path, &alice, &json!({"every": "0d"})).await;
    assert_eq!(response.status(), 422);
    let paused: Value = app
        .patch_json(&path, &alice, &json!({"enabled": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused["status"], "paused");
    let listed: Value = app.get("/v1/timers", Some(&alice)).await.json().await.unwrap();
    assert_eq!(listed["timers"][0]["id"], timer["id"]);
    assert_eq!(app.delete(&path, &alice).await.status(), 204);
    assert_eq!(app.get(&path, Some(&alice)).await.status(), 404);
}

crate::on_both_backends!(
    a_one_shot_timer_fires_within_a_second_of_its_instant_through_a_restart,
    a_digest_timer_delivers_the_callers_unread_articles_of_its_feed,
    firings_missed_while_the_engine_was_down_arrive_once_marked_late,
    bad_input_is_422_naming_the_field_and_other_users_timers_are_404,
);
