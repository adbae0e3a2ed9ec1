//! Cases for subscriptions, linking stored articles to a new subscriber, and the feed state the engine reads.

use std::collections::BTreeSet;

use syndic_actors::domain::{ArticlePatch, FeedStatus, ReadFilter};
use syndic_actors::store::StoreError;
use uuid::Uuid;

use crate::support::{
    at, batch, dated_entries, now, persist_one, query, subscribe, timeline, timeline_ids, unchanged, user, SharedStore,
};

const URL: &str = "https://example.com/feed.xml";
const OTHER_URL: &str = "https://example.org/atom.xml";

pub async fn subscribe_creates_the_feed_once_and_is_idempotent(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = store.subscribe(alice.id, URL).await.expect("subscribe");
    assert!(first.created);
    let again = store.subscribe(alice.id, URL).await.expect("again");
    assert!(!again.created);
    assert_eq!(again.feed_id, first.feed_id);
    let other_user = store.subscribe(bob.id, URL).await.expect("bob");
    assert!(!other_user.created);
    assert_eq!(other_user.feed_id, first.feed_id);
    let other_feed = store.subscribe(alice.id, OTHER_URL).await.expect("other");
    assert!(other_feed.created);
    assert_ne!(other_feed.feed_id, first.feed_id);

    let subscriptions = store
        .list_subscriptions(alice.id, 100, None)
        .await
        .expect("list")
        .subscriptions;
    let feeds: Vec<i64> = subscriptions.iter().map(|s| s.feed.id).collect();
    assert_eq!(feeds, vec![first.feed_id, other_feed.feed_id], "in subscription order");
    let feed = &subscriptions[0].feed;
    assert_eq!(feed.url, URL);
    assert_eq!(feed.status, FeedStatus::Pending);
    assert_eq!((feed.error_count, feed.title.as_deref()), (0, None));
    assert!(feed.last_polled_at.is_none() && feed.next_poll_at.is_none());
    // Unsubscribing the second user leaves one: the first user's two calls made one subscription.
    assert_eq!(store.unsubscribe(bob.id, first.feed_id).await.expect("unsubscribe"), 1);
}

pub async fn subscribe_many_answers_in_request_order_in_one_go(store: SharedStore) {
    const THIRD_URL: &str = "https://example.net/feed.json";
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let known = store.subscribe(bob.id, THIRD_URL).await.expect("bob's feed");

    let none = store.subscribe_many(alice.id, &[]).await.expect("no URLs");
    assert!(none.is_empty());
    let urls = [URL, OTHER_URL, URL, THIRD_URL];
    let first = store.subscribe_many(alice.id, &urls).await.expect("subscribe many");
    let answers: Vec<(i64, bool)> = first.iter().map(|feed| (feed.feed_id, feed.created)).collect();
    assert_eq!(answers.len(), 4);
    assert!(answers[0].1 && answers[1].1, "both new feeds are created: {answers:?}");
    assert!(
        answers[0].0 < answers[1].0,
        "new feeds get ids in request order: {answers:?}"
    );
    assert_eq!(answers[2], answers[0], "a URL given twice answers alike");
    assert_eq!(answers[3], (known.feed_id, false), "a known feed is found, not created");

    let subscriptions = store
        .list_subscriptions(alice.id, 100, None)
        .await
        .expect("list")
        .subscriptions;
    let feeds: BTreeSet<i64> = subscriptions.iter().map(|s| s.feed.id).collect();
    assert_eq!(feeds, BTreeSet::from([answers[0].0, answers[1].0, known.feed_id]));

    let again = store.subscribe_many(alice.id, &[OTHER_URL, URL]).await.expect("again");
    let again: Vec<(i64, bool)> = again.iter().map(|feed| (feed.feed_id, feed.created)).collect();
    assert_eq!(again, vec![(answers[1].0, false), (answers[0].0, false)]);
    assert_eq!(
        store
            .list_subscriptions(alice.id, 100, None)
            .await
            .expect("list")
            .subscriptions
            .len(),
        3
    );
    assert_eq!(store.unsubscribe(bob.id, known.feed_id).await.expect("bob leaves"), 1);
}

