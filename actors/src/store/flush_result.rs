//! What both backends' flushes share: which entries of a batch count, which of them are new and what number
//! each new one takes, and how the ids they resolved become the persistence actor's answer.

use std::collections::{HashMap, HashSet};

use super::{FeedBatch, StoredArticle, StoredBatch};
use crate::domain::{ArticleId, FeedId};
use crate::events::{Event, NewArticles};
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

/// The entries no earlier poll stored (none `resolved` knows), the first of each key across the whole flush (a
/// feed listed twice stores a key once), in flush order, each numbered on from its feed's `last_seq`, which this
/// advances. A feed missing from `last_seq` is numbered from 0: a feed without a row, whose insert then fails on
/// the foreign key, so the whole flush fails, as a flush is all or nothing.
pub(super) fn number_new_entries<'a>(
    batches: &'a [FeedBatch],
    unique: &[Vec<&'a Entry>],
    resolved: &Resolved,
    last_seq: &mut HashMap<FeedId, i64>,
) -> Vec<(&'a FeedBatch, &'a Entry, i64)> {
    let mut seen: HashSet<(FeedId, &str)> = HashSet::new();
    let mut numbered = Vec::new();
    for (batch, entries) in batches.iter().zip(unique) {
        for entry in entries {
            if resolved.id_of(batch.feed_id, &entry.dedupe_key).is_some()
                || !seen.insert((batch.feed_id, entry.dedupe_key.as_str()))
            {
                continue;
            }
            let seq = last_seq.entry(batch.feed_id).or_default();
            *seq += 1;
            numbered.push((batch, *entry, *seq));
        }
    }
    numbered
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
    new_ids: HashMap<FeedId, Vec<ArticleId>>,
}

impl Resolved {
    /// An article this flush inserted.
    pub(super) fn inserted(&mut self, article: ArticleKey) {
        *self.new_counts.entry(article.feed_id).or_default() += 1;
        self.new_ids.entry(article.feed_id).or_default().push(article.id);
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

    /// Every article this flush inserted.
    pub(super) fn new_article_ids(&self) -> Vec<ArticleId> {
        self.new_ids.values().flatten().copied().collect()
    }

    pub(super) fn id_of(&self, feed: FeedId, key: &str) -> Option<ArticleId> {
        self.ids.get(&feed).and_then(|keys| keys.get(key)).copied()
    }

    /// The answer for each batch, in order: every unique entry with its id, in feed order, and the new count.
    /// New articles are counted per feed, so a feed listed twice in one flush gets the sum in both.
    pub(super) fn into_stored(mut self, batches: &[FeedBatch], unique: &[Vec<&Entry>]) -> Vec<StoredBatch> {
        for ids in self.new_ids.values_mut() {
            ids.sort_unstable();
        }
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
                new_articles: self.new_ids.get(&batch.feed_id).cloned().unwrap_or_default(),
                webhooks: Vec::new(),
                events: Vec::new(),
            })
            .collect()
    }
}

/// Marks each stored batch with the webhooks its feed's new articles went to.
pub(super) fn attach_webhooks(stored: &mut [StoredBatch], matched: &[(FeedId, crate::webhook::WebhookId)]) {
    for batch in stored {
        batch.webhooks = matched
            .iter()
            .filter(|(feed, _)| *feed == batch.feed_id)
            .map(|(_, webhook)| *webhook)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
    }
}

/// The feeds of this flush that gained articles, each once (a feed listed twice has the same new articles in
/// both answers), in flush order: what `article.new` announces.
pub(crate) fn new_articles(stored: &[StoredBatch]) -> Vec<NewArticles> {
    let mut announced = HashSet::new();
    stored
        .iter()
        .filter(|batch| !batch.new_articles.is_empty() && announced.insert(batch.feed_id))
        .map(|batch| NewArticles {
            feed: batch.feed_id,
            articles: batch.new_articles.clone(),
        })
        .collect()
}

/// Hands each stored event to the first batch of its feed, so that the feed's `article.new` is broadcast once.
pub(super) fn attach_events(stored: &mut [StoredBatch], events: Vec<Event>) {
    let mut first_of_feed: HashMap<FeedId, usize> = HashMap::new();
    for (index, batch) in stored.iter().enumerate() {
        first_of_feed.entry(batch.feed_id).or_insert(index);
    }
    for event in events {
        if let Some(index) = event.feed.and_then(|feed| first_of_feed.get(&feed)) {
            stored[*index].events.push(event);
        }
    }
}
