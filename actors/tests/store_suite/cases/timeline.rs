//! Cases for the timeline: ordering, keyset paging, filters, one article and its read and starred state.

use std::collections::BTreeSet;

use syndic_actors::domain::{ArticleCursor, ArticlePatch, ArticleQuery, ReadFilter, UserId};
use syndic_actors::store::StoreError;

use crate::support::{
    at, batch, entry, newest_first, persist_one, query, subscribe, timeline, timeline_ids, user, SharedStore,
};

const URL: &str = "https://example.com/feed.xml";
const OTHER_URL: &str = "https://example.org/atom.xml";

pub async fn list_articles_newest_first_ties_by_id(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let tie = at("2026-01-01T00:00:00.000001Z");
    let dates = [
        ("tie-1", tie),
        ("old-year", at("2025-12-31T23:59:59.999999Z")),
        ("new-year", at("2026-01-01T00:00:00Z")),
        ("tie-2", tie),
        ("much-later", at("2026-01-01T00:00:00.000002Z")),
        ("decade-before", at("2019-06-15T12:00:00Z")),
        ("tie-3", tie),
    ];
    let entries = dates.iter().map(|(key, date)| entry(key, Some(*date))).collect();
    let stored = persist_one(&store, batch(feed, entries, tie)).await;
    let id = |key: &str| {
        let position = dates.iter().position(|(k, _)| *k == key).expect("a key");
        stored.articles[position].id
    };
    let listed = timeline(&store, alice.id, &query(ReadFilter::All)).await;
    assert_eq!(listed.len(), 7);
    let ids: Vec<i64> = listed.iter().map(|article| article.id).collect();
    assert_eq!(ids, newest_first(&listed), "sorted by (published_at, id) descending");
    assert_eq!(ids[0], id("much-later"));
    // Equal times: the larger id first.
    let mut ties = [id("tie-1"), id("tie-2"), id("tie-3")];
    ties.sort_unstable_by(|left, right| right.cmp(left));
    assert_eq!(ids[1..4], ties[..]);
    assert_eq!(ids[4..], [id("new-year"), id("old-year"), id("decade-before")]);
}

pub async fn list_articles_pages_by_keyset_without_gaps_or_overlaps(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let start = at("2025-12-31T23:59:59.999990Z");
    // Groups of three share a time, one microsecond apart, across the year boundary.
    let entries = (0..24)
        .map(|index| {
            let date = start + chrono::Duration::microseconds(index / 3);
            entry(&format!("e{index}"), Some(date))
        })
        .collect();
    persist_one(&store, batch(feed, entries, start)).await;
    let everything = timeline_ids(&store, alice.id, &query(ReadFilter::All)).await;
    assert_eq!(everything.len(), 24);

    for limit in [1, 4, 5, 23, 24, 25] {
        let mut paged = Vec::new();
        let mut request = ArticleQuery {
            limit,
            ..query(ReadFilter::All)
        };
        let mut pages = 0;
        loop {
            let page = store.list_articles(alice.id, &request).await.expect("page");
            pages += 1;
            assert!(page.articles.len() <= limit as usize);
            paged.extend(page.articles.iter().map(|article| article.id));
            let Some(cursor) = page.next_cursor else {
                break;
            };
            assert_eq!(page.articles.len(), limit as usize, "only the last page is short");
            let last = page.articles.last().expect("a full page");
            assert_eq!((cursor.published_at, cursor.article_id), (last.published_at, last.id));
            // Through the opaque token, as the API hands it out.
            request.cursor = Some(ArticleCursor::decode(&cursor.encode()).expect("token"));
            assert!(pages <= 24, "paging does not end");
        }
        assert_eq!(paged, everything, "limit {limit}");
        assert_eq!(pages, 24_u32.div_ceil(limit) as usize, "limit {limit}");
    }
}

