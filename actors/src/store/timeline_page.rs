//! Picking a timeline page from the newest few articles of each followed feed. A feed that returned as many keys
//! as it was asked for may have more below its last one; everything at or above the highest such cut-off is
//! known. When the page fits above it, the page is exact; otherwise the caller asks each feed for a whole page.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rows::Decoded;
use super::StoreError;
use crate::domain::{ArticleId, FeedId};

/// A [`PageKey`] as a backend reads it (`feed_id`, `published_at`, `id`).
#[derive(sqlx::FromRow)]
pub(super) struct PageKeyRow<Time> {
    feed_id: FeedId,
    published_at: Time,
    id: ArticleId,
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn page_keys<Time: Decoded<DateTime<Utc>>>(rows: Vec<PageKeyRow<Time>>) -> Result<Vec<PageKey>, StoreError> {
    rows.into_iter()
        .map(|row| {
            Ok(PageKey {
                published_at: row.published_at.decoded()?,
                id: row.id,
                feed_id: row.feed_id,
            })
        })
        .collect()
}

/// An article's place on the timeline: newest first, ties by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PageKey {
    pub(super) published_at: DateTime<Utc>,
    pub(super) id: ArticleId,
    pub(super) feed_id: FeedId,
}

/// How many keys each feed is asked for: a few first, then (if that cannot settle the page) a whole page, which
/// always does.
pub(super) fn keys_per_feed(rows: i64) -> impl Iterator<Item = i64> {
    let first = FIRST_KEYS_PER_FEED.min(rows);
    std::iter::once(first).chain((first < rows).then_some(rows))
}

/// How many keys to ask each feed for first: enough for a page when the user follows many feeds that publish
/// alike, which is where asking each feed for a whole page costs most.
pub(super) const FIRST_KEYS_PER_FEED: i64 = 2;

/// The ids of the `rows` newest keys, newest first, when `keys` (at most `per_feed` from each feed, the newest
/// of each) prove that no feed has a newer one left out; `None` when a feed cut short could hide one.
pub(super) fn exact_page(mut keys: Vec<PageKey>, per_feed: usize, rows: usize) -> Option<Vec<ArticleId>> {
    let mut per_feed_keys: HashMap<FeedId, (usize, PageKey)> = HashMap::new();
    for key in &keys {
        let (count, oldest) = per_feed_keys.entry(key.feed_id).or_insert((0, *key));
        *count += 1;
        *oldest = (*oldest).min(*key);
    }
    // Below each cut-short feed's oldest key, its other articles are unknown.
    let known_down_to = per_feed_keys
        .values()
        .filter(|(count, _)| *count >= per_feed)
        .map(|(_, oldest)| (oldest.published_at, oldest.id))
        .max();
    keys.sort_unstable_by_key(|key| std::cmp::Reverse((key.published_at, key.id)));
    keys.truncate(rows);
    let exact = match known_down_to {
        None => true,
        Some(bound) => keys.len() == rows && keys.last().is_some_and(|last| (last.published_at, last.id) >= bound),
    };
    exact.then(|| keys.into_iter().map(|key| key.id).collect())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::{exact_page, PageKey};

    fn key(feed_id: i64, second: i64, id: i64) -> PageKey {
        PageKey {
            published_at: DateTime::<Utc>::from_timestamp(second, 0).expect("time"),
            id,
            feed_id,
        }
    }

    #[test]
    fn feeds_that_interleave_give_an_exact_page_from_a_few_keys_each() {
        // Three feeds, two keys each, publishing in turn: the newest three are known.
        let keys = vec![
            key(1, 100, 1),
            key(1, 97, 4),
            key(2, 99, 2),
            key(2, 96, 5),
            key(3, 98, 3),
            key(3, 95, 6),
        ];
        assert_eq!(exact_page(keys, 2, 3), Some(vec![1, 2, 3]));
    }

    #[test]
    fn a_feed_cut_short_above_the_page_end_makes_the_page_uncertain() {
        // Feed 1 gave its two newest; its third could be newer than feed 2's only key.
        let keys = vec![key(1, 100, 1), key(1, 99, 2), key(2, 50, 3)];
        assert_eq!(exact_page(keys, 2, 3), None);
    }

    #[test]
    fn feeds_that_gave_fewer_keys_than_asked_have_no_more() {
        let keys = vec![key(1, 100, 1), key(2, 50, 2)];
        assert_eq!(exact_page(keys, 2, 3), Some(vec![1, 2]), "a short last page is exact");
        assert_eq!(exact_page(Vec::new(), 2, 3), Some(Vec::new()));
    }

    #[test]
    fn a_page_that_ends_on_the_cut_off_itself_is_exact_and_ties_go_by_id() {
        // Feed 1 was cut at (99, 2); the page's last key is that very key.
        let keys = vec![key(1, 100, 1), key(1, 99, 2), key(2, 100, 7)];
        assert_eq!(exact_page(keys, 2, 3), Some(vec![7, 1, 2]));
    }

    #[test]
    fn too_few_keys_for_the_page_while_a_feed_was_cut_short_is_uncertain() {
        let keys = vec![key(1, 100, 1), key(1, 99, 2)];
        assert_eq!(exact_page(keys, 2, 3), None);
    }
}
