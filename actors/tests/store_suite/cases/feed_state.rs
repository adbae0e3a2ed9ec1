//! Cases for feed state beyond polls: dead letters, meltdowns, operator listings and permanent redirects.

use syndic_actors::domain::{FeedIcon, FeedStatus};
use syndic_actors::store::{FeedMove, StoreError, UnchangedPoll};

use crate::support::{
    at, batch, dated_entries, now, outbox, persist_one, subscribe, unchanged, user, webhook, SharedStore,
};

const URL: &str = "https://example.com/feed.xml";
const OTHER_URL: &str = "https://example.org/atom.xml";

pub async fn a_dead_feed_keeps_its_first_dead_since_until_a_good_poll(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    store
        .record_poll_error(feed, "HTTP 500", FeedStatus::Dead, None)
        .await
        .expect("dead");
    let dead = store.get_feed(feed).await.expect("get");
    assert_eq!(
        (dead.status, dead.next_poll_at, dead.error_count),
        (FeedStatus::Dead, None, 1)
    );
    let since = dead.dead_since.expect("dead_since is set");
    store
        .record_poll_error(feed, "HTTP 500 again", FeedStatus::Dead, None)
        .await
        .expect("dead");
    assert_eq!(
        store.get_feed(feed).await.expect("get").dead_since,
        Some(since),
        "the first death counts"
    );
    // Failed polls merged while they waited count one each.
    store
        .record_poll_errors(feed, "HTTP 500, the fifth time", FeedStatus::Dead, None, 3)
        .await
        .expect("dead");
    let merged = store.get_feed(feed).await.expect("get");
    assert_eq!(
        (merged.error_count, merged.last_error.as_deref()),
        (5, Some("HTTP 500, the fifth time"))
    );

    unchanged(&store, feed, now(), now()).await;
    let revived = store.get_feed(feed).await.expect("get");
    assert_eq!(
        (revived.status, revived.dead_since, revived.error_count),
        (FeedStatus::Ok, None, 0)
    );
    // An ordinary error does not set dead_since.
    store
        .record_poll_error(feed, "timeout", FeedStatus::Error, Some(now()))
        .await
        .expect("error");
    assert_eq!(store.get_feed(feed).await.expect("get").dead_since, None);
}

pub async fn a_meltdown_parks_the_feed_as_failed(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    store
        .record_feed_failed(feed, "the actor crashed 4 times")
        .await
        .expect("failed");
    let failed = store.get_feed(feed).await.expect("get");
    assert_eq!(failed.status, FeedStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("the actor crashed 4 times"));
    assert_eq!(failed.next_poll_at, None);
}

pub async fn list_feeds_filters_by_status_most_errors_first(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let quiet = subscribe(&store, &alice, URL).await;
    let noisy = subscribe(&store, &alice, OTHER_URL).await;
    let third = subscribe(&store, &alice, "https://example.net/rss").await;
    for _ in 0..3 {
        store
            .record_poll_error(noisy, "boom", FeedStatus::Dead, None)
            .await
            .expect("dead");
    }
    store
        .record_poll_error(quiet, "boom", FeedStatus::Dead, None)
        .await
        .expect("dead");
    let dead: Vec<i64> = store
        .list_feeds(Some(FeedStatus::Dead), 10)
        .await
        .expect("list")
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(dead, vec![noisy, quiet]);
    let all = store.list_feeds(None, 10).await.expect("list");
    assert_eq!(all.len(), 3);
    assert_eq!(all.last().map(|feed| feed.id), Some(third));
    assert_eq!(store.list_feeds(None, 1).await.expect("list").len(), 1);
    assert!(store
        .list_feeds(Some(FeedStatus::Failed), 10)
        .await
        .expect("list")
        .is_empty());
}

