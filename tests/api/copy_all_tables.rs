//! `syndic copy` loses nothing: an account that uses every feature reads the same through the API after a copy
//! either way between the backends, its old refresh token and API key still sign in, search finds its
//! articles, new rows get fresh ids, and every table of the schema is either copied or left out for a reason.

use serde_json::{json, Value};
use syndic::copy::copy_between;
use syndic_actors::store::transfer::Table;
use syndic_testkit::api_client::PASSWORD;
use syndic_testkit::documents::titled::rss;

use crate::helpers::{eventually, feed_server, spawn_app_configured, Backend, TestApp, TestDatabase, TestSettings};
use crate::icons::{atom_with_icon, gif};
use crate::webhook_receiver::Receiver;

/// Fields that depend on the time they are read at. Poll times too: the refresh job's polls may still land
/// while the first snapshot is read (the older copy test compares poll state with no job running).
const MOMENTARY: [&str; 4] = [
    "next_poll_in_seconds",
    "time_left_seconds",
    "last_polled_at",
    "next_poll_at",
];

fn without_momentary(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for name in MOMENTARY {
                fields.remove(name);
            }
            fields.values_mut().for_each(without_momentary);
        }
        Value::Array(items) => items.iter_mut().for_each(without_momentary),
        _ => {}
    }
}

async fn body(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let mut value: Value = response.json().await.unwrap();
    without_momentary(&mut value);
    value
}

/// Everything the API shows of alice's account and bob's notifications, path by path.
async fn snapshot(app: &TestApp, alice: &str, bob: &str, icon_feed: i64, webhook: i64) -> Vec<(String, Value)> {
    let mut views = Vec::new();
    for path in [
        "/v1/me".to_owned(),
        "/v1/feeds".to_owned(),
        "/v1/categories".to_owned(),
        "/v1/tags".to_owned(),
        "/v1/articles?status=all".to_owned(),
        "/v1/articles?q=copied".to_owned(),
        "/v1/sessions".to_owned(),
        "/v1/api-keys".to_owned(),
        "/v1/friends".to_owned(),
        "/v1/friends/requests".to_owned(),
        "/v1/shares/sent".to_owned(),
        "/v1/webhooks".to_owned(),
        format!("/v1/webhooks/{webhook}/deliveries"),
        "/v1/timers".to_owned(),
        "/v1/jobs".to_owned(),
    ] {
        let value = body(app, &path, alice).await;
        views.push((path, value));
    }
    views.push((
        "bob /v1/notifications".to_owned(),
        body(app, "/v1/notifications", bob).await,
    ));
    let icon = app.get(&format!("/v1/feeds/{icon_feed}/icon"), Some(alice)).await;
    assert_eq!(icon.status(), 200, "the feed's icon");
    views.push(("icon".to_owned(), json!(icon.bytes().await.unwrap().to_vec())));
    views
}

async fn created_id(app: &TestApp, path: &str, token: &str, request: Value) -> i64 {
    let response = app.post_json(path, Some(token), &request).await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert!(status == 201 || status == 200, "POST {path}: {status} {answer}");
    answer["id"]
        .as_i64()
        .or_else(|| answer["share"]["id"].as_i64())
        .unwrap()
}

fn highest_id(list: &Value) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["id"].as_i64())
        .max()
        .unwrap_or(0)
}

