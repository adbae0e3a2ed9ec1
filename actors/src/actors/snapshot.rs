//! What operators see of each feed actor: a snapshot the actor publishes whenever its state changes, kept in
//! one shared registry so that listing the worst of 100k actors needs no round trip to any of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::domain::{FeedId, FeedStatus};
use crate::schedule::IntervalReason;

/// One feed actor's state, as the actor itself last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorSnapshot {
    pub feed_id: FeedId,
    pub url: String,
    pub status: FeedStatus,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The last poll's own time, from its first request to its outcome, without the wait for politeness slots.
    pub last_poll_duration_ms: Option<u64>,
    /// How long the last poll waited for its politeness slots (global and per host, the per-host gap included).
    pub last_poll_wait_ms: Option<u64>,
    /// The HTTP status of the last answer (304 for not modified), if the last poll got one.
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_errors: u32,
    /// How many times the supervisor restarted this feed's actor since the engine started.
    pub restarts: u32,
    /// Messages waiting in the actor's mailbox.
    pub mailbox_depth: usize,
    pub entries_total: u64,
    pub bytes_total: u64,
    pub responses_ok: u64,
    pub responses_not_modified: u64,
    pub interval_seconds: u64,
    pub interval_reason: IntervalReason,
}

impl ActorSnapshot {
    /// The share of 304 answers among 200 and 304 answers, if there were any.
    pub fn not_modified_ratio(&self) -> Option<f64> {
        let answers = self.responses_ok + self.responses_not_modified;
        (answers > 0).then(|| self.responses_not_modified as f64 / answers as f64)
    }
}

/// The order of an actor listing: the worst or the next first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorOrder {
    /// Most consecutive errors first.
    Errors,
    /// Slowest last poll first.
    Duration,
    /// Soonest next poll first.
    NextPoll,
}

/// A page of the registry, with totals over every actor.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorListing {
    pub total: usize,
    pub by_status: Vec<(FeedStatus, usize)>,
    pub actors: Vec<ActorSnapshot>,
}

#[derive(Clone, Default)]
pub struct ActorRegistry {
    /// Boxed: a map keeps about twice as many slots as entries, and at a million actors an empty slot the size
    /// of a snapshot cost more than the snapshots (BENCHMARKS.md, "A million feeds").
    snapshots: Arc<RwLock<HashMap<FeedId, Box<ActorSnapshot>>>>,
    /// Each running actor's live mailbox counter, read when a listing is made.
    mailboxes: Arc<RwLock<HashMap<FeedId, Arc<AtomicUsize>>>>,
}

impl ActorRegistry {
    /// A new actor's mailbox counter, replacing the one of an actor it succeeds.
    pub fn track_mailbox(&self, feed: FeedId) -> Arc<AtomicUsize> {
        let waiting = Arc::new(AtomicUsize::new(0));
        if let Ok(mut mailboxes) = self.mailboxes.write() {
            mailboxes.insert(feed, waiting.clone());
        }
        waiting
    }