pub async fn stale_feeds_are_subscribed_feeds_not_polled_since(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let never = subscribe(&store, &alice, URL).await;
    let old = subscribe(&store, &alice, OTHER_URL).await;
    let fresh = subscribe(&store, &alice, "https://example.net/rss").await;
    let orphan = subscribe(&store, &alice, "https://example.net/orphan").await;
    persist_one(
        &store,
        batch(
            old,
            dated_entries("o", 1, at("2026-01-01T00:00:00Z")),
            at("2026-01-01T00:00:00Z"),
        ),
    )
    .await;
    persist_one(
        &store,
        batch(
            fresh,
            dated_entries("f", 1, at("2026-01-01T00:00:00Z")),
            at("2026-11-23T12:00:00Z"),
        ),
    )
    .await;
    store.unsubscribe(alice.id, orphan).await.expect("unsubscribe");

    let stale: Vec<i64> = store
        .stale_feeds(at("2026-06-01T00:00:00Z"), 10)
        .await
        .expect("stale")
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(
        stale,
        vec![never, old],
        "never polled first, then the oldest poll; no orphans, nothing fresh"
    );
    assert_eq!(
        store
            .stale_feeds(at("2026-06-01T00:00:00Z"), 1)
            .await
            .expect("stale")
            .len(),
        1
    );
}

pub async fn a_permanent_redirect_renames_or_merges_the_feed(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let moving = subscribe(&store, &alice, URL).await;
    assert_eq!(
        store
            .move_feed(moving, "https://example.com/new.xml")
            .await
            .expect("move"),
        FeedMove::Renamed
    );
    assert_eq!(
        store.get_feed(moving).await.expect("get").url,
        "https://example.com/new.xml"
    );

    let target = subscribe(&store, &bob, OTHER_URL).await;
    subscribe(&store, &bob, "https://example.com/new.xml").await;
    let merged = store.move_feed(moving, OTHER_URL).await.expect("merge");
    assert_eq!(merged, FeedMove::Merged { into: target });
    assert_eq!(
        store.unsubscribe(alice.id, target).await.expect("alice moved"),
        1,
        "bob stays on the target"
    );
    let remaining: Vec<i64> = store
        .feeds_with_subscribers()
        .await
        .expect("feeds")
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(remaining, vec![target], "the merged feed has no subscribers left");
    assert_eq!(
        store.get_feed(moving).await.expect("get").url,
        "https://example.com/new.xml",
        "its URL is unchanged"
    );
}

pub async fn unchanged_polls_are_recorded_together_and_never_roll_a_feed_back(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let first = subscribe(&store, &alice, "https://example.com/a.xml").await;
    let second = subscribe(&store, &alice, "https://example.com/b.xml").await;
    store
        .record_poll_error(second, "HTTP 500", FeedStatus::Error, Some(now()))
        .await
        .expect("error");
    let polled_at = at("2026-11-23T10:00:00.000001Z");
    let next = at("2026-11-23T10:30:00Z");
    let polls = [
        UnchangedPoll {
            feed_id: first,
            polled_at,
            next_poll_at: next,
        },
        UnchangedPoll {
            feed_id: second,
            polled_at: now(),
            next_poll_at: next,
        },
        // A feed that no longer exists is skipped, not an error.
        UnchangedPoll {
            feed_id: second + 1_000,
            polled_at,
            next_poll_at: next,
        },
    ];
    store.record_polls_unchanged(&polls).await.expect("record");
    store.record_polls_unchanged(&[]).await.expect("nothing to record");
    let a = store.get_feed(first).await.expect("a");
    assert_eq!(
        (a.status, a.last_polled_at, a.next_poll_at),
        (FeedStatus::Ok, Some(polled_at), Some(next))
    );
    let b = store.get_feed(second).await.expect("b");
    assert_eq!((b.status, b.error_count, b.last_error), (FeedStatus::Ok, 0, None));

    // A late write of an older poll changes nothing.
    let older = at("2026-11-23T09:00:00Z");
    unchanged(&store, first, older, at("2026-11-23T09:30:00Z")).await;
    let a = store.get_feed(first).await.expect("a");
    assert_eq!((a.last_polled_at, a.next_poll_at), (Some(polled_at), Some(next)));
}

