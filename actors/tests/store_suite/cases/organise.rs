//! Organising subscriptions: categories by name from an import, a subscription's own title and tags, renames
//! that collide, deletion that leaves feeds in none, which feeds a category holds (what an event stream asks),
//! counters that agree with the listings, and bulk marks.

use std::collections::BTreeMap;

use syndic_actors::domain::{FeedId, ReadFilter, UserId};
use syndic_actors::organise::{MarkSelection, Marking, Name, SubscriptionPatch, Title};
use syndic_actors::store::{StoreError, StoredBatch};
use syndic_actors::timer::{NewTimer, PayloadKind, TimerPayload, TimerTarget};
use syndic_actors::timer_schedule::StoredSchedule;
use syndic_actors::webhook::NewWebhook;

use crate::support::{at, batch, dated_entries, persist_one, query, subscribe, timeline, user, SharedStore};

fn name(value: &str) -> Name {
    Name::category(value).expect("a valid name")
}

pub async fn an_import_puts_each_subscription_in_its_category_by_name(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    let second = subscribe(&store, &alice, "https://example.com/c").await;
    let other = subscribe(&store, &bob, "https://example.com/b").await;
    store
        .set_subscription_categories(
            alice.id,
            &[
                (feed, name("News & Views")),
                (second, name("News & Views")),
                (other, name("not hers")),
            ],
        )
        .await
        .expect("categories");
    let category = store.get_subscription(alice.id, feed).await.expect("sub").category;
    assert_eq!(
        category.as_ref().map(|category| category.name.as_str()),
        Some("News & Views")
    );
    assert_eq!(
        store.get_subscription(alice.id, second).await.expect("sub").category,
        category,
        "one category for one name"
    );
    assert_eq!(store.get_subscription(bob.id, other).await.expect("sub").category, None);
    let alices = store.list_categories(alice.id, 10, None).await.expect("list");
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0].feed_count, 2);
    assert!(store.list_categories(bob.id, 10, None).await.expect("list").is_empty());
}

