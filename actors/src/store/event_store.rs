//! The event log: what the event bus writes and prunes, and what the API replays to a reconnecting client.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{FeedId, UserId};
use crate::events::{Event, EventLogBounds, NewEvent};

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Numbers and stores events in one transaction, each user's from that user's counter (moved in the same
    /// transaction), in the order given. Answers the stored events in that order; events of a user who no
    /// longer exists are skipped.
    async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<Event>, StoreError>;
    /// Up to `limit` of a user's kept events with an id above `after`, oldest first.
    async fn events_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// The oldest kept event's id and the latest id of a user's log.
    async fn event_log_bounds(&self, user: UserId) -> Result<EventLogBounds, StoreError>;
    /// Deletes up to `limit` events created before `older_than`, and up to `limit` events beyond the newest
    /// `max_per_user` of their user. Answers how many it deleted.
    async fn prune_events(&self, older_than: DateTime<Utc>, max_per_user: u32, limit: u32) -> Result<u64, StoreError>;
    /// The subscribers of each feed, as (feed, user) pairs: who an event about a feed goes to.
    async fn subscribers_of_feeds(&self, feeds: &[FeedId]) -> Result<Vec<(FeedId, UserId)>, StoreError>;
}