    /// The deepest mailbox of all running actors.
    pub fn deepest_mailbox(&self) -> usize {
        let Ok(mailboxes) = self.mailboxes.read() else {
            return 0;
        };
        mailboxes
            .values()
            .map(|waiting| waiting.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Marks a feed whose actor is gone for good after a meltdown.
    pub fn mark_failed(&self, feed: FeedId, message: &str) {
        if let Ok(mut mailboxes) = self.mailboxes.write() {
            mailboxes.remove(&feed);
        }
        if let Ok(mut snapshots) = self.snapshots.write() {
            if let Some(snapshot) = snapshots.get_mut(&feed) {
                snapshot.status = FeedStatus::Failed;
                snapshot.last_error = Some(message.to_owned());
                snapshot.next_poll_at = None;
                snapshot.mailbox_depth = 0;
            }
        }
    }

    pub fn publish(&self, snapshot: ActorSnapshot) {
        if let Ok(mut snapshots) = self.snapshots.write() {
            match snapshots.get_mut(&snapshot.feed_id) {
                Some(published) => **published = snapshot,
                None => {
                    snapshots.insert(snapshot.feed_id, Box::new(snapshot));
                }
            }
        }
    }

    pub fn remove(&self, feed: FeedId) {
        if let Ok(mut snapshots) = self.snapshots.write() {
            snapshots.remove(&feed);
        }
        if let Ok(mut mailboxes) = self.mailboxes.write() {
            mailboxes.remove(&feed);
        }
    }

    /// How many actors are in each status.
    pub fn count_by_status(&self) -> Vec<(FeedStatus, usize)> {
        let Ok(snapshots) = self.snapshots.read() else {
            return Vec::new();
        };
        count_by_status(snapshots.values().map(|snapshot| &**snapshot))
    }

    /// The first `limit` actors in `order`, optionally of one status, with totals over all actors.
    pub fn list(&self, order: ActorOrder, status: Option<FeedStatus>, limit: usize) -> ActorListing {
        let Ok(snapshots) = self.snapshots.read() else {
            return ActorListing {
                total: 0,
                by_status: Vec::new(),
                actors: Vec::new(),
            };
        };
        let mut chosen: Vec<&ActorSnapshot> = snapshots
            .values()
            .map(|snapshot| &**snapshot)
            .filter(|snapshot| status.is_none_or(|status| snapshot.status == status))
            .collect();
        let compare = |a: &&ActorSnapshot, b: &&ActorSnapshot| {
            match order {
                ActorOrder::Errors => b.consecutive_errors.cmp(&a.consecutive_errors),
                ActorOrder::Duration => b.last_poll_duration_ms.cmp(&a.last_poll_duration_ms),
                // Parked actors have no next poll: they go last.
                ActorOrder::NextPoll => a
                    .next_poll_at
                    .is_none()
                    .cmp(&b.next_poll_at.is_none())
                    .then(a.next_poll_at.cmp(&b.next_poll_at)),
            }
            .then(a.feed_id.cmp(&b.feed_id))
        };
        // Only the first `limit` need to be in order: partition, then sort that part.
        if limit < chosen.len() {
            chosen.select_nth_unstable_by(limit, compare);
            chosen.truncate(limit);
        }
        chosen.sort_unstable_by(compare);
        let mailboxes = self.mailboxes.read().ok();
        let live_depth = |feed: FeedId| {
            mailboxes
                .as_ref()
                .and_then(|mailboxes| mailboxes.get(&feed))
                .map(|waiting| waiting.load(Ordering::Relaxed))
        };
        ActorListing {
            total: snapshots.len(),
            by_status: count_by_status(snapshots.values().map(|snapshot| &**snapshot)),
            actors: chosen
                .into_iter()
                .map(|snapshot| ActorSnapshot {
                    mailbox_depth: live_depth(snapshot.feed_id).unwrap_or(0),
                    ..snapshot.clone()
                })
                .collect(),
        }
    }
}

fn count_by_status<'a>(snapshots: impl Iterator<Item = &'a ActorSnapshot>) -> Vec<(FeedStatus, usize)> {
    let statuses = [
        FeedStatus::Pending,
        FeedStatus::Ok,
        FeedStatus::Error,
        FeedStatus::Dead,
        FeedStatus::Failed,
    ];
    let mut counts = [0usize; 5];
    for snapshot in snapshots {
        if let Some(index) = statuses.iter().position(|status| *status == snapshot.status) {
            counts[index] += 1;
        }
    }
    statuses.into_iter().zip(counts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(
        feed_id: FeedId,
        status: FeedStatus,
        errors: u32,
        duration: u64,
        next_in_minutes: Option<i64>,
    ) -> ActorSnapshot {
        ActorSnapshot {
            feed_id,
            url: format!("https://example.com/{feed_id}"),
            status,
            last_poll_at: None,
            next_poll_at: next_in_minutes.map(|minutes| DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes)),
            last_poll_duration_ms: Some(duration),
            last_poll_wait_ms: Some(0),
            last_status_code: Some(200),
            last_error: None,
            consecutive_errors: errors,
            restarts: 0,
            mailbox_depth: 0,
            entries_total: 0,
            bytes_total: 0,
            responses_ok: 3,
            responses_not_modified: 1,
            interval_seconds: 1800,
            interval_reason: IntervalReason::Adaptive,
        }
    }

    fn registry() -> ActorRegistry {
        let registry = ActorRegistry::default();
        registry.publish(snapshot(1, FeedStatus::Ok, 0, 50, Some(30)));
        registry.publish(snapshot(2, FeedStatus::Error, 3, 900, Some(10)));
        registry.publish(snapshot(3, FeedStatus::Dead, 10, 20, None));
        registry.publish(snapshot(4, FeedStatus::Error, 1, 400, Some(5)));
        registry
    }

    fn ids(listing: &ActorListing) -> Vec<FeedId> {
        listing.actors.iter().map(|snapshot| snapshot.feed_id).collect()
    }

    #[test]
    fn listings_put_the_worst_or_the_next_first() {
        let registry = registry();
        assert_eq!(ids(&registry.list(ActorOrder::Errors, None, 10)), vec![3, 2, 4, 1]);
        assert_eq!(ids(&registry.list(ActorOrder::Duration, None, 10)), vec![2, 4, 1, 3]);
        assert_eq!(ids(&registry.list(ActorOrder::NextPoll, None, 10)), vec![4, 2, 1, 3]);
        assert_eq!(ids(&registry.list(ActorOrder::Errors, None, 2)), vec![3, 2]);
        assert_eq!(
            ids(&registry.list(ActorOrder::Errors, Some(FeedStatus::Error), 10)),
            vec![2, 4]
        );
    }

    #[test]
    fn totals_cover_every_actor_whatever_the_page() {
        let listing = registry().list(ActorOrder::Errors, Some(FeedStatus::Dead), 1);
        assert_eq!(listing.total, 4);
        let count = |status| listing.by_status.iter().find(|(s, _)| *s == status).map(|(_, n)| *n);
        assert_eq!(count(FeedStatus::Error), Some(2));
        assert_eq!(count(FeedStatus::Ok), Some(1));
        assert_eq!(count(FeedStatus::Failed), Some(0));
    }

    #[test]
    fn a_published_snapshot_replaces_the_last_and_remove_forgets_it() {
        let registry = registry();
        registry.publish(snapshot(2, FeedStatus::Ok, 0, 10, Some(1)));
        assert_eq!(
            registry
                .list(ActorOrder::Errors, Some(FeedStatus::Error), 10)
                .actors
                .len(),
            1
        );
        registry.remove(4);
        assert_eq!(registry.list(ActorOrder::Errors, None, 10).total, 3);
        assert_eq!(snapshot(1, FeedStatus::Ok, 0, 0, None).not_modified_ratio(), Some(0.25));
    }
}