pub async fn a_patch_sets_title_category_and_tags_and_null_clears_them(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    let patch = SubscriptionPatch {
        title: Some(Some(Title::parse("Mine").unwrap())),
        category: Some(Some(name("Tech"))),
        tags: Some(vec![Name::tag("rust").unwrap(), Name::tag("db").unwrap()]),
    };
    let patched = store.update_subscription(alice.id, feed, &patch).await.expect("patch");
    assert_eq!(patched.title.as_deref(), Some("Mine"));
    assert_eq!(
        patched.category.as_ref().map(|category| category.name.as_str()),
        Some("Tech")
    );
    assert_eq!(patched.tags, ["db", "rust"]);
    let cleared = store
        .update_subscription(
            alice.id,
            feed,
            &SubscriptionPatch {
                title: Some(None),
                category: Some(None),
                tags: Some(vec![]),
            },
        )
        .await
        .expect("clear");
    assert_eq!(
        (cleared.title, cleared.category, cleared.tags),
        (None, None, Vec::<String>::new())
    );
    let bob = user(&store, "bob").await;
    assert!(matches!(
        store.update_subscription(bob.id, feed, &patch).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_category_name_is_unique_per_user_and_deleting_one_keeps_its_feeds(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let news = store.create_category(alice.id, &name("News")).await.expect("create");
    let tech = store.create_category(alice.id, &name("Tech")).await.expect("create");
    store
        .create_category(bob.id, &name("News"))
        .await
        .expect("bob has his own");
    assert!(matches!(
        store.create_category(alice.id, &name("News")).await,
        Err(StoreError::Conflict { field: "name" })
    ));
    assert!(matches!(
        store.rename_category(alice.id, tech.id, &name("News")).await,
        Err(StoreError::Conflict { field: "name" })
    ));
    assert!(matches!(
        store.rename_category(bob.id, tech.id, &name("Other")).await,
        Err(StoreError::NotFound)
    ));
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    store
        .set_subscription_categories(alice.id, &[(feed, name("News"))])
        .await
        .expect("assign");
    assert!(matches!(
        store.delete_category(bob.id, news.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_category(alice.id, news.id).await.expect("delete");
    let subscription = store.get_subscription(alice.id, feed).await.expect("still subscribed");
    assert_eq!(subscription.category, None);
}

pub async fn feeds_in_a_category_follow_moves_and_renames_and_none_once_it_is_deleted(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let tech = store.create_category(alice.id, &name("Tech")).await.expect("create");
    let a = subscribe(&store, &alice, "https://example.com/a").await;
    let b = subscribe(&store, &alice, "https://example.com/b").await;
    let c = subscribe(&store, &alice, "https://example.com/c").await;
    subscribe(&store, &bob, "https://example.com/a").await;
    store
        .set_subscription_categories(alice.id, &[(a, name("Tech")), (b, name("Tech")), (c, name("News"))])
        .await
        .expect("assign");
    store
        .set_subscription_categories(bob.id, &[(a, name("Tech"))])
        .await
        .expect("bob has his own");
    let bobs_tech = store
        .find_category(bob.id, &name("Tech"))
        .await
        .expect("find")
        .expect("bob's Tech");
    let unknown_feed = c + 1000;

    assert_eq!(
        store
            .feeds_in_category(alice.id, tech.id, &[c, b, a, unknown_feed])
            .await
            .unwrap(),
        [a, b]
    );
    assert_eq!(
        store.feeds_in_category(alice.id, tech.id, &[]).await.unwrap(),
        Vec::<FeedId>::new()
    );
    // Another user's category holds none of alice's feeds, even one he has in his own.
    assert_eq!(
        store.feeds_in_category(alice.id, bobs_tech, &[a, b]).await.unwrap(),
        Vec::<FeedId>::new()
    );
    assert_eq!(
        store.feeds_in_category(bob.id, tech.id, &[a]).await.unwrap(),
        Vec::<FeedId>::new()
    );
    assert_eq!(store.feeds_in_category(bob.id, bobs_tech, &[a, b]).await.unwrap(), [a]);

    store
        .set_subscription_categories(alice.id, &[(b, name("News")), (c, name("Tech"))])
        .await
        .expect("move");
    assert_eq!(
        store.feeds_in_category(alice.id, tech.id, &[a, b, c]).await.unwrap(),
        [a, c]
    );
    store
        .rename_category(alice.id, tech.id, &name("Technology"))
        .await
        .expect("rename");
    assert_eq!(
        store.feeds_in_category(alice.id, tech.id, &[a, b, c]).await.unwrap(),
        [a, c]
    );
    store.delete_category(alice.id, tech.id).await.expect("delete");
    assert_eq!(
        store.feeds_in_category(alice.id, tech.id, &[a, b, c]).await.unwrap(),
        Vec::<FeedId>::new()
    );
}

pub async fn renaming_a_category_carries_its_webhook_and_digest_filters_along(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let tech = store.create_category(alice.id, &name("Tech")).await.expect("create");
    store.create_category(alice.id, &name("News")).await.expect("create");
    store.create_category(bob.id, &name("Tech")).await.expect("create");
    let webhook = |owner: UserId, category: &str| NewWebhook {
        user_id: owner,
        url: "https://receiver.example/hook".to_owned(),
        events: vec!["article.new".to_owned()],
        feed_id: None,
        category: Some(category.to_owned()),
        saved_filter: None,
        timer_id: None,
    };
    let alices_tech = store
        .create_webhook(&webhook(alice.id, "Tech"))
        .await
        .expect("create")
        .id;
    let alices_news = store
        .create_webhook(&webhook(alice.id, "News"))
        .await
        .expect("create")
        .id;
    let bobs_tech = store.create_webhook(&webhook(bob.id, "Tech")).await.expect("create").id;
    let at = chrono::Utc::now() + chrono::Duration::hours(1);
    let digest = store
        .create_timer(
            &NewTimer {
                user_id: alice.id,
                name: None,
                schedule: StoredSchedule {
                    kind: "once".into(),
                    spec: None,
                    at_time: None,
                    timezone: "UTC".into(),
                    anchor: at,
                },
                target: TimerTarget::Webhook(alices_news),
                payload: TimerPayload {
                    kind: PayloadKind::Digest,
                    feed_id: None,
                    category: Some("Tech".to_owned()),
                    filter: None,
                },
                next_fire_at: at,
            },
            10,
        )
        .await
        .expect("create")
        .timer
        .id;
    let filters = || async {
        (
            store.get_webhook(alice.id, alices_tech).await.unwrap().category,
            store.get_webhook(alice.id, alices_news).await.unwrap().category,
            store.get_webhook(bob.id, bobs_tech).await.unwrap().category,
            store.get_timer(alice.id, digest).await.unwrap().payload.category,
        )
    };
    let named = |value: &str| Some(value.to_owned());

    // A rename refused for its name changes no filter either.
    assert!(matches!(
        store.rename_category(alice.id, tech.id, &name("News")).await,
        Err(StoreError::Conflict { field: "name" })
    ));
    assert_eq!(
        filters().await,
        (named("Tech"), named("News"), named("Tech"), named("Tech"))
    );

    store
        .rename_category(alice.id, tech.id, &name("Dev"))
        .await
        .expect("rename");
    assert_eq!(
        filters().await,
        (named("Dev"), named("News"), named("Tech"), named("Dev")),
        "only Alice's filters of that category follow it"
    );
    assert_eq!(
        store.find_category(alice.id, &name("Dev")).await.unwrap(),
        Some(tech.id)
    );
    assert_eq!(store.find_category(alice.id, &name("Tech")).await.unwrap(), None);
}

/// The user's articles by id as (read, starred), and each of their feeds' unread counts as the counters say.
type MarkState = (BTreeMap<i64, (bool, bool)>, BTreeMap<FeedId, i64>);

async fn state(store: &SharedStore, user: UserId) -> MarkState {
    let articles = timeline(store, user, &query(ReadFilter::All))
        .await
        .into_iter()
        .map(|article| (article.id, (article.read, article.starred)))
        .collect();
    let counts = store
        .counters(user)
        .await
        .expect("counters")
        .feeds
        .into_iter()
        .collect();
    (articles, counts)
}

/// Each feed's unread count agrees with its articles' read state.
fn counted_unread(store_state: &MarkState, feeds: &[(FeedId, &[i64])]) {
    for (feed, ids) in feeds {
        let unread = ids.iter().filter(|id| !store_state.0[id].0).count() as i64;
        assert_eq!(store_state.1[feed], unread, "feed {feed}");
    }
}

pub async fn bulk_marks_change_the_selected_articles_once_and_keep_counts_exact(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = subscribe(&store, &alice, "https://example.com/a").await;
    let second = subscribe(&store, &alice, "https://example.com/b").await;
    let bobs = subscribe(&store, &bob, "https://example.com/c").await;
    let polled = at("2026-03-01T12:00:00Z");
    let ids = |batch: StoredBatch| batch.articles.iter().map(|article| article.id).collect::<Vec<_>>();
    let a = ids(persist_one(&store, batch(first, dated_entries("a", 4, polled), polled)).await);
    let b = ids(persist_one(&store, batch(second, dated_entries("b", 4, polled), polled)).await);
    let c = ids(persist_one(&store, batch(bobs, dated_entries("c", 2, polled), polled)).await);
    let feeds: [(FeedId, &[i64]); 2] = [(first, &a), (second, &b)];
    let mark = |read, starred, selection: MarkSelection| {
        let store = store.clone();
        async move {
            store
                .mark_articles(alice.id, Marking { read, starred }, &selection)
                .await
                .expect("mark")
        }
    };
    counted_unread(&state(&store, alice.id).await, &feeds);

    // By ids: bob's article is not hers and is not counted; the second time nothing changes.
    let by_ids = MarkSelection {
        ids: Some(vec![a[0], b[1], c[0]]),
        ..MarkSelection::default()
    };
    assert_eq!(mark(Some(true), None, by_ids.clone()).await, 2);
    assert_eq!(mark(Some(true), None, by_ids.clone()).await, 0);
    let after = state(&store, alice.id).await;
    counted_unread(&after, &feeds);
    assert!(after.0[&a[0]].0 && after.0[&b[1]].0 && !after.0[&a[1]].0);
    assert!(!state(&store, bob.id).await.0[&c[0]].0, "bob's article stays unread");

    // Before a date, within one feed: the first two of a, of which a[0] is read already.
    let early = MarkSelection {
        feed_id: Some(first),
        before: Some(polled + chrono::Duration::minutes(2)),
        ..MarkSelection::default()
    };
    assert_eq!(mark(Some(true), None, early.clone()).await, 1);
    counted_unread(&state(&store, alice.id).await, &feeds);

    // Starring and unreading at once counts each article once; unstarring counts only the starred.
    assert_eq!(mark(Some(false), Some(true), by_ids.clone()).await, 2);
    let after = state(&store, alice.id).await;
    counted_unread(&after, &feeds);
    assert_eq!((after.0[&a[0]], after.0[&b[1]]), ((false, true), (false, true)));
    assert_eq!(mark(None, Some(false), MarkSelection::default()).await, 2);
    assert!(state(&store, alice.id).await.0.values().all(|(_, starred)| !starred));

    // Everything read through the cutoffs, then everything unread again, then a feed read by date.
    let unread: i64 = state(&store, alice.id).await.1.values().sum();
    assert_eq!(mark(Some(true), None, MarkSelection::default()).await, unread as u64);
    counted_unread(&state(&store, alice.id).await, &feeds);
    assert_eq!(mark(Some(false), None, MarkSelection::default()).await, 8);
    let after = state(&store, alice.id).await;
    counted_unread(&after, &feeds);
    assert_eq!(after.1.values().sum::<i64>(), 8);
    assert_eq!(mark(Some(true), None, early).await, 2);
    counted_unread(&state(&store, alice.id).await, &feeds);
    assert_eq!(mark(Some(false), None, MarkSelection::default()).await, 2);
    assert_eq!(store.counters(bob.id).await.expect("counters").feeds, [(bobs, 2)]);
}
