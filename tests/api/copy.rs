//! `syndic copy`: an embedded SQLite database moved to Postgres keeps users, subscriptions, articles, state and
//! the event log.

use serde_json::json;
use syndic::copy::copy_between;

use crate::articles::podcast;
use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp, TestDatabase};
use crate::sse::SseReader;
use syndic_actors::events::{EventKind, NewEvent};
use syndic_testkit::documents::titled::rss;

async fn snapshot(app: &TestApp, token: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let mut feeds: serde_json::Value = app.get("/v1/feeds", Some(token)).await.json().await.unwrap();
    // Poll timing is the only thing allowed to differ between two reads.
    for feed in feeds["feeds"].as_array_mut().unwrap() {
        feed.as_object_mut().unwrap().remove("next_poll_in_seconds");
    }
    (feeds, app.timeline(token, "status=all").await)
}

#[tokio::test]
async fn a_sqlite_database_copied_to_postgres_serves_the_same_data() {
    let mut embedded = spawn_app(Backend::Sqlite).await;
    let server = feed_server().await;
    server.set("/one.xml", rss("one", 0, 3), "application/rss+xml");
    // Two articles, one with an enclosure: the copy must carry the column.
    server.set("/two.xml", podcast("two"), "application/rss+xml");
    let token = embedded.user("alice").await;
    embedded
        .subscribe(&token, &[server.url("/one.xml"), server.url("/two.xml")])
        .await;
    let articles = embedded.wait_for_timeline(&token, 5).await;
    let starred = articles[1]["id"].as_i64().unwrap();
    embedded
        .patch_json(
            &format!("/v1/articles/{starred}"),
            &token,
            &json!({"starred": true, "read": true}),
        )
        .await;
    embedded.make_admin("alice").await;
    // A category, an own title and tags on one subscription: the copy must carry them.
    let first_feed = articles[0]["feed_id"].as_i64().unwrap();
    let patched = embedded
        .patch_json(
            &format!("/v1/feeds/{first_feed}"),
            &token,
            &json!({"category": "Imported", "title": "Mine", "tags": ["kept", "also"]}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let before = snapshot(&embedded, &token).await;
    assert!(
        before.0["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|feed| feed["category"] == "Imported"
                && feed["title"] == "Mine"
                && feed["tags"] == json!(["also", "kept"])),
        "the snapshot covers a category, a title and tags"
    );
    assert!(
        before
            .1
            .iter()
            .any(|article| article["enclosures"][0]["url"] == "https://cdn.example.com/two.mp3"),
        "the snapshot covers an enclosure"
    );
    embedded.stop().await;
    let alice = embedded
        .database
        .store
        .find_credentials("alice")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let events_before = embedded.database.store.event_log_bounds(alice).await.unwrap();
    let logged = embedded
        .database
        .store
        .events_after(alice, events_before.last_id - 1, 1)
        .await
        .unwrap();
    let events_before_kind = logged[0].kind.as_str().to_owned();
    assert!(
        events_before.last_id >= 2,
        "article.new and feed.status: {events_before:?}"
    );

    let target = TestDatabase::create(Backend::Postgres).await;
    let report = copy_between(embedded.database.store.as_ref(), target.store.as_ref())
        .await
        .unwrap();
    let counts: Vec<(&str, u64)> = report
        .iter()
        .copied()
        .filter(|(table, _)| ["users", "feeds", "subscriptions", "articles", "article_marks"].contains(table))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("users", 1),
            ("feeds", 2),
            ("subscriptions", 2),
            ("articles", 5),
            ("article_marks", 1)
        ],
        "{report:?}"
    );

    // A copy only goes into an empty database.
    let again = copy_between(embedded.database.store.as_ref(), target.store.as_ref()).await;
    assert!(again.unwrap_err().to_string().contains("empty database"));

    // The session comes along, and so does the password (same hash, same user id); everything reads the same
    // on Postgres.
    let mut moved = spawn_app(Backend::Postgres).await;
    moved.stop().await;
    moved.database = target;
    moved.config.database_url = Some(moved.database.url.clone());
    moved.restart().await;
    assert_eq!(
        moved.get("/v1/me", Some(&token)).await.status(),
        200,
        "the session came along"
    );
    moved.login("alice").await;
    assert_eq!(snapshot(&moved, &token).await, before);
    let me: serde_json::Value = moved.get("/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["role"], "admin", "the role comes along: {me}");

    // New rows get fresh ids after the copied ones.
    server.set("/three.xml", rss("three", 0, 1), "application/rss+xml");
    let results = moved.subscribe(&token, &[server.url("/three.xml")]).await;
    assert_eq!(results[0]["feed_id"], 3);
    moved.wait_for_timeline(&token, 6).await;

    // The event log and counter come along: a client that saw the last event before the copy gets the next one
    // with the next id, and one that missed the last is sent it again.
    let last_seen = events_before.last_id;
    let request = |types: &str, last_event_id: i64| {
        moved
            .client
            .get(moved.url(&format!("/v1/events?types={types}")))
            .bearer_auth(&token)
            .header("Last-Event-ID", last_event_id.to_string())
            .send()
    };
    let mut caught_up = SseReader::new(request("job.done", last_seen).await.unwrap());
    let last_kind = events_before_kind;
    let mut behind = SseReader::new(request(&last_kind, last_seen - 1).await.unwrap());
    let replayed = behind.expect().await;
    assert_eq!(
        (replayed.id, replayed.event.as_str()),
        (Some(last_seen), last_kind.as_str()),
        "the missed event is replayed"
    );
    eventually(10, "both streams to open", || async {
        moved.engine().events().streams().open_count() == 2
    })
    .await;
    moved.engine().events().publish(vec![NewEvent {
        user: alice,
        kind: EventKind::JobDone,
        feed: None,
        data: json!({}),
    }]);
    let next = caught_up.expect().await;
    assert!(next.id.unwrap() > last_seen, "{next:?} after {last_seen}");
}
