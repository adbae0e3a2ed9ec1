//! Cases for a text search of the timeline: what matches, the order by rank or date, and paging by either.

use std::collections::BTreeSet;

use syndic_actors::domain::{ArticleQuery, ArticleSearch, ReadFilter, SearchOrder, UserId};
use syndic_actors::parse::Entry;
use syndic_actors::search_query::SearchQuery;

use crate::support::{at, batch, entry, persist_one, query, subscribe, user, SharedStore};

const URL: &str = "https://example.com/feed.xml";
const OTHER_URL: &str = "https://example.org/atom.xml";

/// An entry with this title, summary and content, published `minute` minutes into 2026.
fn written(key: &str, minute: i64, title: &str, summary: &str, content: &str) -> Entry {
    let mut entry = entry(
        key,
        Some(at("2026-01-01T00:00:00Z") + chrono::Duration::minutes(minute)),
    );
    entry.title = Some(title.to_owned());
    entry.summary = Some(summary.to_owned());
    entry.content = Some(content.to_owned());
    entry
}

fn search(q: &str, order: SearchOrder) -> ArticleQuery {
    let mut request = query(ReadFilter::All);
    request.filter.search = Some(ArticleSearch {
        query: SearchQuery::parse(q).expect("a valid query"),
        order,
    });
    request
}

/// The titles of the whole result, page by page.
async fn titles(store: &SharedStore, user: UserId, mut request: ArticleQuery) -> Vec<String> {
    let mut titles = Vec::new();
    for _ in 0..100 {
        let page = store.list_articles(user, &request).await.expect("search");
        titles.extend(
            page.articles
                .into_iter()
                .map(|article| article.title.unwrap_or_default()),
        );
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => return titles,
        }
    }
    panic!("the cursor never reached the end: {titles:?}");
}

pub async fn search_ranks_title_matches_first_and_reads_text_not_markup(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &bob, OTHER_URL).await;
    let entries = vec![
        written("content", 3, "Weekly notes", "", "<p>Ferris the <b>crab</b></p>"),
        written("title", 1, "Ferris crab", "", "nothing here"),
        written("summary", 2, "Other notes", "Ferris and the crab", ""),
        written(
            "markup",
            4,
            "Markup",
            "",
            r#"<a href="https://x.test/ferris">a link</a> crab"#,
        ),
        written("entity", 5, "Fish &amp; chips", "", "fish&amp;chips"),
    ];
    persist_one(&store, batch(feed, entries, at("2026-01-02T00:00:00Z"))).await;
    persist_one(
        &store,
        batch(
            other,
            vec![written("bob", 1, "Ferris crab", "", "")],
            at("2026-01-02T00:00:00Z"),
        ),
    )
    .await;
    let by_rank = titles(&store, alice.id, search("ferris crab", SearchOrder::Relevance)).await;
    assert_eq!(
        by_rank,
        ["Ferris crab", "Other notes", "Weekly notes"],
        "title, summary, content; bob's unseen"
    );
    let by_date = titles(&store, alice.id, search("ferris crab", SearchOrder::Date)).await;
    assert_eq!(by_date, ["Weekly notes", "Other notes", "Ferris crab"]);
    let by_phrase = titles(&store, alice.id, search("\"crab ferris\"", SearchOrder::Relevance)).await;
    assert!(
        by_phrase.is_empty(),
        "words in the wrong order are no phrase: {by_phrase:?}"
    );
    let phrase = titles(&store, alice.id, search("\"the crab\"", SearchOrder::Relevance)).await;
    assert_eq!(phrase, ["Other notes", "Weekly notes"]);
    let excluded = titles(&store, alice.id, search("crab -notes", SearchOrder::Date)).await;
    assert_eq!(excluded, ["Markup", "Ferris crab"]);
    let either = titles(&store, alice.id, search("chips OR link", SearchOrder::Date)).await;
    assert_eq!(either, ["Fish &amp; chips", "Markup"]);
    let attribute = titles(&store, alice.id, search("x test", SearchOrder::Relevance)).await;
    assert!(
        attribute.is_empty(),
        "a link's address is markup, not text: {attribute:?}"
    );
    let entity = titles(&store, alice.id, search("amp", SearchOrder::Relevance)).await;
    assert!(entity.is_empty(), "an entity is not a word: {entity:?}");
}