pub async fn status_changes_put_their_deliveries_in_the_outbox_in_the_same_transaction(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let statuses = webhook(&store, &alice, &["feed.status"], None).await;
    let other_feeds = webhook(&store, &alice, &["feed.status"], Some(other)).await;
    let articles_only = webhook(&store, &alice, &["article.new"], None).await;
    let not_subscribed = webhook(&store, &bob, &["feed.status"], None).await;
    let status_of = |status: &str, error: Option<&str>| {
        (
            "feed.status".to_owned(),
            serde_json::json!({ "feed_id": feed, "status": status, "error": error }),
        )
    };

    // A change of status is announced, in the call that stores it; the same status again is not.
    let nudged = store
        .record_poll_error(feed, "HTTP 500", FeedStatus::Error, Some(now()))
        .await
        .expect("error");
    assert_eq!(nudged, [statuses]);
    let again = store
        .record_poll_error(feed, "HTTP 502", FeedStatus::Error, Some(now()))
        .await
        .expect("error");
    assert!(again.is_empty(), "still in error: no change to announce");
    store
        .record_poll_errors(feed, "HTTP 500 for days", FeedStatus::Dead, None, 2)
        .await
        .expect("dead");
    let back = store
        .record_polls_unchanged(&[UnchangedPoll {
            feed_id: feed,
            polled_at: now(),
            next_poll_at: now(),
        }])
        .await
        .expect("unchanged");
    assert_eq!(back, [statuses], "a 304 brings the feed back to ok");
    unchanged(&store, feed, now(), now()).await;
    assert_eq!(
        store
            .record_feed_failed(feed, "the actor crashed")
            .await
            .expect("failed"),
        [statuses]
    );
    let stored = persist_one(
        &store,
        batch(feed, dated_entries("a", 1, at("2026-11-01T00:00:00Z")), now()),
    )
    .await;
    assert!(
        stored.webhooks.contains(&statuses),
        "a flush brings the feed back to ok and says so"
    );
    persist_one(
        &store,
        batch(feed, dated_entries("b", 1, at("2026-11-02T00:00:00Z")), now()),
    )
    .await;

    assert_eq!(
        outbox(&store, statuses).await,
        [
            status_of("error", Some("HTTP 500")),
            status_of("dead", Some("HTTP 500 for days")),
            status_of("ok", None),
            status_of("failed", Some("the actor crashed")),
            status_of("ok", None),
        ]
    );
    assert_eq!(outbox(&store, other_feeds).await, [], "filtered to another feed");
    assert_eq!(outbox(&store, not_subscribed).await, [], "bob does not follow the feed");
    assert!(
        outbox(&store, articles_only)
            .await
            .iter()
            .all(|(event, _)| event == "article.new"),
        "a webhook gets only the events it subscribed to"
    );
}

pub async fn a_feed_is_found_by_its_url_and_its_icon_is_recorded_once_and_served_to_subscribers(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    assert_eq!(store.feed_id_by_url(URL).await.expect("look up"), None);
    let feed = subscribe(&store, &alice, URL).await;
    assert_eq!(store.feed_id_by_url(URL).await.expect("look up"), Some(feed));

    assert!(!store.icon_looked_for(feed).await.expect("looked for"));
    assert!(matches!(
        store.feed_icon(alice.id, feed).await,
        Err(StoreError::NotFound)
    ));
    // Looked for, nothing found: the feed is not searched again, and there is nothing to serve.
    store.record_feed_icon(feed, None).await.expect("record none");
    assert!(store.icon_looked_for(feed).await.expect("looked for"));
    assert!(matches!(
        store.feed_icon(alice.id, feed).await,
        Err(StoreError::NotFound)
    ));

    let icon = FeedIcon {
        content_type: "image/png".to_owned(),
        image: vec![0x89, b'P', b'N', b'G', 0, 255],
        etag: "\"abc\"".to_owned(),
        source_url: "https://example.com/favicon.png".to_owned(),
    };
    store.record_feed_icon(feed, Some(&icon)).await.expect("record");
    assert_eq!(store.feed_icon(alice.id, feed).await.expect("served"), icon);
    assert!(
        matches!(store.feed_icon(bob.id, feed).await, Err(StoreError::NotFound)),
        "only to a subscriber"
    );
}
