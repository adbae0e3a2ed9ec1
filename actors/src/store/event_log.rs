//! What both backends share for the event log: numbering a batch from each user's counter, and reading rows
//! back into events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::rows::{decode_error, Decoded};
use super::StoreError;
use crate::domain::{FeedId, UserId};
use crate::events::{Event, EventKind, NewEvent};

/// The columns an [`EventRow`] reads, from `events`.
pub(super) const EVENT_COLUMNS: &str = "user_id, id, kind, feed_id, data, created_at";

/// How many events of a batch go to each user, in user order: what moves each user's counter.
pub(super) fn events_per_user(events: &[NewEvent]) -> BTreeMap<UserId, i64> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(event.user).or_insert(0) += 1;
    }
    counts
}

/// Numbers the events in order, each user's from the id after `last_before` (the user's counter before the
/// batch); events of a user missing from it (deleted meanwhile) are left out. `at` is to the microsecond, as
/// both backends store it.
pub(super) fn number_events(
    events: &[NewEvent],
    mut last_before: HashMap<UserId, i64>,
    at: DateTime<Utc>,
) -> Vec<Event> {
    events
        .iter()
        .filter_map(|event| {
            let last = last_before.get_mut(&event.user)?;
            *last += 1;
            Some(Event {
                id: *last,
                user: event.user,
                kind: event.kind,
                feed: event.feed,
                data: event.data.clone(),
                at,
            })
        })
        .collect()
}

/// Now, to the microsecond: what a stored time reads back as.
pub(super) fn now_to_the_microsecond() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow<U, T> {
    user_id: U,
    id: i64,
    kind: String,
    feed_id: Option<FeedId>,
    data: String,
    created_at: T,
}

impl<U: Decoded<UserId>, T: Decoded<DateTime<Utc>>> EventRow<U, T> {
    pub(super) fn into_event(self) -> Result<Event, StoreError> {
        Ok(Event {
            id: self.id,
            user: self.user_id.decoded()?,
            kind: EventKind::parse(&self.kind).ok_or_else(|| decode_error(format!("event kind {:?}", self.kind)))?,
            feed: self.feed_id,
            data: serde_json::from_str(&self.data).map_err(|error| decode_error(format!("event data: {error}")))?,
            at: self.created_at.decoded()?,
        })
    }
}

pub(super) fn events<U: Decoded<UserId>, T: Decoded<DateTime<Utc>>>(
    rows: Vec<EventRow<U, T>>,
) -> Result<Vec<Event>, StoreError> {
    rows.into_iter().map(EventRow::into_event).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn event(user: UserId) -> NewEvent {
        NewEvent {
            user,
            kind: EventKind::JobDone,
            feed: None,
            data: json!({}),
        }
    }

    #[test]
    fn each_user_is_numbered_on_from_their_counter_in_publish_order() {
        let (alice, bob, gone) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let events = [event(alice), event(bob), event(gone), event(alice)];
        assert_eq!(events_per_user(&events).get(&alice), Some(&2));
        let last_before = HashMap::from([(alice, 7), (bob, 0)]);
        let numbered = number_events(&events, last_before, Utc::now());
        let ids: Vec<(UserId, i64)> = numbered.iter().map(|event| (event.user, event.id)).collect();
        assert_eq!(ids, [(alice, 8), (bob, 1), (alice, 9)]);
    }
}
