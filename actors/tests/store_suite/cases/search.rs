//! Cases for a text search of the timeline: what matches, the order by rank or date, and paging by either.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use syndic_actors::domain::{ArticlePatch, ArticleQuery, ArticleSearch, FeedId, ReadFilter, SearchOrder, UserId};
use syndic_actors::organise::{Name, SubscriptionPatch};
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
    for _ in 0..200 {
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

/// One of the articles of the date-order case, as the test expects the store to list it.
struct Dated {
    id: i64,
    title: String,
    published_at: DateTime<Utc>,
    feed: FeedId,
    content: String,
    author: &'static str,
}

/// By date, a search returns every match once in timeline order, page after page, whatever share of the articles
/// match (every one, 1 in 10, 1 in 50, a handful, none), combined with each filter, and whatever the page size:
/// that crosses between a walk of the timeline and reading every match, both ways, within one result.
/// Ids do not follow the dates, times repeat, and another user's feed lies among the newest articles.
pub async fn search_by_date_lists_every_match_in_timeline_order_at_any_frequency_and_filter(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feeds = [
        subscribe(&store, &alice, URL).await,
        subscribe(&store, &alice, OTHER_URL).await,
        subscribe(&store, &bob, "https://example.net/bob.xml").await,
    ];
    let patch = SubscriptionPatch {
        title: None,
        category: Some(Some(Name::category("News").unwrap())),
        tags: Some(vec![Name::tag("daily").unwrap()]),
    };
    store
        .update_subscription(alice.id, feeds[1], &patch)
        .await
        .expect("organise");

    let mut articles = Vec::new();
    for (slot, feed) in feeds.iter().enumerate() {
        let indexes: Vec<i64> = (0..450).filter(|index| index % 3 == slot as i64).collect();
        let entries = indexes
            .iter()
            .map(|index| {
                let mut words = vec!["every"];
                if index % 10 == 0 {
                    words.push("tenth");
                }
                if index % 50 == 0 {
                    words.push("sparse");
                }
                if [7, 8, 200].contains(index) {
                    words.push("handful");
                }
                // Scrambled against the ids (a feed's articles are stored in turn), two at each minute.
                let minute = (index * 37) % 450 / 2;
                let mut entry = written(&format!("k{index}"), minute, &format!("N{index}"), "", &words.join(" "));
                entry.author = Some(if index % 4 == 0 { "Ann" } else { "Bo" }.to_owned());
                entry
            })
            .collect::<Vec<_>>();
        let stored = persist_one(&store, batch(*feed, entries.clone(), at("2026-02-01T00:00:00Z"))).await;
        for (entry, article) in entries.iter().zip(&stored.articles) {
            articles.push(Dated {
                id: article.id,
                title: entry.title.clone().unwrap_or_default(),
                published_at: entry.published_at.expect("dated"),
                feed: *feed,
                content: entry.content.clone().unwrap_or_default(),
                author: if entry.author.as_deref() == Some("Ann") {
                    "Ann"
                } else {
                    "Bo"
                },
            });
        }
    }
    // Some read, some starred, among alice's newest.
    let mut newest: Vec<&Dated> = articles.iter().filter(|article| article.feed != feeds[2]).collect();
    newest.sort_by_key(|article| std::cmp::Reverse((article.published_at, article.id)));
    let read: BTreeSet<i64> = newest.iter().step_by(3).take(40).map(|article| article.id).collect();
    let starred: BTreeSet<i64> = newest
        .iter()
        .skip(1)
        .step_by(5)
        .take(20)
        .map(|article| article.id)
        .collect();
    for (ids, patch) in [
        (
            &read,
            ArticlePatch {
                read: Some(true),
                starred: None,
            },
        ),
        (
            &starred,
            ArticlePatch {
                read: None,
                starred: Some(true),
            },
        ),
    ] {
        for id in ids {
            store.update_article(alice.id, *id, patch).await.expect("mark");
        }
    }

    let since = at("2026-01-01T00:00:00Z") + chrono::Duration::minutes(40);
    let until = at("2026-01-01T00:00:00Z") + chrono::Duration::minutes(190);
    for q in [
        "every",
        "tenth",
        "sparse",
        "handful",
        "nowhere",
        "tenth OR sparse",
        "every -tenth",
    ] {
        let matches = |content: &str| match q {
            "tenth OR sparse" => content.contains("tenth") || content.contains("sparse"),
            "every -tenth" => !content.contains("tenth"),
            word => content.split(' ').any(|found| found == word),
        };
        for filter in 0..9 {
            let mut request = search(q, SearchOrder::Date);
            match filter {
                1 => request.feed_id = Some(feeds[0]),
                2 => request.filter.since = Some(since),
                3 => request.filter.until = Some(until),
                4 => request.filter.author = Some("ann".to_owned()),
                5 => request.status = ReadFilter::Unread,
                6 => request.status = ReadFilter::Read,
                7 => request.starred = Some(true),
                8 => {
                    request.starred = Some(false);
                    request.filter.category = Some("News".to_owned());
                    request.filter.tag = Some("daily".to_owned());
                }
                _ => {}
            }
            let kept = |article: &&Dated| -> bool {
                article.feed != feeds[2]
                    && matches(&article.content)
                    && match filter {
                        1 => article.feed == feeds[0],
                        2 => article.published_at >= since,
                        3 => article.published_at < until,
                        4 => article.author == "Ann",
                        5 => !read.contains(&article.id),
                        6 => read.contains(&article.id),
                        7 => starred.contains(&article.id),
                        8 => !starred.contains(&article.id) && article.feed == feeds[1],
                        _ => true,
                    }
            };
            let mut expected: Vec<&Dated> = articles.iter().filter(kept).collect();
            expected.sort_by_key(|article| std::cmp::Reverse((article.published_at, article.id)));
            let expected: Vec<String> = expected.iter().map(|article| article.title.clone()).collect();
            for limit in [3, 9, 100] {
                request.limit = limit;
                assert_eq!(
                    titles(&store, alice.id, request.clone()).await,
                    expected,
                    "{q:?}, filter {filter}, pages of {limit}"
                );
            }
        }
    }
}
