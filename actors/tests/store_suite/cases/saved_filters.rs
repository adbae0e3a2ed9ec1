//! Saved filters: the matcher agrees with the timeline with the same filter, keeps only the owner's articles,
//! and matches nothing for another user's filter or a deleted one.

use syndic_actors::domain::ReadFilter;
use syndic_actors::organise::Name;
use syndic_actors::saved_filter::FilterQuery;

use crate::support::{at, batch, dated_entries, persist_one, query, subscribe, timeline_ids, user, SharedStore};

pub async fn a_saved_filter_matches_what_the_timeline_with_it_lists(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    let bobs_feed = subscribe(&store, &bob, "https://example.com/b").await;
    let stored = persist_one(
        &store,
        batch(
            feed,
            dated_entries("a", 4, at("2026-11-01T00:00:00Z")),
            at("2026-11-02T00:00:00Z"),
        ),
    )
    .await;
    let bobs = persist_one(
        &store,
        batch(
            bobs_feed,
            dated_entries("b", 2, at("2026-11-01T00:00:00Z")),
            at("2026-11-02T00:00:00Z"),
        ),
    )
    .await;
    let mut every_id = stored.new_articles.clone();
    every_id.extend(&bobs.new_articles);

    // "Title a-0" … "Title a-3" by "Author a-0" …: the search needs the index and the author to agree.
    for (q, author) in [
        (Some("title"), Some("Author a-1")),
        (Some("content"), Some("author a-2")),
        (None, Some("Author a-3")),
    ] {
        let parsed = FilterQuery::parse(q, None, None, author).expect("a valid query");
        let saved = store
            .create_saved_filter(
                alice.id,
                &Name::saved_filter(&format!("{q:?} {author:?}")).unwrap(),
                &parsed,
            )
            .await
            .expect("saved");
        let mut by_timeline = query(ReadFilter::All);
        by_timeline.filter = parsed.article_filter();
        let mut listed = timeline_ids(&store, alice.id, &by_timeline).await;
        listed.sort_unstable();
        assert!(!listed.is_empty(), "{q:?} {author:?} lists something");
        assert!(
            listed.len() < stored.new_articles.len(),
            "{q:?} {author:?} leaves something out"
        );
        let matched = store
            .saved_filter_matches(alice.id, saved.id, &every_id)
            .await
            .expect("matched");
        assert_eq!(matched, listed, "{q:?} {author:?}");
        assert_eq!(
            store
                .saved_filter_matches(bob.id, saved.id, &every_id)
                .await
                .expect("matched"),
            Vec::<i64>::new(),
            "another user's filter matches nothing"
        );
    }

    let all = FilterQuery::parse(Some("title"), None, None, None).unwrap();
    let saved = store
        .create_saved_filter(alice.id, &Name::saved_filter("all").unwrap(), &all)
        .await
        .expect("saved");
    let mut alices = stored.new_articles.clone();
    alices.sort_unstable();
    assert_eq!(
        store.saved_filter_matches(alice.id, saved.id, &every_id).await.unwrap(),
        alices
    );
    store.delete_saved_filter(alice.id, saved.id).await.expect("deleted");
    assert_eq!(
        store.saved_filter_matches(alice.id, saved.id, &every_id).await.unwrap(),
        Vec::<i64>::new(),
        "a deleted filter matches nothing"
    );
}
