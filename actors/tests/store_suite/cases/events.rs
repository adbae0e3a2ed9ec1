//! The event log: per-user numbering that survives everything, replay in order, bounds, pruning, and who an
//! event about a feed goes to.

use serde_json::json;
use syndic_actors::domain::UserId;
use syndic_actors::events::{EventBus, EventBusSettings, EventKind, EventLogBounds, NewEvent};

use syndic_actors::store::transfer::{Table, TransferPage};

use crate::support::{batch, entry, now, subscribe, user, SharedStore};

fn job_done(user: UserId, job: i64) -> NewEvent {
    NewEvent {
        user,
        kind: EventKind::JobDone,
        feed: None,
        data: json!({ "job_id": job }),
    }
}

pub async fn events_are_numbered_per_user_in_publish_order(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = store
        .append_events(&[job_done(alice.id, 1), job_done(bob.id, 2), job_done(alice.id, 3)])
        .await
        .expect("append");
    let numbered: Vec<(UserId, i64, i64)> = first
        .iter()
        .map(|event| (event.user, event.id, event.data["job_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(numbered, [(alice.id, 1, 1), (bob.id, 1, 2), (alice.id, 2, 3)]);

    let second = store.append_events(&[job_done(alice.id, 4)]).await.expect("append");
    assert_eq!(second[0].id, 3, "the counter goes on from the last batch");
    assert_eq!(
        store.event_log_bounds(alice.id).await.expect("bounds"),
        EventLogBounds {
            oldest_kept: Some(1),
            last_id: 3
        }
    );
    assert_eq!(
        store.event_log_bounds(bob.id).await.expect("bounds"),
        EventLogBounds {
            oldest_kept: Some(1),
            last_id: 1
        }
    );
}

pub async fn events_replay_after_an_id_in_order_as_stored(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let before = now();
    let stored = store
        .append_events(&[
            NewEvent {
                user: alice.id,
                kind: EventKind::FeedStatus,
                feed: Some(feed),
                data: json!({ "status": "dead", "error": "gone «for good»" }),
            },
            job_done(bob.id, 7),
            job_done(alice.id, 8),
            job_done(alice.id, 9),
        ])
        .await
        .expect("append");

    let replayed = store.events_after(alice.id, 0, 100).await.expect("replay");
    let expected: Vec<_> = stored.iter().filter(|event| event.user == alice.id).cloned().collect();
    assert_eq!(replayed, expected, "what is read back is what was announced");
    assert_eq!(replayed[0].feed, Some(feed));
    assert_eq!(replayed[0].kind, EventKind::FeedStatus);
    assert_eq!(replayed[0].data["error"], "gone «for good»");
    assert!(replayed[0].at >= before);

    let after_first: Vec<i64> = store
        .events_after(alice.id, 1, 100)
        .await
        .expect("replay")
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(after_first, [2, 3]);
    let limited: Vec<i64> = store
        .events_after(alice.id, 0, 2)
        .await
        .expect("replay")
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(limited, [1, 2]);
    assert!(store.events_after(alice.id, 3, 100).await.expect("replay").is_empty());
}

pub async fn events_of_a_missing_user_are_skipped(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let stored = store
        .append_events(&[job_done(uuid::Uuid::new_v4(), 1), job_done(alice.id, 2)])
        .await
        .expect("append");
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].user, stored[0].id), (alice.id, 1));
}

pub async fn pruning_keeps_the_newest_per_user_and_drops_old_ones(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let events: Vec<NewEvent> = (0..5).map(|job| job_done(alice.id, job)).collect();
    store.append_events(&events).await.expect("append");
    store.append_events(&[job_done(bob.id, 9)]).await.expect("append");

    let long_ago = now() - chrono::Duration::days(1);
    let pruned = store.prune_events(long_ago, 3, 100).await.expect("prune");
    assert_eq!(pruned, 2, "alice's two oldest go beyond the newest three");
    let kept: Vec<i64> = store
        .events_after(alice.id, 0, 100)
        .await
        .expect("replay")
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(kept, [3, 4, 5]);
    assert!(store.event_log_bounds(alice.id).await.expect("bounds").has_gap_after(1));
    assert!(!store.event_log_bounds(alice.id).await.expect("bounds").has_gap_after(2));

    // Every event is older than a moment from now; the limit bounds one call's work.
    let later = now() + chrono::Duration::seconds(1);
    assert_eq!(store.prune_events(later, 10_000, 2).await.expect("prune"), 2);
    assert_eq!(store.prune_events(later, 10_000, 2).await.expect("prune"), 2);
    assert_eq!(store.prune_events(later, 10_000, 2).await.expect("prune"), 0);
    let bounds = store.event_log_bounds(alice.id).await.expect("bounds");
    assert_eq!(
        bounds,
        EventLogBounds {
            oldest_kept: None,
            last_id: 5
        }
    );

    let next = store.append_events(&[job_done(alice.id, 10)]).await.expect("append");
    assert_eq!(next[0].id, 6, "an emptied log does not reuse ids");
}

