//! Events for users: what happened (new articles, a feed's status, a job's progress), numbered per user, kept
//! in a bounded durable log and announced only once that log holds them. On SQLite a flush stores its
//! `article.new` with its articles; the [`EventBus`] stores the rest, and announces all of them. The API streams
//! and replays them.

mod bus;
mod feed_events;
mod kind;
mod streams;

use std::ops::Deref;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::domain::{FeedId, UserId};

pub use self::bus::{EventBus, EventBusSettings};
pub(crate) use self::feed_events::address_new_articles;
pub use self::feed_events::{FeedStatusChange, NewArticles, MAX_ARTICLE_IDS};
pub use self::kind::EventKind;
pub use self::streams::{EventStreams, LiveEvent, LiveEvents, StreamLimits, StreamRefused};

/// An event to announce to one user, before it is numbered and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub user: UserId,
    pub kind: EventKind,
    /// The feed the event is about, if any: what `?feed_id=` filters on.
    pub feed: Option<FeedId>,
    /// The kind's own fields, a JSON object; the stream adds `id`, `type`, `feed_id` and `at`.
    pub data: serde_json::Value,
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Per user, increasing, never reused: what `Last-Event-ID` names.
    pub id: i64,
    pub user: UserId,
    pub kind: EventKind,
    pub feed: Option<FeedId>,
    pub data: serde_json::Value,
    /// When it was stored, to the microsecond.
    pub at: DateTime<Utc>,
}

/// A stored event as the bus announces it: with the moment the transaction that stored it had committed, from
/// which its delivery on a stream is timed. It reads as the [`Event`] it carries.
#[derive(Debug)]
pub struct Announced {
    pub event: Event,
    /// Taken as the event was announced, right after its commit returned.
    pub committed: Instant,
}

impl Deref for Announced {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

/// Where a user's log stands: what a replay needs to tell whether events were pruned from under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventLogBounds {
    /// The oldest event still kept, if any.
    pub oldest_kept: Option<i64>,
    /// The id of the user's latest event ever (0 before the first), kept or pruned.
    pub last_id: i64,
}

impl EventLogBounds {
    /// Whether a client that saw events up to `after` missed some that are no longer kept.
    pub fn has_gap_after(&self, after: i64) -> bool {
        if self.last_id <= after {
            return false;
        }
        match self.oldest_kept {
            Some(oldest) => oldest > after + 1,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventLogBounds;

    #[test]
    fn a_client_that_saw_everything_has_no_gap() {
        let bounds = EventLogBounds {
            oldest_kept: Some(5),
            last_id: 9,
        };
        assert!(!bounds.has_gap_after(9));
        assert!(!bounds.has_gap_after(12));
    }

    #[test]
    fn a_client_whose_next_event_is_kept_has_no_gap() {
        let bounds = EventLogBounds {
            oldest_kept: Some(5),
            last_id: 9,
        };
        assert!(!bounds.has_gap_after(4));
        assert!(!bounds.has_gap_after(7));
    }

    #[test]
    fn a_client_whose_next_event_was_pruned_has_a_gap() {
        let bounds = EventLogBounds {
            oldest_kept: Some(5),
            last_id: 9,
        };
        assert!(bounds.has_gap_after(3));
        assert!(bounds.has_gap_after(0));
    }

    #[test]
    fn an_emptied_log_is_a_gap_for_a_client_behind_it() {
        let bounds = EventLogBounds {
            oldest_kept: None,
            last_id: 9,
        };
        assert!(bounds.has_gap_after(8));
        assert!(!bounds.has_gap_after(9));
        assert!(!EventLogBounds::default().has_gap_after(0));
    }
}