pub async fn search_pages_by_rank_or_date_return_each_match_once(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    // Ranks repeat (same texts) and times repeat (minute / 3): both orders need their tiebreak.
    let entries = |prefix: &str| -> Vec<Entry> {
        (0..9)
            .map(|index| {
                let title = if index % 2 == 0 { "Rust weekly" } else { "Weekly" };
                written(
                    &format!("{prefix}{index}"),
                    index / 3,
                    &format!("{title} {prefix}{index}"),
                    "",
                    "rust",
                )
            })
            .collect()
    };
    persist_one(&store, batch(feed, entries("a"), at("2026-01-02T00:00:00Z"))).await;
    persist_one(&store, batch(other, entries("b"), at("2026-01-02T00:00:00Z"))).await;
    for order in [SearchOrder::Relevance, SearchOrder::Date] {
        let mut small = search("rust", order);
        small.limit = 4;
        let paged = titles(&store, alice.id, small.clone()).await;
        let whole = titles(&store, alice.id, search("rust", order)).await;
        assert_eq!(paged, whole, "{order:?}: pages of 4 are the one page cut");
        assert_eq!(paged.iter().collect::<BTreeSet<_>>().len(), 18, "{order:?}: {paged:?}");
        if order == SearchOrder::Relevance {
            assert!(paged[..9].iter().all(|title| title.starts_with("Rust")), "{paged:?}");
        }
        let mut one_feed = small;
        one_feed.feed_id = Some(feed);
        let of_feed = titles(&store, alice.id, one_feed).await;
        assert_eq!(of_feed.len(), 9, "{order:?}: {of_feed:?}");
        assert!(of_feed.iter().all(|title| title.contains(" a")), "{of_feed:?}");
    }
}

/// By relevance, a query with more matches than the search ranks (500) ranks the most recently stored ones only:
/// an older title match is not among them, while by date every match is still found. With fewer matches, the
/// title match is ranked first.
pub async fn search_by_relevance_ranks_only_the_newest_matches_of_a_common_query(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, URL).await;
    let other = subscribe(&store, &alice, OTHER_URL).await;
    let old = vec![written("old", 0, "Crab title", "", "")];
    persist_one(&store, batch(feed, old, at("2026-01-02T00:00:00Z"))).await;
    let newer: Vec<Entry> = (0..500)
        .map(|index| {
            written(
                &format!("new{index}"),
                1 + index,
                &format!("Note {index}"),
                "",
                "a crab",
            )
        })
        .collect();
    persist_one(&store, batch(other, newer, at("2026-01-03T00:00:00Z"))).await;

    let ranked = titles(&store, alice.id, search("crab", SearchOrder::Relevance)).await;
    assert_eq!(ranked.len(), 500, "{:?}", &ranked[..5]);
    assert!(!ranked.contains(&"Crab title".to_owned()), "{:?}", &ranked[..5]);
    let dated = titles(&store, alice.id, search("crab", SearchOrder::Date)).await;
    assert_eq!(dated.len(), 501);
    assert_eq!(dated.last().map(String::as_str), Some("Crab title"));

    let mut in_old_feed = search("crab", SearchOrder::Relevance);
    in_old_feed.feed_id = Some(feed);
    assert_eq!(
        titles(&store, alice.id, in_old_feed).await,
        vec!["Crab title".to_owned()]
    );
    let few = titles(&store, alice.id, search("crab title", SearchOrder::Relevance)).await;
    assert_eq!(few, vec!["Crab title".to_owned()]);
}
