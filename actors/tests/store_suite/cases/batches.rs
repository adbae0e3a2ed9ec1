//! Cases for the persistence flush: storing, deduplicating, resolving ids, fan-out and poll state.

use syndic_actors::domain::{FeedStatus, ReadFilter};
use syndic_actors::store::{FeedBatch, PollRecord, StoreError};

use crate::support::{
    at, batch, dated_entries, entry, persist_one, query, subscribe, timeline, timeline_ids, user, SharedStore,
};

const URL: &str = "https://example.com/feed.xml";
const OTHER_URL: &str = "https://example.org/atom.xml";
const THIRD_URL: &str = "https://example.net/feed.json";

pub async fn persist_stores_entries_and_records_poll_state(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    subscribe(&store, &bob, URL).await;
    store
        .record_poll_error(feed, "earlier failure", FeedStatus::Dead, None)
        .await
        .expect("error");
    let polled = at("2026-03-01T12:00:00.654321Z");
    let entries = dated_entries("a", 3, at("2026-02-01T08:00:00Z"));
    let stored = persist_one(&store, batch(feed, entries.clone(), polled)).await;

    assert_eq!((stored.feed_id, stored.new_count), (feed, 3));
    let titles: Vec<Option<&str>> = stored.articles.iter().map(|a| a.title.as_deref()).collect();
    assert_eq!(titles, vec![Some("Title a-0"), Some("Title a-1"), Some("Title a-2")]);
    assert_eq!(stored.articles[1].link.as_deref(), Some("https://example.com/a-1"));

    let state = store.get_feed(feed).await.expect("feed");
    assert_eq!(state.status, FeedStatus::Ok);
    assert_eq!((state.error_count, state.last_error.as_deref()), (0, None));
    assert_eq!(state.dead_since, None, "a stored poll revives a dead feed");
    assert_eq!(state.title.as_deref(), Some("A feed"));
    assert_eq!(state.site_url.as_deref(), Some("https://example.com/"));
    assert_eq!(state.etag.as_deref(), Some("\"etag-1\""));
    assert_eq!(state.last_modified.as_deref(), Some("Mon, 23 Nov 2026 10:00:00 GMT"));
    assert_eq!(state.last_polled_at, Some(polled));
    assert_eq!(state.next_poll_at, Some(polled + chrono::Duration::minutes(15)));

    for reader in [alice.id, bob.id] {
        let articles = timeline(&store, reader, &query(ReadFilter::Unread)).await;
        assert_eq!(articles.len(), 3, "linked unread to every subscriber");
        let newest = &articles[0];
        assert_eq!(newest.id, stored.articles[2].id);
        assert_eq!(newest.feed_id, feed);
        assert_eq!(newest.title, entries[2].title);
        assert_eq!(newest.url, entries[2].url);
        assert_eq!(newest.summary, entries[2].summary);
        assert_eq!(newest.content, entries[2].content);
        assert_eq!(newest.author, entries[2].author);
        assert_eq!(newest.categories, entries[2].categories);
        assert_eq!(Some(newest.published_at), entries[2].published_at);
        assert!(!newest.read && !newest.starred);
    }
}

pub async fn persist_again_returns_the_same_ids_and_nothing_new(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let entries = dated_entries("a", 3, polled);
    let first = persist_one(&store, batch(feed, entries.clone(), polled)).await;
    let later = polled + chrono::Duration::minutes(15);
    let second = persist_one(&store, batch(feed, entries.clone(), later)).await;
    assert_eq!(second.new_count, 0);
    assert_eq!(second.articles, first.articles);
    assert_eq!(timeline(&store, alice.id, &query(ReadFilter::All)).await.len(), 3);

    // A new entry in the middle of the feed: resolved in feed order, with the old ids.
    let mut grown = entries.clone();
    grown.insert(1, entry("fresh", Some(later)));
    let third = persist_one(&store, batch(feed, grown, later)).await;
    assert_eq!(third.new_count, 1);
    let ids: Vec<i64> = third.articles.iter().map(|article| article.id).collect();
    let old: Vec<i64> = first.articles.iter().map(|article| article.id).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!((ids[0], ids[2], ids[3]), (old[0], old[1], old[2]));
    assert!(!old.contains(&ids[1]));
    assert_eq!(third.articles[1].title.as_deref(), Some("Title fresh"));
    assert_eq!(timeline(&store, alice.id, &query(ReadFilter::All)).await.len(), 4);
}

pub async fn persist_keeps_the_first_of_duplicate_keys(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let mut first = entry("same", Some(polled));
    first.title = Some("first".to_owned());
    let mut second = entry("same", Some(polled));
    second.title = Some("second".to_owned());
    let entries = vec![first, entry("other", Some(polled)), second];
    let stored = persist_one(&store, batch(feed, entries, polled)).await;
    assert_eq!(stored.new_count, 2);
    let titles: Vec<Option<&str>> = stored.articles.iter().map(|a| a.title.as_deref()).collect();
    assert_eq!(titles, vec![Some("first"), Some("Title other")]);
    let article = store.get_article(alice.id, stored.articles[0].id).await.expect("get");
    assert_eq!(article.title.as_deref(), Some("first"));
}