pub async fn unsubscribe_returns_remaining_subscribers_and_unlinks_articles(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    subscribe(&store, &bob, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    persist_one(&store, batch(feed, dated_entries("a", 2, polled), polled)).await;
    let kept = persist_one(&store, batch(other, dated_entries("b", 1, polled), polled)).await;

    assert_eq!(store.unsubscribe(alice.id, feed).await.expect("unsubscribe"), 1);
    let all = query(ReadFilter::All);
    assert_eq!(timeline_ids(&store, alice.id, &all).await, vec![kept.articles[0].id]);
    assert_eq!(timeline(&store, bob.id, &all).await.len(), 2, "bob keeps his");
    let unsubscribed = store.get_subscription(alice.id, feed).await;
    assert!(matches!(unsubscribed, Err(StoreError::NotFound)));

    let twice = store.unsubscribe(alice.id, feed).await;
    assert!(matches!(twice, Err(StoreError::NotFound)), "{twice:?}");
    let never = store.unsubscribe(Uuid::new_v4(), feed).await;
    assert!(matches!(never, Err(StoreError::NotFound)), "{never:?}");
    assert_eq!(store.unsubscribe(bob.id, feed).await.expect("last"), 0);
    assert!(timeline(&store, bob.id, &all).await.is_empty());
}

pub async fn link_cached_articles_shows_from_the_oldest_given_article_on_as_unread(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let carol = user(&store, "carol").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, dated_entries("a", 4, polled), polled)).await;
    let elsewhere = persist_one(&store, batch(other, dated_entries("b", 1, polled), polled)).await;
    let ids: Vec<i64> = stored.articles.iter().map(|article| article.id).collect();
    // The cache lists the feed's newest entries; another feed's article and an unknown id are ignored.
    let cached = [ids[1], ids[3], elsewhere.articles[0].id, 999_999];

    let unsubscribed = store.link_cached_articles(carol.id, feed, &cached).await;
    assert_eq!(unsubscribed.expect("link"), 0, "only for a subscriber");
    subscribe(&store, &carol, URL).await;
    assert_eq!(
        store.get_subscription(carol.id, feed).await.expect("sub").unread_count,
        0
    );
    assert_eq!(store.link_cached_articles(carol.id, feed, &[]).await.expect("none"), 0);
    assert_eq!(
        store.link_cached_articles(carol.id, feed, &cached).await.expect("link"),
        3,
        "the oldest cached article and every later one"
    );
    let unread: BTreeSet<i64> = timeline_ids(&store, carol.id, &query(ReadFilter::Unread))
        .await
        .into_iter()
        .collect();
    assert_eq!(unread, BTreeSet::from([ids[1], ids[2], ids[3]]));
    assert_eq!(
        store.get_subscription(carol.id, feed).await.expect("sub").unread_count,
        3
    );
    assert_eq!(
        timeline(&store, carol.id, &query(ReadFilter::All)).await.len(),
        4,
        "the oldest, read"
    );
    assert_eq!(
        store
            .link_cached_articles(carol.id, feed, &cached)
            .await
            .expect("again"),
        0,
        "already shown"
    );
}

pub async fn link_recent_articles_shows_the_newest_up_to_the_limit_as_unread(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let carol = user(&store, "carol").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, dated_entries("a", 5, polled), polled)).await;
    let ids: Vec<i64> = stored.articles.iter().map(|article| article.id).collect();
    let unread = query(ReadFilter::Unread);

    assert_eq!(store.link_recent_articles(carol.id, feed, 10).await.expect("link"), 0);
    subscribe(&store, &carol, URL).await;
    assert_eq!(store.link_recent_articles(carol.id, feed, 0).await.expect("zero"), 0);
    assert!(timeline_ids(&store, carol.id, &unread).await.is_empty());
    assert_eq!(store.link_recent_articles(carol.id, feed, 2).await.expect("two"), 2);
    let newest: BTreeSet<i64> = timeline_ids(&store, carol.id, &unread).await.into_iter().collect();
    assert_eq!(newest, BTreeSet::from([ids[3], ids[4]]), "the last two stored");
    assert_eq!(store.link_recent_articles(carol.id, feed, 10).await.expect("rest"), 3);
    assert_eq!(timeline_ids(&store, carol.id, &unread).await.len(), 5);
    assert_eq!(
        store.get_subscription(carol.id, feed).await.expect("sub").unread_count,
        5
    );
    let negative = store.link_recent_articles(carol.id, feed, -1).await;
    assert!(matches!(negative, Err(StoreError::Database(_))), "{negative:?}");
}