async fn an_account_using_every_feature_survives_a_copy(from: Backend, to: Backend) {
    let configure = |config: &mut syndic::Config| config.webhook_retry_base_ms = 1;
    let mut source = spawn_app_configured(from, TestSettings::default(), configure).await;
    let server = feed_server().await;
    server.set("/one.xml", rss("copied", 0, 3), "application/rss+xml");
    server.set("/icon.xml", atom_with_icon("logo.gif"), "application/atom+xml");
    server.set("/logo.gif", gif("copied"), "image/gif");
    let receiver = Receiver::start(&[]).await;
    receiver.always(500);
    let alice = source.user("alice").await;
    let bob = source.user("bob").await;
    let carol = source.user("carol").await;

    // A webhook with a feed-independent filter whose every delivery ends dead.
    let webhook = created_id(
        &source,
        "/v1/webhooks",
        &alice,
        json!({"url": receiver.url, "events": ["article.new"]}),
    )
    .await;
    let results = source
        .subscribe(&alice, &[server.url("/one.xml"), server.url("/icon.xml")])
        .await;
    let feed = results[0]["feed_id"].as_i64().unwrap();
    let icon_feed = results[1]["feed_id"].as_i64().unwrap();
    let articles = source.wait_for_timeline(&alice, 4).await;
    let first = articles.iter().find(|article| article["feed_id"] == feed).unwrap()["id"]
        .as_i64()
        .unwrap();
    eventually(30, "every delivery is dead", || async {
        let all = body(&source, &format!("/v1/webhooks/{webhook}/deliveries"), &alice).await;
        let all = all["deliveries"].as_array().unwrap().clone();
        !all.is_empty() && all.iter().all(|delivery| delivery["status"] == "dead")
    })
    .await;
    eventually(15, "the feed's icon was looked for", || async {
        source.database.store.icon_looked_for(icon_feed).await.unwrap()
    })
    .await;

    // Organising: an empty category, and one holding the feed with an own title and tags.
    created_id(&source, "/v1/categories", &alice, json!({"name": "Empty"})).await;
    let patched = source
        .patch_json(
            &format!("/v1/feeds/{feed}"),
            &alice,
            &json!({"category": "Kept", "title": "Mine", "tags": ["one", "two"]}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let marked = source
        .patch_json(
            &format!("/v1/articles/{first}"),
            &alice,
            &json!({"starred": true, "read": true}),
        )
        .await;
    assert_eq!(marked.status(), 200);

    // A second session with a refresh token, and an API key.
    let login: Value = source
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"identifier": "alice", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = login["refresh_token"].clone();
    let key: Value = source
        .post_json("/v1/api-keys", Some(&alice), &json!({"name": "reader"}))
        .await
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();

    // A profile, a friend, a pending request, and two shares, one seen.
    let profile = source
        .patch_json(
            "/v1/me",
            &alice,
            &json!({"display_name": "Alice A", "visibility": {"display_name": "friends"}}),
        )
        .await;
    assert_eq!(profile.status(), 200);
    let asked = source
        .post_json("/v1/friends/requests", Some(&alice), &json!({"username": "bob"}))
        .await;
    assert_eq!(asked.status(), 201);
    let accepted = source
        .post_json("/v1/friends/requests/alice/accept", Some(&bob), &Value::Null)
        .await;
    assert_eq!(accepted.status(), 204);
    let pending = source
        .post_json("/v1/friends/requests", Some(&carol), &json!({"username": "alice"}))
        .await;
    assert_eq!(pending.status(), 201);
    let seen = created_id(
        &source,
        "/v1/shares",
        &alice,
        json!({"article_id": first, "note": "look"}),
    )
    .await;
    created_id(
        &source,
        "/v1/shares",
        &alice,
        json!({"url": "https://example.com/unseen", "title": "Unseen"}),
    )
    .await;
    let marked_seen = source
        .post_json("/v1/notifications/seen", Some(&bob), &json!({"ids": [seen]}))
        .await;
    assert_eq!(marked_seen.status(), 200);

    // A digest timer far in the future, and a finished job.
    created_id(
        &source,
        "/v1/timers",
        &alice,
        json!({"in": {"seconds": 86400}, "target": {"url": receiver.url},
               "payload": {"kind": "digest", "feed_id": feed}}),
    )
    .await;
    let job = source.post_json("/v1/feeds/refresh", Some(&alice), &Value::Null).await;
    assert_eq!(job.status(), 202);
    let job: Value = job.json().await.unwrap();
    let job = job["id"].as_i64().unwrap();
    eventually(15, "the job finishes", || async {
        body(&source, &format!("/v1/jobs/{job}"), &alice).await["status"] == "done"
    })
    .await;

    let before = snapshot(&source, &alice, &bob, icon_feed, webhook).await;
    assert!(
        before
            .iter()
            .any(|(path, view)| path == "/v1/articles?q=copied" && view["articles"].as_array().unwrap().len() == 3),
        "search finds the articles before the copy"
    );
    source.stop().await;

    let target = TestDatabase::create(to).await;
    let report = copy_between(source.database.store.as_ref(), target.store.as_ref())
        .await
        .unwrap();
    let copied = |table: &str| report.iter().find(|(name, _)| *name == table).unwrap().1;
    for table in [
        "categories",
        "feed_icons",
        "events",
        "jobs",
        "webhooks",
        "webhook_deliveries",
        "webhook_delivery_attempts",
        "timers",
        "sessions",
        "refresh_tokens",
        "api_keys",
        "friend_requests",
        "friendships",
        "shares",
        "notifications",
    ] {
        assert!(copied(table) > 0, "{table} was copied: {report:?}");
    }

    let mut moved = spawn_app_configured(to, TestSettings::default(), configure).await;
    moved.stop().await;
    moved.database = target;
    moved.config.database_url = Some(moved.database.url.clone());
    moved.restart().await;
    let after = snapshot(&moved, &alice, &bob, icon_feed, webhook).await;
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(is, was, "{path} reads the same after the copy");
    }

    // The old refresh token and API key still sign in.
    let refreshed = moved
        .post_json("/v1/auth/refresh", None, &json!({"refresh_token": refresh_token}))
        .await;
    assert_eq!(refreshed.status(), 200, "the refresh token came along");
    assert_eq!(
        moved.get("/v1/me", Some(&key)).await.status(),
        200,
        "the API key came along"
    );

    // New rows get ids after the copied ones.
    let lists = [
        ("/v1/categories", "categories", json!({"name": "New"})),
        ("/v1/api-keys", "api_keys", json!({"name": "new"})),
        (
            "/v1/webhooks",
            "webhooks",
            json!({"url": receiver.url, "events": ["feed.status"]}),
        ),
        (
            "/v1/timers",
            "timers",
            json!({"in": {"seconds": 86400}, "target": {"url": receiver.url}}),
        ),
    ];
    for (path, field, request) in lists {
        let highest = highest_id(&body(&moved, path, &alice).await[field]);
        let id = created_id(&moved, path, &alice, request).await;
        assert!(id > highest, "{path}: {id} after {highest}");
    }
    let share = created_id(&moved, "/v1/shares", &alice, json!({"url": "https://example.com/new"})).await;
    assert!(share > seen + 1, "a new share: {share}");
    let job = moved.post_json("/v1/feeds/refresh", Some(&alice), &Value::Null).await;
    let job: Value = job.json().await.unwrap();
    assert!(job["id"].as_i64().unwrap() > 1, "a new job: {job}");
}

async fn every_table_of_the_schema_is_copied_or_left_out_for_a_reason(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let tables = database.store.table_names().await.unwrap();
    assert!(tables.iter().any(|table| table == "users"), "{tables:?}");
    assert_eq!(
        Table::unhandled(&tables),
        Vec::<String>::new(),
        "tables a copy would lose"
    );
}

#[tokio::test]
async fn an_account_using_every_feature_survives_a_copy_from_sqlite_to_postgres() {
    an_account_using_every_feature_survives_a_copy(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test]
async fn an_account_using_every_feature_survives_a_copy_from_postgres_to_sqlite() {
    an_account_using_every_feature_survives_a_copy(Backend::Postgres, Backend::Sqlite).await;
}

crate::on_both_backends!(every_table_of_the_schema_is_copied_or_left_out_for_a_reason);