pub async fn persist_dates_undated_entries_with_the_poll(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00.000042Z");
    let stored = persist_one(&store, batch(feed, vec![entry("undated", None)], polled)).await;
    let id = stored.articles[0].id;
    let article = store.get_article(alice.id, id).await.expect("get");
    assert_eq!(article.published_at, polled);
    // A later poll that sees it again does not move it on the timeline.
    let later = polled + chrono::Duration::hours(1);
    persist_one(&store, batch(feed, vec![entry("undated", None)], later)).await;
    let again = store.get_article(alice.id, id).await.expect("get");
    assert_eq!(again.published_at, polled);
}

pub async fn persist_shows_new_articles_to_subscribers_only(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &bob, OTHER_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, dated_entries("a", 2, polled), polled)).await;
    let all = query(ReadFilter::All);
    assert!(timeline(&store, bob.id, &all).await.is_empty(), "bob is not subscribed");
    assert_eq!(timeline(&store, alice.id, &all).await.len(), 2);
    let foreign = store.get_article(bob.id, stored.articles[0].id).await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");

    // A later subscriber sees the feed's stored articles as read, and only what the next flush adds as unread.
    subscribe(&store, &bob, URL).await;
    let old = timeline(&store, bob.id, &all).await;
    assert_eq!(old.len(), 2);
    assert!(old.iter().all(|article| article.read), "{old:?}");
    let later = polled + chrono::Duration::minutes(15);
    let mut entries = dated_entries("a", 2, polled);
    entries.push(entry("b", Some(later)));
    let flushed = persist_one(&store, batch(feed, entries, later)).await;
    let unread = timeline_ids(&store, bob.id, &query(ReadFilter::Unread)).await;
    assert_eq!(unread, vec![flushed.articles[2].id], "only the new article is unread");
    assert_eq!(timeline(&store, bob.id, &all).await.len(), 3);
    assert_eq!(
        timeline_ids(&store, alice.id, &query(ReadFilter::Unread)).await.len(),
        3
    );
    let mut only_other = query(ReadFilter::All);
    only_other.feed_id = Some(other);
    assert!(timeline(&store, bob.id, &only_other).await.is_empty());
}

pub async fn persist_many_feeds_in_one_call(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let first = subscribe(&store, &alice, URL).await;
    let second = subscribe(&store, &alice, OTHER_URL).await;
    let third = subscribe(&store, &alice, THIRD_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    // The same key in two feeds is two articles.
    let mut shared = entry("shared-key", Some(polled));
    shared.title = Some("in the second feed".to_owned());
    let batches = vec![
        batch(
            first,
            vec![entry("shared-key", Some(polled)), entry("x", Some(polled))],
            polled,
        ),
        batch(second, vec![shared], polled),
        batch(third, Vec::new(), polled),
    ];
    let stored = store.persist_batches(&batches).await.expect("persist");
    let summary: Vec<(i64, usize, usize)> = stored
        .iter()
        .map(|one| (one.feed_id, one.articles.len(), one.new_count))
        .collect();
    assert_eq!(summary, vec![(first, 2, 2), (second, 1, 1), (third, 0, 0)]);
    assert_ne!(stored[0].articles[0].id, stored[1].articles[0].id);
    for feed in [first, second, third] {
        let state = store.get_feed(feed).await.expect("feed");
        assert_eq!(state.status, FeedStatus::Ok, "feed {feed}");
        assert_eq!(state.last_polled_at, Some(polled), "feed {feed}");
    }
    assert_eq!(timeline(&store, alice.id, &query(ReadFilter::All)).await.len(), 3);
    assert!(store.persist_batches(&[]).await.expect("nothing").is_empty());
}

pub async fn persist_keeps_title_and_site_url_but_replaces_validators(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    persist_one(&store, batch(feed, Vec::new(), polled)).await;
    let later = polled + chrono::Duration::minutes(15);
    let bare = FeedBatch {
        feed_id: feed,
        entries: Vec::new(),
        poll: PollRecord {
            polled_at: later,
            next_poll_at: later + chrono::Duration::minutes(30),
            ..PollRecord::default()
        },
    };
    persist_one(&store, bare).await;
    let state = store.get_feed(feed).await.expect("feed");
    assert_eq!(
        state.title.as_deref(),
        Some("A feed"),
        "an absent title keeps the old one"
    );
    assert_eq!(state.site_url.as_deref(), Some("https://example.com/"));
    assert_eq!(
        (state.etag, state.last_modified),
        (None, None),
        "validators are replaced"
    );
    assert_eq!(state.last_polled_at, Some(later));
    assert_eq!(state.next_poll_at, Some(later + chrono::Duration::minutes(30)));
}

pub async fn persist_is_atomic_across_feeds(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let batches = vec![
        batch(feed, dated_entries("a", 2, polled), polled),
        batch(feed + 1000, dated_entries("b", 1, polled), polled),
    ];
    let failed = store.persist_batches(&batches).await;
    match failed {
        Err(error) => assert!(!error.is_transient(), "{error:?}"),
        Ok(stored) => panic!("a batch for a missing feed was stored: {stored:?}"),
    }
    assert!(timeline(&store, alice.id, &query(ReadFilter::All)).await.is_empty());
    let state = store.get_feed(feed).await.expect("feed");
    assert_eq!(state.status, FeedStatus::Pending, "poll state rolled back too");
    // The same entries go in once the bad batch is gone.
    let stored = persist_one(&store, batches[0].clone()).await;
    assert_eq!(stored.new_count, 2);
}