pub async fn list_articles_filters_by_read_starred_and_feed(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let keys = ["a", "b", "c", "d"];
    let entries = keys.iter().map(|key| entry(key, Some(polled))).collect::<Vec<_>>();
    let here = persist_one(&store, batch(feed, entries.clone(), polled)).await;
    let there = persist_one(&store, batch(other, entries, polled)).await;
    let [a, b, c, _d] = [0, 1, 2, 3].map(|index| here.articles[index].id);
    let elsewhere = there.articles[0].id;
    let patch = |read, starred| ArticlePatch { read, starred };
    store
        .update_article(alice.id, a, patch(Some(true), None))
        .await
        .expect("a");
    store
        .update_article(alice.id, b, patch(Some(true), Some(true)))
        .await
        .expect("b");
    store
        .update_article(alice.id, c, patch(None, Some(true)))
        .await
        .expect("c");
    store
        .update_article(alice.id, elsewhere, patch(Some(true), None))
        .await
        .expect("x");

    let select = |status, starred, feed_id| ArticleQuery {
        feed_id,
        starred,
        ..query(status)
    };
    let set = |ids: Vec<i64>| ids.into_iter().collect::<BTreeSet<i64>>();
    let here_all = set(here.articles.iter().map(|article| article.id).collect());
    let cases = [
        (select(ReadFilter::Read, None, Some(feed)), set(vec![a, b])),
        (
            select(ReadFilter::Unread, None, Some(feed)),
            &here_all - &set(vec![a, b]),
        ),
        (select(ReadFilter::All, None, Some(feed)), here_all.clone()),
        (select(ReadFilter::All, Some(true), Some(feed)), set(vec![b, c])),
        (
            select(ReadFilter::All, Some(false), Some(feed)),
            &here_all - &set(vec![b, c]),
        ),
        (select(ReadFilter::Read, Some(true), Some(feed)), set(vec![b])),
        (select(ReadFilter::Unread, Some(true), None), set(vec![c])),
        (select(ReadFilter::Read, None, None), set(vec![a, b, elsewhere])),
        (select(ReadFilter::Read, None, Some(other)), set(vec![elsewhere])),
        (select(ReadFilter::All, None, None), {
            let mut all = here_all.clone();
            all.extend(there.articles.iter().map(|article| article.id));
            all
        }),
    ];
    for (request, expected) in cases {
        let listed = timeline(&store, alice.id, &request).await;
        assert_eq!(
            set(listed.iter().map(|article| article.id).collect()),
            expected,
            "{request:?}"
        );
        assert_eq!(
            listed.iter().map(|article| article.id).collect::<Vec<_>>(),
            newest_first(&listed)
        );
    }
}

pub async fn get_and_update_article(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let stored = persist_one(&store, batch(feed, vec![entry("a", Some(polled))], polled)).await;
    let id = stored.articles[0].id;
    let flags = |read, starred| ArticlePatch { read, starred };

    let article = store.get_article(alice.id, id).await.expect("get");
    assert_eq!((article.id, article.read, article.starred), (id, false, false));
    let read = store
        .update_article(alice.id, id, flags(Some(true), None))
        .await
        .expect("read");
    assert_eq!((read.read, read.starred), (true, false));
    let starred = store
        .update_article(alice.id, id, flags(None, Some(true)))
        .await
        .expect("star");
    assert_eq!(
        (starred.read, starred.starred),
        (true, true),
        "None leaves read as it is"
    );
    let same = store
        .update_article(alice.id, id, flags(Some(true), Some(true)))
        .await
        .expect("again");
    assert_eq!((same.read, same.starred), (true, true));
    let nothing = store
        .update_article(alice.id, id, flags(None, None))
        .await
        .expect("noop");
    assert_eq!((nothing.read, nothing.starred), (true, true));
    let unread = store
        .update_article(alice.id, id, flags(Some(false), None))
        .await
        .expect("unread");
    assert_eq!((unread.read, unread.starred), (false, true));
    let cleared = store
        .update_article(alice.id, id, flags(None, Some(false)))
        .await
        .expect("unstar");
    assert_eq!((cleared.read, cleared.starred), (false, false));
    assert_eq!(store.get_article(alice.id, id).await.expect("get"), cleared);
    assert_eq!(cleared.title, article.title);

    for outcome in [
        store.get_article(bob.id, id).await,
        store.update_article(bob.id, id, flags(Some(true), None)).await,
        store.get_article(alice.id, id + 1000).await,
        store.update_article(alice.id, id + 1000, flags(Some(true), None)).await,
    ] {
        assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
    }
    let untouched = store.get_article(alice.id, id).await.expect("get");
    assert!(!untouched.read, "bob's update did not reach alice's state");
}