pub async fn subscribers_of_feeds_lists_each_feeds_users(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let shared = subscribe(&store, &alice, "https://example.com/shared.xml").await;
    subscribe(&store, &bob, "https://example.com/shared.xml").await;
    let own = subscribe(&store, &bob, "https://example.com/own.xml").await;
    let unrelated = subscribe(&store, &alice, "https://example.com/unrelated.xml").await;

    let mut pairs = store.subscribers_of_feeds(&[shared, own]).await.expect("subscribers");
    pairs.sort();
    let mut expected = vec![(shared, alice.id), (shared, bob.id), (own, bob.id)];
    expected.sort();
    assert_eq!(pairs, expected);
    assert!(!pairs.iter().any(|(feed, _)| *feed == unrelated));
    assert!(store.subscribers_of_feeds(&[]).await.expect("none").is_empty());
}

pub async fn the_bus_broadcasts_events_once_they_are_stored(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bus = EventBus::spawn(store.clone(), EventBusSettings::default())
        .await
        .expect("start the bus");
    let mut watcher = bus.watch();
    bus.publish(vec![job_done(alice.id, 1)]);
    bus.publish(vec![job_done(alice.id, 2), job_done(alice.id, 3)]);

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = watcher.recv().await.expect("an event");
        let stored = store.events_after(alice.id, event.id - 1, 1).await.expect("replay");
        assert_eq!(stored.first(), Some(&event.event), "stored before it is announced");
        seen.push((event.id, event.data["job_id"].as_i64().unwrap()));
    }
    assert_eq!(seen, [(1, 1), (2, 2), (3, 3)]);
}

pub async fn the_event_counter_is_exported_with_its_user(store: SharedStore) {
    let alice = user(&store, "alice").await;
    store
        .append_events(&[job_done(alice.id, 1), job_done(alice.id, 2)])
        .await
        .expect("append");
    let page = store.export_page(Table::Users, None, 10).await.expect("export users");
    let TransferPage::Users(users) = page else {
        panic!("a page of users: {page:?}");
    };
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].last_event_id, 2);
}

/// Where the backend says so (SQLite), a flush stores the `article.new` of its new articles in its own
/// transaction, one per subscriber, numbered on from each user's counter.
pub async fn a_flush_stores_the_article_new_of_its_new_articles_with_them(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let shared = subscribe(&store, &alice, "https://example.com/shared.xml").await;
    subscribe(&store, &bob, "https://example.com/shared.xml").await;
    let own = subscribe(&store, &bob, "https://example.com/own.xml").await;
    // Alice's counter has moved already: the flush numbers on from it.
    store.append_events(&[job_done(alice.id, 1)]).await.expect("append");
    let polled = now();

    let stored = store
        .persist_batches(&[
            batch(shared, vec![entry("a", Some(polled)), entry("b", Some(polled))], polled),
            batch(own, vec![entry("c", Some(polled))], polled),
            // The same feed again in the same flush: its articles are announced once.
            batch(shared, vec![entry("a", Some(polled))], polled),
        ])
        .await
        .expect("flush");
    if !store.flush_stores_article_new() {
        // The bus stores them after the commit (Postgres): the flush leaves the log alone.
        assert!(stored.iter().all(|batch| batch.events.is_empty()));
        assert!(store.events_after(bob.id, 0, 10).await.expect("replay").is_empty());
        assert_eq!(store.event_log_bounds(alice.id).await.expect("bounds").last_id, 1);
        return;
    }
    let shared_new = stored[0].new_articles.clone();
    assert_eq!(shared_new.len(), 2);
    let announced = |events: &[syndic_actors::events::Event]| -> Vec<(UserId, i64, Option<i64>, serde_json::Value)> {
        events
            .iter()
            .map(|event| {
                assert_eq!(event.kind, EventKind::ArticleNew);
                (event.user, event.id, event.feed, event.data.clone())
            })
            .collect()
    };
    let shared_data = json!({ "article_ids": shared_new, "count": 2 });
    let own_data = json!({ "article_ids": stored[1].new_articles, "count": 1 });
    let mut shared_events = announced(&stored[0].events);
    shared_events.sort_by_key(|(user, ..)| (*user != alice.id, *user));
    assert_eq!(
        shared_events,
        [
            (alice.id, 2, Some(shared), shared_data.clone()),
            (bob.id, 1, Some(shared), shared_data.clone())
        ]
    );
    assert_eq!(announced(&stored[1].events), [(bob.id, 2, Some(own), own_data.clone())]);
    assert!(
        stored[2].events.is_empty(),
        "a feed listed again is announced with its first batch"
    );

    // What the flush answered is what the log holds.
    let of = |user: UserId| -> Vec<syndic_actors::events::Event> {
        stored
            .iter()
            .flat_map(|batch| batch.events.iter().filter(|event| event.user == user).cloned())
            .collect()
    };
    assert_eq!(store.events_after(alice.id, 1, 10).await.expect("replay"), of(alice.id));
    assert_eq!(store.events_after(bob.id, 0, 10).await.expect("replay"), of(bob.id));

    // A poll that brings nothing new announces nothing, and the bus's events number on after the flush's.
    let again = store
        .persist_batches(&[batch(own, vec![entry("c", Some(polled))], polled)])
        .await
        .expect("flush again");
    assert!(again[0].events.is_empty());
    let next = store.append_events(&[job_done(bob.id, 2)]).await.expect("append");
    assert_eq!(next[0].id, 3);
}
