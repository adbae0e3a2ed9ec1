//! `syndic copy`: an embedded SQLite database moved to Postgres keeps users, subscriptions, articles and state.

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
    assert!(
        events_before.last_id >= 2,
        "article.new and feed.status: {events_before:?}"
    );

    let target = TestDatabase::create(Backend::Postgres).await;
    let report = copy_between(embedded.database.store.as_ref(), target.store.as_ref())
        .await
        .unwrap();
    let counts: Vec<u64> = report.iter().map(|(_, rows)| *rows).collect();
    assert_eq!(
        counts,
        vec![1, 2, 2, 5, 1],
        "users, feeds, subscriptions, articles, article_marks: {report:?}"
    );

    // A copy only goes into an empty database.
    let again = copy_between(embedded.database.store.as_ref(), target.store.as_ref()).await;
    assert!(again.unwrap_err().to_string().contains("empty database"));

    // Sessions are not copied, so signing in again is needed; the same password works (same hash, same user
    // id), and everything reads the same on Postgres.
    let mut moved = spawn_app(Backend::Postgres).await;
    moved.stop().await;
    moved.database = target;
    moved.config.database_url = Some(moved.database.url.clone());
    moved.restart().await;
    assert_eq!(
        moved.get("/v1/me", Some(&token)).await.status(),
        401,
        "the session stayed behind"
    );
    let token = moved.login("alice").await;
    assert_eq!(snapshot(&moved, &token).await, before);
    let me: serde_json::Value = moved.get("/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["role"], "admin", "the role comes along: {me}");

    // New rows get fresh ids after the copied ones.
    server.set("/three.xml", rss("three", 0, 1), "application/rss+xml");
    let results = moved.subscribe(&token, &[server.url("/three.xml")]).await;
    assert_eq!(results[0]["feed_id"], 3);
    moved.wait_for_timeline(&token, 6).await;

    // The event counter comes along, the log does not: a client that saw the last event before the copy
    // gets the next one with the next id, and one that missed some is told to resync.
    let last_seen = events_before.last_id;
    let request = |last_event_id: i64| {
        moved
            .client
            .get(moved.url("/v1/events?types=job.done"))
            .bearer_auth(&token)
            .header("Last-Event-ID", last_event_id.to_string())
            .send()
    };
    let mut caught_up = SseReader::new(request(last_seen).await.unwrap());
    let mut behind = SseReader::new(request(last_seen - 1).await.unwrap());
    assert_eq!(behind.expect().await.event, "resync");
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
