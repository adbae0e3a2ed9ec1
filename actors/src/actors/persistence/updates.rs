//! The feed-state changes that carry no entries (a poll that found nothing new, a failed poll, a meltdown),
//! waiting to be written, in arrival order per feed. Pure: the actor decides when they are written, this decides
//! which still matter and in what order.
//!
//! Ordering rule: per feed, what arrived last wins. A batch's poll record sets the whole feed state (status,
//! errors, timestamps), so a batch drops the changes that arrived before it, and a change that arrives while a
//! batch of its feed is waiting or being written waits for that batch, since it is newer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{FeedId, FeedStatus};
use crate::events::FeedStatusChange;
use crate::store::UnchangedPoll;

/// A failed poll, as the feed actor records it: status `error` (or `dead` when the feed is given up), the
/// message, one more consecutive error, and the next attempt (none for a dead feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollFailure {
    pub feed_id: FeedId,
    pub message: String,
    pub status: FeedStatus,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// How many consecutive failed polls this stands for: 1 from a feed actor, more once waiting failures of one
    /// feed are merged (the last one's message, status and next attempt, every one's error counted).
    pub failed_polls: u32,
    /// Whether the feed's status was another before this failure (before the first, once merged): a change
    /// that its subscribers are told of once it is written.
    pub status_changed: bool,
}

/// One change of a feed's state with no entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedUpdate {
    /// A poll found nothing new: status `ok`, errors cleared, the timestamps.
    Unchanged(UnchangedPoll),
    PollFailed(PollFailure),
    /// The feed's actor crashed too often: status `failed`, with the crash message.
    ActorFailed {
        feed_id: FeedId,
        message: String,
    },
}

impl FeedUpdate {
    /// The status change its subscribers are told of once it is written, if it changes the status. A meltdown
    /// always does: a failed feed has no actor to fail again.
    pub(super) fn status_change(&self) -> Option<FeedStatusChange> {
        match self {
            FeedUpdate::Unchanged(_) => None,
            FeedUpdate::PollFailed(failure) => failure.status_changed.then(|| FeedStatusChange {
                feed: failure.feed_id,
                status: failure.status,
                error: Some(failure.message.clone()),
            }),
            FeedUpdate::ActorFailed { feed_id, message } => Some(FeedStatusChange {
                feed: *feed_id,
                status: FeedStatus::Failed,
                error: Some(message.clone()),
            }),
        }
    }

    pub fn feed_id(&self) -> FeedId {
        match self {
            FeedUpdate::Unchanged(poll) => poll.feed_id,
            FeedUpdate::PollFailed(failure) => failure.feed_id,
            FeedUpdate::ActorFailed { feed_id, .. } => *feed_id,
        }
    }
}

/// The waiting updates of every feed, oldest first within a feed.
#[derive(Debug, Default)]
pub(super) struct WaitingUpdates {
    by_feed: HashMap<FeedId, Vec<FeedUpdate>>,
    count: usize,
}

impl WaitingUpdates {
    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds the newest update of its feed. A poll that found nothing new sets everything the earlier updates
    /// did (an error count included: back to zero), so it replaces them. A failed poll right after another is
    /// merged into it, keeping the count of both, so that a feed that keeps failing while the database is away
    /// waits as one update, not one per poll; a crash report queues behind.
    pub(super) fn push(&mut self, update: FeedUpdate) {
        let queue = self.by_feed.entry(update.feed_id()).or_default();
        if matches!(update, FeedUpdate::Unchanged(_)) {
            self.count -= queue.len();
            queue.clear();
        }
        if append_merging(queue, update) {
            self.count += 1;
        }
    }

    /// A newer batch of the feed arrived: its poll record sets everything the waiting updates would.
    pub(super) fn superseded_by_batch(&mut self, feed: FeedId) {
        if let Some(queue) = self.by_feed.remove(&feed) {
            self.count -= queue.len();
        }
    }

    /// Takes out the updates of every feed that `busy` does not hold back, each feed's in order: in the result,
    /// an unchanged poll comes before every error and failure, since per feed it can only be the first.
    pub(super) fn take_ready(&mut self, busy: impl Fn(FeedId) -> bool) -> Vec<FeedUpdate> {
        let ready: Vec<FeedId> = self.by_feed.keys().copied().filter(|feed| !busy(*feed)).collect();
        let mut unchanged = Vec::new();
        let mut others = Vec::new();
        for feed in ready {
            let queue = self.by_feed.remove(&feed).unwrap_or_default();
            self.count -= queue.len();
            for update in queue {
                match update {
                    FeedUpdate::Unchanged(_) => unchanged.push(update),
                    _ => others.push(update),
                }
            }
        }
        unchanged.extend(others);
        unchanged
    }

    /// Puts back updates that could not be written, before any of their feed's that arrived since.
    pub(super) fn put_back(&mut self, updates: Vec<FeedUpdate>) {
        let mut returned: HashMap<FeedId, Vec<FeedUpdate>> = HashMap::new();
        for update in updates {
            returned.entry(update.feed_id()).or_default().push(update);
        }
        for (feed, mut older) in returned {
            let queue = self.by_feed.entry(feed).or_default();
            // A newer unchanged poll has replaced them meanwhile.
            if matches!(queue.first(), Some(FeedUpdate::Unchanged(_))) {
                continue;
            }
            let waiting = queue.len();
            for newer in std::mem::take(queue) {
                append_merging(&mut older, newer);
            }
            self.count = self.count - waiting + older.len();
            *queue = older;
        }
    }
}

