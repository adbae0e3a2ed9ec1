//! What both backends' flushes share: which entries of a batch count, and how the ids they resolved become
//! the persistence actor's answer.

use std::collections::{HashMap, HashSet};

use super::{FeedBatch, StoredArticle, StoredBatch};
use crate::domain::{ArticleId, FeedId};
use crate::parse::Entry;

/// Keeps the first of several entries with the same key: a feed that lists an entry twice stores it once.
pub(super) fn first_of_each_key(batch: &FeedBatch) -> Vec<&Entry> {
    let mut seen = HashSet::with_capacity(batch.entries.len());
    batch
        .entries
        .iter()
        .filter(|entry| seen.insert(entry.dedupe_key.as_str()))
        .collect()
}

/// A stored article's id with the key it was stored under.
#[derive(sqlx::FromRow)]
pub(super) struct ArticleKey {
    pub(super) id: ArticleId,
    pub(super) feed_id: FeedId,
    pub(super) dedupe_key: String,
}

/// Each entry's article id by feed and dedupe key, and how many of each feed's articles are new.
#[derive(Default)]
pub(super) struct Resolved {
    ids: HashMap<FeedId, HashMap<String, ArticleId>>,
    new_counts: HashMap<FeedId, usize>,
}

impl Resolved {
    /// An article this flush inserted.
    pub(super) fn inserted(&mut self, article: ArticleKey) {
        *self.new_counts.entry(article.feed_id).or_default() += 1;
        self.known(article);
    }

    /// An article an earlier poll stored. The first id seen for a key wins.
    pub(super) fn known(&mut self, article: ArticleKey) {
        self.ids
            .entry(article.feed_id)
            .or_default()
            .entry(article.dedupe_key)
            .or_insert(article.id);
    }

    pub(super) fn id_of(&self, feed: FeedId, key: &str) -> Option<ArticleId> {
        self.ids.get(&feed).and_then(|keys| keys.get(key)).copied()
    }

    /// The answer for each batch, in order: every unique entry with its id, in feed order, and the new count.
    /// New articles are counted per feed, so a feed listed twice in one flush gets the sum in both.
    pub(super) fn into_stored(self, batches: &[FeedBatch], unique: &[Vec<&Entry>]) -> Vec<StoredBatch> {
        batches
            .iter()
            .zip(unique)
            .map(|(batch, entries)| StoredBatch {
                feed_id: batch.feed_id,
                articles: entries
                    .iter()
                    .filter_map(|entry| {
                        self.id_of(batch.feed_id, &entry.dedupe_key).map(|id| StoredArticle {
                            id,
                            title: entry.title.clone(),
                            link: entry.url.clone(),
                        })
                    })
                    .collect(),
                new_count: self.new_counts.get(&batch.feed_id).copied().unwrap_or(0),
            })
            .collect()
    }
}