pub async fn subscriptions_report_unread_counts_and_hide_other_users_feeds(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let before = now();
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, dated_entries("a", 3, polled), polled)).await;
    persist_one(&store, batch(other, dated_entries("b", 1, polled), polled)).await;
    let read = ArticlePatch {
        read: Some(true),
        starred: Some(true),
    };
    store
        .update_article(alice.id, stored.articles[0].id, read)
        .await
        .expect("read");

    let subscriptions = store
        .list_subscriptions(alice.id, 100, None)
        .await
        .expect("list")
        .subscriptions;
    let counts: Vec<(i64, i64)> = subscriptions.iter().map(|s| (s.feed.id, s.unread_count)).collect();
    assert_eq!(counts, vec![(feed, 2), (other, 1)]);
    assert!(subscriptions[0].subscribed_at >= before - chrono::Duration::seconds(5));
    assert!(subscriptions[0].subscribed_at <= subscriptions[1].subscribed_at);
    assert_eq!(subscriptions[0].feed.title.as_deref(), Some("A feed"));

    let one = store.get_subscription(alice.id, feed).await.expect("get");
    assert_eq!((one.feed.id, one.unread_count), (feed, 2));
    assert_eq!(one.subscribed_at, subscriptions[0].subscribed_at);
    assert!(store
        .list_subscriptions(bob.id, 100, None)
        .await
        .expect("none")
        .subscriptions
        .is_empty());
    let foreign = store.get_subscription(bob.id, feed).await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    let missing = store.get_subscription(alice.id, 999_999).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn feeds_with_subscribers_lists_only_subscribed_feeds(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    assert!(store.feeds_with_subscribers().await.expect("empty").is_empty());
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    subscribe(&store, &bob, OTHER_URL).await;
    let ids = |feeds: Vec<syndic_actors::domain::Feed>| -> BTreeSet<i64> { feeds.iter().map(|feed| feed.id).collect() };
    let both = store.feeds_with_subscribers().await.expect("both");
    assert_eq!(ids(both), BTreeSet::from([feed, other]));
    store.unsubscribe(alice.id, feed).await.expect("unsubscribe");
    store.unsubscribe(alice.id, other).await.expect("unsubscribe");
    let left = store.feeds_with_subscribers().await.expect("left");
    assert_eq!(left.len(), 1, "each feed once");
    assert_eq!((left[0].id, left[0].url.as_str()), (other, OTHER_URL));
}

