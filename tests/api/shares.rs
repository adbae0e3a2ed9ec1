//! Shares end to end: a link shared with every friend or some, refused for a stranger or an article the sharer
//! cannot see; notifications listed, filtered, paged and marked seen; the sender's counts; `share.new` on the
//! recipients' event streams and webhooks; and what unfriending changes.

use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{assert_payload_matches_contract, eventually, feed_server, spawn_app, Backend, TestApp};
use crate::sse::SseReader;
use crate::webhook_receiver::Receiver;

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn befriend(app: &TestApp, first: (&str, &str), second: (&str, &str)) {
    let asked = app
        .post_json("/v1/friends/requests", Some(first.1), &json!({ "username": second.0 }))
        .await;
    assert_eq!(asked.status(), 201);
    let path = format!("/v1/friends/requests/{}/accept", first.0);
    assert_eq!(app.post_json(&path, Some(second.1), &Value::Null).await.status(), 204);
}

async fn share(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    status_and_body(app.post_json("/v1/shares", Some(token), &body).await).await
}

/// The share ids of a user's notifications at `query`, with the page.
async fn notifications(app: &TestApp, token: &str, query: &str) -> (Vec<i64>, Value) {
    let (status, body) = status_and_body(app.get(&format!("/v1/notifications{query}"), Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    let ids = body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|notification| notification["share"]["id"].as_i64().unwrap())
        .collect();
    (ids, body)
}

async fn mark_seen(app: &TestApp, token: &str, ids: &[i64]) -> u64 {
    let (status, body) = status_and_body(
        app.post_json("/v1/notifications/seen", Some(token), &json!({ "ids": ids }))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["changed"].as_u64().unwrap()
}

/// `(recipients, not_seen_count)` of each share the user sent, newest first.
async fn sent_counts(app: &TestApp, token: &str) -> Vec<(i64, i64)> {
    let (status, body) = status_and_body(app.get("/v1/shares/sent", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sent| {
            (
                sent["recipients"].as_i64().unwrap(),
                sent["not_seen_count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn field(body: &Value) -> Option<&str> {
    body["error"]["field"].as_str()
}

async fn a_share_reaches_each_friend_once_and_the_seen_counts_follow(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let friends = [
        ("bob", app.user("bob").await),
        ("carol", app.user("carol").await),
        ("dave", app.user("dave").await),
    ];
    let eve = app.user("eve").await;
    for (name, token) in &friends {
        befriend(&app, ("alice", &alice), (name, token)).await;
    }

    let (status, to_all) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/post#top", "title": "A post", "note": "read this" }),
    )
    .await;
    assert_eq!((status, &to_all["recipients"]), (201, &json!(3)), "{to_all}");
    assert_eq!(to_all["share"]["from"]["username"], "alice");
    assert_eq!(to_all["share"]["url"], "https://example.com/post");
    for (name, token) in &friends {
        let (ids, page) = notifications(&app, token, "").await;
        assert_eq!(ids, [to_all["share"]["id"].as_i64().unwrap()], "{name}");
        assert_eq!(page["notifications"][0]["seen_at"], Value::Null);
        assert_eq!(
            page["notifications"][0]["share"], to_all["share"],
            "{name} sees what was sent"
        );
    }
    let (ids, _) = notifications(&app, &eve, "").await;
    assert!(ids.is_empty(), "a stranger gets nothing");

    let (status, to_some) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/2", "to": ["BOB", "carol"] }),
    )
    .await;
    assert_eq!((status, &to_some["recipients"]), (201, &json!(2)), "{to_some}");
    assert_eq!(
        notifications(&app, &friends[2].1, "").await.0.len(),
        1,
        "dave was not named"
    );

    let (status, refused) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/3", "to": ["bob", "eve"] }),
    )
    .await;
    assert_eq!((status, field(&refused)), (422, Some("to")), "{refused}");
    let (status, refused) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/3", "to": ["nobody"] }),
    )
    .await;
    assert_eq!((status, field(&refused)), (422, Some("to")));
    for (name, token) in &friends[..2] {
        assert_eq!(
            notifications(&app, token, "").await.0.len(),
            2,
            "nothing more for {name}"
        );
    }
    assert_eq!(sent_counts(&app, &alice).await, [(2, 2), (3, 3)]);

    let bob = &friends[0].1;
    let (bob_ids, _) = notifications(&app, bob, "").await;
    assert_eq!(mark_seen(&app, bob, &bob_ids).await, 2);
    assert_eq!(mark_seen(&app, bob, &bob_ids).await, 0, "seen already");
    assert_eq!(sent_counts(&app, &alice).await, [(2, 1), (3, 2)]);
    assert!(notifications(&app, bob, "?seen=false").await.0.is_empty());
    let (seen, page) = notifications(&app, bob, "?seen=true").await;
    assert_eq!(seen, bob_ids);
    assert!(page["notifications"][0]["seen_at"].is_string());
    let carol = &friends[1].1;
    assert_eq!(notifications(&app, carol, "?seen=false").await.0, bob_ids);
    assert_eq!(mark_seen(&app, carol, &bob_ids[..1]).await, 1);
    assert_eq!(notifications(&app, carol, "?seen=false").await.0, bob_ids[1..]);
    assert_eq!(sent_counts(&app, &alice).await, [(2, 0), (3, 2)]);

    // Paging: seven shares to dave, two at a time, each once, newest first.
    for n in 0..6 {
        let (status, _) = share(
            &app,
            &alice,
            json!({ "url": format!("https://example.com/p{n}"), "to": ["dave"] }),
        )
        .await;
        assert_eq!(status, 201);
    }
    let dave = &friends[2].1;
    let (mut paged, mut cursor) = (Vec::new(), String::new());
    loop {
        let (ids, page) = notifications(&app, dave, &format!("?limit=2{cursor}")).await;
        paged.extend(ids);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let mut expected = paged.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!((paged.len(), &paged), (7, &expected));
}

async fn bad_shares_are_refused_naming_their_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let (status, body) = share(&app, &alice, json!({ "url": "https://example.com/" })).await;
    assert_eq!((status, field(&body)), (422, Some("to")), "no friends: nothing to send");
    let bob = app.user("bob").await;
    befriend(&app, ("alice", &alice), ("bob", &bob)).await;
    let long = "x".repeat(1001);
    let crowd: Vec<String> = (0..101).map(|n| format!("user{n}")).collect();
    for (body, expected) in [
        (json!({ "url": "https://example.com/", "article_id": 1 }), "article_id"),
        (json!({ "note": "no link" }), "article_id"),
        (json!({ "url": "ftp://example.com/file" }), "url"),
        (json!({ "url": "not a url" }), "url"),
        (json!({ "url": "https://example.com/", "note": long }), "note"),
        (
            json!({ "url": "https://example.com/", "title": "t".repeat(301) }),
            "title",
        ),
        (json!({ "url": "https://example.com/", "to": [] }), "to"),
        (json!({ "url": "https://example.com/", "to": crowd }), "to"),
        (json!({ "article_id": 123456789 }), "article_id"),
    ] {
        let (status, refused) = share(&app, &alice, body.clone()).await;
        assert_eq!((status, field(&refused)), (422, Some(expected)), "{body}: {refused}");
    }
    let (status, body) = status_and_body(
        app.post_json("/v1/notifications/seen", Some(&bob), &json!({ "ids": vec![1; 1001] }))
            .await,
    )
    .await;
    assert_eq!((status, field(&body)), (422, Some("ids")));
    let (status, body) = status_and_body(app.get("/v1/notifications?cursor=nope", Some(&bob)).await).await;
    assert_eq!((status, field(&body)), (422, Some("cursor")));
    let (status, body) = status_and_body(app.get("/v1/shares/sent?limit=0", Some(&bob)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.get("/v1/notifications", None).await.status(), 401);
    assert!(notifications(&app, &bob, "").await.0.is_empty(), "nothing was sent");
}

async fn a_shared_article_must_be_one_the_sharer_can_see(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    befriend(&app, ("alice", &alice), ("bob", &bob)).await;
    let server = feed_server().await;
    server.set("/news.xml", rss("news", 0, 2), "application/rss+xml");
    app.subscribe(&alice, &[server.url("/news.xml")]).await;
    let (app_ref, alice_ref) = (&app, alice.as_str());
    eventually(10, "alice has her articles", || async move {
        let page: Value = app_ref.get("/v1/articles", Some(alice_ref)).await.json().await.unwrap();
        page["articles"].as_array().is_some_and(|articles| !articles.is_empty())
    })
    .await;
    let page: Value = app.get("/v1/articles", Some(&alice)).await.json().await.unwrap();
    let article = &page["articles"][0];

    let (status, refused) = share(&app, &bob, json!({ "article_id": article["id"] })).await;
    assert_eq!(
        (status, field(&refused)),
        (422, Some("article_id")),
        "bob does not follow it"
    );
    let (status, shared) = share(&app, &alice, json!({ "article_id": article["id"], "note": "look" })).await;
    assert_eq!(status, 201, "{shared}");
    assert_eq!(
        (
            &shared["share"]["article_id"],
            &shared["share"]["url"],
            &shared["share"]["title"]
        ),
        (&article["id"], &article["url"], &article["title"]),
        "the article's link is copied"
    );
    let (_, page) = notifications(&app, &bob, "").await;
    assert_eq!(page["notifications"][0]["share"]["article_id"], article["id"]);
}

async fn share_new_reaches_the_recipients_stream_and_webhook(backend: Backend) {
    let app = crate::webhooks::app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    befriend(&app, ("alice", &alice), ("bob", &bob)).await;
    befriend(&app, ("alice", &alice), ("carol", &carol)).await;
    let profile = app
        .patch_json("/v1/me", &alice, &json!({ "display_name": "Alice A." }))
        .await;
    assert_eq!(profile.status(), 200);
    let receiver = Receiver::start(&[]).await;
    let created = app
        .post_json(
            "/v1/webhooks",
            Some(&bob),
            &json!({ "url": receiver.url, "events": ["share.new"] }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let mut stream = SseReader::new(
        app.client
            .get(app.url("/v1/events?types=share.new"))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap(),
    );

    let (status, shared) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/a", "note": "hi", "to": ["bob"] }),
    )
    .await;
    assert_eq!(status, 201, "{shared}");
    let share_id = shared["share"]["id"].clone();
    let message = stream.expect().await;
    assert_eq!(message.event, "share.new");
    assert_eq!(
        (&message.data["share_id"], &message.data["from"]),
        (&share_id, &json!("alice"))
    );
    assert!(
        !message.data.to_string().contains("Alice A."),
        "no display name in an event: {}",
        message.data
    );
    assert_eq!(
        (&message.data["url"], &message.data["note"]),
        (&json!("https://example.com/a"), &json!("hi"))
    );
    eventually(10, "the webhook gets share.new", || async {
        !receiver.accepted().is_empty()
    })
    .await;
    let delivery = receiver.accepted()[0].clone();
    assert_eq!(delivery.event.as_deref(), Some("share.new"));
    assert_payload_matches_contract(&delivery.json());
    assert_eq!(delivery.json()["data"]["share_id"], share_id);
    assert_eq!(delivery.json()["data"]["from"], "alice");

    // Carol was not named: nothing on her stream (read with a share to all as the next event).
    let mut carol_stream = SseReader::new(
        app.client
            .get(app.url("/v1/events?types=share.new"))
            .bearer_auth(&carol)
            .send()
            .await
            .unwrap(),
    );
    let (status, to_all) = share(&app, &alice, json!({ "url": "https://example.com/b" })).await;
    assert_eq!(status, 201);
    assert_eq!(carol_stream.expect().await.data["share_id"], to_all["share"]["id"]);
    assert_eq!(stream.expect().await.data["share_id"], to_all["share"]["id"]);
}

async fn only_recipients_see_a_share_and_unfriending_stops_only_future_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mallory = app.user("mallory").await;
    befriend(&app, ("alice", &alice), ("bob", &bob)).await;
    let (status, shared) = share(&app, &alice, json!({ "url": "https://example.com/before" })).await;
    assert_eq!(status, 201);
    let id = shared["share"]["id"].as_i64().unwrap();

    assert!(notifications(&app, &mallory, "").await.0.is_empty());
    assert_eq!(
        mark_seen(&app, &mallory, &[id]).await,
        0,
        "another's notification is not hers to mark"
    );
    assert_eq!(notifications(&app, &bob, "?seen=false").await.0, [id]);
    assert_eq!(
        app.client
            .delete(app.url("/v1/friends/bob"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (ids, page) = notifications(&app, &bob, "").await;
    assert_eq!(ids, [id], "past shares stay");
    assert_eq!(page["notifications"][0]["share"]["from"]["username"], "alice");
    let (status, refused) = share(&app, &alice, json!({ "url": "https://example.com/after" })).await;
    assert_eq!(
        (status, field(&refused)),
        (422, Some("to")),
        "no friend left to share with"
    );
    let (status, refused) = share(
        &app,
        &alice,
        json!({ "url": "https://example.com/after", "to": ["bob"] }),
    )
    .await;
    assert_eq!((status, field(&refused)), (422, Some("to")));
    befriend(&app, ("alice", &alice), ("mallory", &mallory)).await;
    let (status, _) = share(&app, &alice, json!({ "url": "https://example.com/after" })).await;
    assert_eq!(status, 201);
    assert_eq!(
        notifications(&app, &bob, "").await.0,
        [id],
        "bob is no longer among all friends"
    );
    assert_eq!(notifications(&app, &mallory, "").await.0.len(), 1);
}

/// What user search shows `viewer` of the user named `name`: `(display_name, email)`.
async fn searched(app: &TestApp, viewer: &str, name: &str) -> (Value, Value) {
    let (status, body) = status_and_body(app.get(&format!("/v1/users?q={name}"), Some(viewer)).await).await;
    assert_eq!(status, 200, "{body}");
    let found = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == name)
        .unwrap_or_else(|| panic!("{name} is found by name: {body}"));
    (found["display_name"].clone(), found["email"].clone())
}

/// A sender's display name on a notification follows the profile rules exactly as user search does: shown to
/// everyone, to friends only, or to nobody, as the sender set it now, and to a former friend only what anyone
/// else would see; a `share.new` replayed from a former friend's event log carries no name at all. No share or
/// notification ever carries an email, even to a friend the sender shows it to.
async fn a_senders_display_name_on_notifications_follows_the_search_rules_also_after_unfriending(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    befriend(&app, ("alice", &alice), ("bob", &bob)).await;
    befriend(&app, ("alice", &alice), ("carol", &carol)).await;
    let profile =
        json!({ "display_name": "Alice A.", "visibility": { "display_name": "friends", "email": "friends" } });
    assert_eq!(app.patch_json("/v1/me", &alice, &profile).await.status(), 200);
    let (status, created) = share(&app, &alice, json!({ "url": "https://example.com/a", "note": "hi" })).await;
    assert_eq!((status, &created["recipients"]), (201, &json!(2)), "{created}");
    assert_eq!(
        searched(&app, &bob, "alice").await,
        (json!("Alice A."), json!("alice@example.com")),
        "a friend finds the email by search, so a share that carried it would leak"
    );
    let unfriended = app
        .client
        .delete(app.url("/v1/friends/carol"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(unfriended.status(), 204);
    // Carol's event log still holds the share.new she got as a friend; replayed now, it names Alice by username
    // only, so the name she now hides from Carol does not come back with it.
    let mut replay = SseReader::new(
        app.client
            .get(app.url("/v1/events?types=share.new&last_event_id=0"))
            .bearer_auth(&carol)
            .send()
            .await
            .unwrap(),
    );
    let replayed = replay.expect().await;
    assert_eq!(
        (
            replayed.event.as_str(),
            &replayed.data["share_id"],
            &replayed.data["from"]
        ),
        ("share.new", &created["share"]["id"], &json!("alice"))
    );
    assert!(!replayed.data.to_string().contains("Alice A."), "{}", replayed.data);

    for (visibility, to_bob, to_carol) in [
        ("everyone", json!("Alice A."), json!("Alice A.")),
        ("friends", json!("Alice A."), Value::Null),
        ("nobody", Value::Null, Value::Null),
    ] {
        let profile = json!({ "visibility": { "display_name": visibility } });
        assert_eq!(app.patch_json("/v1/me", &alice, &profile).await.status(), 200);
        for (viewer, token, expected) in [("bob", &bob, &to_bob), ("carol", &carol, &to_carol)] {
            let (ids, page) = notifications(&app, token, "").await;
            assert_eq!(ids.len(), 1, "{viewer} keeps the past share");
            let shown = &page["notifications"][0]["share"]["from"]["display_name"];
            assert_eq!(shown, expected, "{viewer} with the display name shown to {visibility}");
            let (by_search, _) = searched(&app, token, "alice").await;
            assert_eq!(shown, &by_search, "{viewer}: as search shows it, with {visibility}");
            assert!(!page.to_string().contains("@example.com"), "{viewer}: {page}");
        }
        let (status, sent) = status_and_body(app.get("/v1/shares/sent", Some(&alice)).await).await;
        assert_eq!(status, 200);
        assert_eq!(
            sent["shares"][0]["share"]["from"]["display_name"], "Alice A.",
            "her own name, always"
        );
        assert!(!sent.to_string().contains("@example.com"), "{sent}");
    }
    assert!(!created.to_string().contains("@example.com"), "{created}");
}

crate::on_both_backends!(
    a_share_reaches_each_friend_once_and_the_seen_counts_follow,
    bad_shares_are_refused_naming_their_field,
    a_shared_article_must_be_one_the_sharer_can_see,
    share_new_reaches_the_recipients_stream_and_webhook,
    only_recipients_see_a_share_and_unfriending_stops_only_future_ones,
    a_senders_display_name_on_notifications_follows_the_search_rules_also_after_unfriending,
);