/// Appends `update` to a feed's queue, merging a failed poll into a failed poll just before it. Answers whether
/// the queue grew.
fn append_merging(queue: &mut Vec<FeedUpdate>, update: FeedUpdate) -> bool {
    if let (Some(FeedUpdate::PollFailed(last)), FeedUpdate::PollFailed(newer)) = (queue.last_mut(), &update) {
        let failed_polls = last.failed_polls.saturating_add(newer.failed_polls);
        let status_changed = last.status_changed || newer.status_changed;
        *last = PollFailure {
            failed_polls,
            status_changed,
            ..newer.clone()
        };
        return false;
    }
    queue.push(update);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unchanged(feed_id: FeedId) -> FeedUpdate {
        let now = Utc::now();
        FeedUpdate::Unchanged(UnchangedPoll {
            feed_id,
            polled_at: now,
            next_poll_at: now,
        })
    }

    fn failed(feed_id: FeedId, message: &str) -> FeedUpdate {
        FeedUpdate::PollFailed(PollFailure {
            feed_id,
            message: message.to_owned(),
            status: FeedStatus::Error,
            next_poll_at: None,
            failed_polls: 1,
            status_changed: false,
        })
    }

    fn crashed(feed_id: FeedId) -> FeedUpdate {
        FeedUpdate::ActorFailed {
            feed_id,
            message: "crashed".to_owned(),
        }
    }

    #[test]
    fn an_unchanged_poll_replaces_the_earlier_updates_of_its_feed_only() {
        let mut updates = WaitingUpdates::default();
        updates.push(failed(1, "timeout"));
        updates.push(failed(2, "refused"));
        updates.push(unchanged(1));
        assert_eq!(updates.len(), 2);
        let taken = updates.take_ready(|_| false);
        assert_eq!(taken.len(), 2);
        assert!(taken.contains(&failed(2, "refused")));
        assert!(matches!(taken[0], FeedUpdate::Unchanged(poll) if poll.feed_id == 1));
        assert!(updates.is_empty());
    }

    #[test]
    fn errors_after_an_unchanged_poll_queue_up_in_order() {
        let mut updates = WaitingUpdates::default();
        updates.push(unchanged(1));
        updates.push(failed(1, "first"));
        updates.push(crashed(1));
        let taken = updates.take_ready(|_| false);
        assert!(matches!(taken[0], FeedUpdate::Unchanged(_)));
        assert_eq!(taken[1..], [failed(1, "first"), crashed(1)]);
    }

    #[test]
    fn failed_polls_in_a_row_wait_as_one_that_counts_them_all() {
        let mut updates = WaitingUpdates::default();
        for n in 0..1_000 {
            updates.push(failed(1, &format!("timeout {n}")));
        }
        updates.push(crashed(1));
        updates.push(failed(1, "after the crash"));
        assert_eq!(updates.len(), 3, "a thousand failures wait as one");
        let taken = updates.take_ready(|_| false);
        let FeedUpdate::PollFailed(merged) = &taken[0] else {
            panic!("{taken:?}");
        };
        assert_eq!((merged.message.as_str(), merged.failed_polls), ("timeout 999", 1_000));
        assert_eq!(taken[1..], [crashed(1), failed(1, "after the crash")]);

        // Put back behind a newer failure, they merge again, oldest count first.
        updates.push(failed(1, "newest"));
        updates.put_back(taken);
        assert_eq!(updates.len(), 3);
        let FeedUpdate::PollFailed(last) = &updates.take_ready(|_| false)[2] else {
            panic!("the last update is a failed poll");
        };
        assert_eq!((last.message.as_str(), last.failed_polls), ("newest", 2));
    }

    #[test]
    fn a_batch_drops_the_updates_that_arrived_before_it() {
        let mut updates = WaitingUpdates::default();
        updates.push(failed(1, "timeout"));
        updates.push(crashed(1));
        updates.push(failed(2, "refused"));
        updates.superseded_by_batch(1);
        assert_eq!(updates.len(), 1);
        assert_eq!(updates.take_ready(|_| false), [failed(2, "refused")]);
    }

    #[test]
    fn a_busy_feed_keeps_its_updates_until_its_batch_is_written() {
        let mut updates = WaitingUpdates::default();
        updates.push(failed(1, "after the batch"));
        updates.push(failed(2, "no batch"));
        assert_eq!(updates.take_ready(|feed| feed == 1), [failed(2, "no batch")]);
        assert_eq!(updates.len(), 1);
        assert_eq!(updates.take_ready(|_| false), [failed(1, "after the batch")]);
    }

    #[test]
    fn updates_put_back_go_before_newer_ones() {
        let mut updates = WaitingUpdates::default();
        updates.push(failed(1, "old"));
        let taken = updates.take_ready(|_| false);
        updates.push(crashed(1));
        updates.put_back(taken);
        assert_eq!(updates.len(), 2);
        assert_eq!(updates.take_ready(|_| false), [failed(1, "old"), crashed(1)]);

        updates.push(failed(2, "old"));
        let taken = updates.take_ready(|_| false);
        updates.push(unchanged(2));
        updates.put_back(taken);
        assert_eq!(updates.len(), 1, "a newer unchanged poll replaced them");
    }
}