pub async fn get_feed_returns_the_feed_or_not_found(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let found = store.get_feed(feed).await.expect("get");
    assert_eq!((found.id, found.url.as_str()), (feed, URL));
    assert_eq!(found.status, FeedStatus::Pending);
    let missing = store.get_feed(feed + 1000).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn poll_error_and_unchanged_poll_update_the_feed(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let before = now();
    let retry = at("2026-11-23T10:15:00.123456Z");
    store
        .record_poll_error(feed, "timed out", FeedStatus::Error, Some(retry))
        .await
        .expect("error");
    store
        .record_poll_error(feed, "HTTP 503 — unavailable", FeedStatus::Error, Some(retry))
        .await
        .expect("error");
    let failed = store.get_feed(feed).await.expect("get");
    assert_eq!(failed.status, FeedStatus::Error);
    assert_eq!(failed.error_count, 2);
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 503 — unavailable"));
    assert_eq!(failed.next_poll_at, Some(retry));
    let polled = failed.last_polled_at.expect("an error is a poll");
    assert!(polled >= before - chrono::Duration::seconds(5) && polled <= now() + chrono::Duration::seconds(5));

    // After the error's poll (recorded at the wall clock), or the write would be an older poll and ignored.
    let polled_at = now() + chrono::Duration::minutes(1);
    let next = polled_at + chrono::Duration::minutes(15);
    unchanged(&store, feed, polled_at, next).await;
    let recovered = store.get_feed(feed).await.expect("get");
    assert_eq!(recovered.status, FeedStatus::Ok);
    assert_eq!((recovered.error_count, recovered.last_error), (0, None));
    assert_eq!(recovered.last_polled_at, Some(polled_at));
    assert_eq!(recovered.next_poll_at, Some(next));
}

pub async fn subscriptions_page_by_subscription_time_then_feed_with_unread_counts(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let shared = subscribe(&store, &bob, "https://example.com/shared.xml").await;
    let first = subscribe(&store, &alice, "https://example.com/a.xml").await;
    let second = subscribe(&store, &alice, "https://example.com/b.xml").await;
    // One request subscribes at one instant: the older feed (bob's, the lowest id) must come first among them.
    let urls = [
        "https://example.com/c.xml",
        "https://example.com/d.xml",
        "https://example.com/shared.xml",
        "https://example.com/e.xml",
    ];
    let many: Vec<i64> = store
        .subscribe_many(alice.id, &urls)
        .await
        .expect("subscribe many")
        .iter()
        .map(|feed| feed.feed_id)
        .collect();
    let expected = vec![first, second, shared, many[0], many[1], many[3]];
    assert!(shared < many[0], "the shared feed is older: {expected:?}");

    // Feed number n of the expected order gets n + 1 articles; alice reads one of the fourth feed's.
    let polled = at("2026-03-01T12:00:00Z");
    let mut fourth_feed_articles = Vec::new();
    for (index, feed) in expected.iter().enumerate() {
        let stored = persist_one(
            &store,
            batch(*feed, dated_entries(&format!("f{index}"), index + 1, polled), polled),
        )
        .await;
        if index == 3 {
            fourth_feed_articles = stored.articles.iter().map(|article| article.id).collect();
        }
    }
    let read = ArticlePatch {
        read: Some(true),
        starred: None,
    };
    store
        .update_article(alice.id, fourth_feed_articles[0], read)
        .await
        .expect("read one");
    let expected_unread: Vec<i64> = vec![1, 2, 3, 3, 5, 6];

    for limit in [1_u32, 2, 4, 6, 100] {
        let mut listed = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = store.list_subscriptions(alice.id, limit, after).await.expect("page");
            assert!(page.subscriptions.len() <= limit as usize, "limit {limit}");
            pages += 1;
            listed.extend(page.subscriptions.iter().map(|s| (s.feed.id, s.unread_count)));
            match page.next_cursor {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
            assert!(pages <= expected.len(), "paging does not end at limit {limit}");
        }
        let wanted: Vec<(i64, i64)> = expected.iter().copied().zip(expected_unread.iter().copied()).collect();
        assert_eq!(listed, wanted, "limit {limit}");
        assert_eq!(
            pages,
            expected.len().div_ceil(limit as usize).max(1),
            "no empty last page at limit {limit}"
        );
    }

    let bobs = store.list_subscriptions(bob.id, 10, None).await.expect("bob's");
    let bobs: Vec<(i64, i64)> = bobs.subscriptions.iter().map(|s| (s.feed.id, s.unread_count)).collect();
    assert_eq!(
        bobs,
        vec![(shared, 3)],
        "bob sees only his feed, with his own unread count"
    );
}

pub async fn unread_counts_stay_exact_when_marks_meet_a_moving_cutoff(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let carol = user(&store, "carol").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, dated_entries("a", 4, polled), polled)).await;
    let ids: Vec<i64> = stored.articles.iter().map(|article| article.id).collect();
    let unread_count = |user| {
        let store = store.clone();
        async move { store.get_subscription(user, feed).await.expect("sub").unread_count }
    };
    let mark = |read| ArticlePatch {
        read: Some(read),
        starred: None,
    };

    // Carol comes late: everything stored is read. She takes the second article back to unread.
    subscribe(&store, &carol, URL).await;
    assert_eq!(unread_count(carol.id).await, 0);
    store
        .update_article(carol.id, ids[1], mark(false))
        .await
        .expect("unread");
    assert_eq!(unread_count(carol.id).await, 1);
    // Asking again changes nothing.
    store
        .update_article(carol.id, ids[1], mark(false))
        .await
        .expect("again");
    assert_eq!(unread_count(carol.id).await, 1);

    // Her cutoff moves back under the last three: her mark now agrees with it, and is not counted twice.
    assert_eq!(store.link_recent_articles(carol.id, feed, 3).await.expect("link"), 3);
    assert_eq!(unread_count(carol.id).await, 3);
    store.update_article(carol.id, ids[2], mark(true)).await.expect("read");
    assert_eq!(unread_count(carol.id).await, 2);
    let unread: BTreeSet<i64> = timeline_ids(&store, carol.id, &query(ReadFilter::Unread))
        .await
        .into_iter()
        .collect();
    assert_eq!(unread, BTreeSet::from([ids[1], ids[3]]));
    // Alice's own state never moved.
    assert_eq!(unread_count(alice.id).await, 4);
}