pub async fn text_round_trips(store: SharedStore) {
    let name = "zoë_日本語_🦀";
    let alice = store
        .create_user(&syndic_actors::domain::NewUser {
            username: name.to_owned(),
            email: "zoë@exämple.com".to_owned(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            invite_hash: None,
        })
        .await
        .expect("create");
    assert_eq!(alice.username, name);
    let found = store.find_credentials(name).await.expect("find").expect("by name");
    assert_eq!(found.user, alice);
    assert_eq!(found.user.email, "zoë@exämple.com");

    let url = "https://例え.テスト/フィード?q=ü&x='\"";
    let feed = subscribe(&store, &alice, url).await;
    assert_eq!(store.get_feed(feed).await.expect("feed").url, url);
    let polled = at("2026-03-01T12:00:00Z");
    let tricky = "quotes ' \" `, backslash \\ \\\\, percent % _, newline\nand tab\t, \
                  SQL '); DROP TABLE articles; --, RTL עברית, combining e\u{301}, \
                  emoji 👩‍👩‍👧‍👦🏳️‍🌈, astral 𝕊, BOM \u{feff}, replacement \u{fffd}";
    let mut text = entry("unicode-🦀", Some(polled));
    text.title = Some(tricky.to_owned());
    text.summary = Some(String::new());
    text.content = Some(tricky.repeat(2_000));
    text.author = Some("Zoë Ünïcödé".to_owned());
    text.categories = vec!["日本語".to_owned(), "🦀".to_owned(), String::new(), "a,b".to_owned()];
    text.guid = None;
    text.url = None;
    let mut empty = entry("no-categories", Some(polled));
    empty.categories = Vec::new();
    let stored = persist_one(&store, batch(feed, vec![text.clone(), empty], polled)).await;
    assert_eq!(stored.articles[0].title.as_deref(), Some(tricky));

    let article = store.get_article(alice.id, stored.articles[0].id).await.expect("get");
    assert_eq!(article.title, text.title);
    assert_eq!(article.summary, text.summary);
    assert_eq!(article.content, text.content);
    assert_eq!(article.author, text.author);
    assert_eq!(article.categories, text.categories);
    assert_eq!(article.url, None);
    let bare = store.get_article(alice.id, stored.articles[1].id).await.expect("get");
    assert!(bare.categories.is_empty());
    let again = persist_one(&store, batch(feed, vec![text], polled)).await;
    assert_eq!(
        (again.new_count, again.articles[0].id),
        (0, stored.articles[0].id),
        "same key"
    );
}

pub async fn articles_carry_their_enclosures_and_their_feeds_title(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let polled = at("2026-03-01T12:00:00Z");
    let episode = entry("episode", Some(polled));
    let mut text = entry("text", Some(polled - chrono::Duration::minutes(1)));
    text.enclosures = Vec::new();
    let stored = persist_one(&store, batch(feed, vec![episode.clone(), text], polled)).await;

    let listed = timeline(&store, alice.id, &query(ReadFilter::All)).await;
    assert_eq!(listed[0].enclosures, episode.enclosures);
    assert!(!listed[0].enclosures.is_empty());
    assert!(listed[1].enclosures.is_empty(), "none stored as none");
    assert!(listed
        .iter()
        .all(|article| article.feed_title.as_deref() == Some("A feed")));
    let one = store.get_article(alice.id, stored.articles[0].id).await.expect("get");
    assert_eq!(one.enclosures, episode.enclosures);
    assert_eq!(one.feed_title.as_deref(), Some("A feed"));
}

/// A page is picked from a few keys per feed when they settle it, from a whole page per feed when one feed crowds
/// the top, and (SQLite) from the store's newest articles when the user follows what they come from: whichever
/// way, every page is the one a single sorted timeline would give, also once another user's feed crowds the store.
pub async fn pages_over_many_feeds_match_one_sorted_timeline(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let start = at("2026-02-01T00:00:00Z");
    let mut expected: Vec<(chrono::DateTime<chrono::Utc>, i64)> = Vec::new();
    for feed_number in 0..8_i64 {
        let feed = subscribe(&store, &alice, &format!("https://feeds.example/{feed_number}.xml")).await;
        // Feed 0 holds the twelve newest articles; the others interleave below it, two of them sharing times.
        let dates: Vec<_> = if feed_number == 0 {
            (0..12).map(|n| start + chrono::Duration::minutes(1_000 + n)).collect()
        } else {
            (0..5)
                .map(|n| start + chrono::Duration::minutes(n * 10 + (feed_number % 4)))
                .collect()
        };
        let entries = dates
            .iter()
            .enumerate()
            .map(|(n, date)| entry(&format!("f{feed_number}-{n}"), Some(*date)))
            .collect();
        let stored = persist_one(&store, batch(feed, entries, start)).await;
        expected.extend(dates.into_iter().zip(stored.articles.iter().map(|article| article.id)));
    }
    expected.sort_unstable_by(|left, right| right.cmp(left));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    // Every third article read, so that unread pages skip some in every feed.
    for id in expected.iter().step_by(3) {
        let read = ArticlePatch {
            read: Some(true),
            starred: None,
        };
        store.update_article(alice.id, *id, read).await.expect("read");
    }
    let unread: Vec<i64> = expected
        .iter()
        .enumerate()
        .filter(|(position, _)| position % 3 != 0)
        .map(|(_, id)| *id)
        .collect();

    // Alice follows every feed at first; then another user's feed crowds the newest articles of the store.
    let bob = user(&store, "bob").await;
    let crowd = subscribe(&store, &bob, "https://crowd.example/feed.xml").await;
    let late = start + chrono::Duration::days(1);
    pages_match(&store, alice.id, &expected, &unread, false).await;
    let crowding = (0..400).map(|n| entry(&format!("crowd-{n}"), Some(late))).collect();
    persist_one(&store, batch(crowd, crowding, late)).await;
    pages_match(&store, alice.id, &expected, &unread, true).await;
}

async fn pages_match(store: &SharedStore, alice: UserId, expected: &[i64], unread: &[i64], crowded: bool) {
    for (status, wanted) in [(ReadFilter::All, expected), (ReadFilter::Unread, unread)] {
        for limit in [1, 2, 3, 5, 7, 50] {
            let mut request = ArticleQuery { limit, ..query(status) };
            let mut paged = Vec::new();
            loop {
                let page = store.list_articles(alice, &request).await.expect("page");
                paged.extend(page.articles.iter().map(|article| article.id));
                let Some(cursor) = page.next_cursor else {
                    break;
                };
                request.cursor = Some(cursor);
                assert!(paged.len() <= wanted.len(), "paging does not end");
            }
            assert_eq!(paged, wanted, "{status:?}, limit {limit}, crowded: {crowded}");
        }
    }
}
