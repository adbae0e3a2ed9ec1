//! Which events a stream of `GET /v1/events` wants: its `types`, `feed_id`, saved `filter` and `category`, read
//! and checked, and the one test every event passes before it is sent. What needs the store (a saved filter's
//! articles, a category's feeds) is asked by the stream a page at a time and handed in.

use serde_json::Value;
use syndic_actors::domain::{ArticleId, FeedId};
use syndic_actors::events::{Event, EventKind};
use syndic_actors::organise::CategoryId;
use syndic_actors::saved_filter::SavedFilterId;

use crate::error::ApiError;

/// Which events a stream wants. Every open stream keeps one, so it is small: no set is allocated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventFilter {
    pub(crate) types: Option<KindSet>,
    pub(crate) feed: Option<FeedId>,
    /// The saved filter that `article.new` events are matched against, when the stream names one.
    pub(crate) saved: Option<SavedFilterId>,
    /// The category, by id so that a rename keeps it, that events about a feed are matched against.
    pub(crate) category: Option<CategoryId>,
}

impl EventFilter {
    pub(crate) fn parse(types: Option<&str>, feed: Option<FeedId>) -> Result<EventFilter, ApiError> {
        let types = match types {
            None => None,
            Some(list) => {
                let mut kinds = KindSet::default();
                for name in list.split(',').map(str::trim).filter(|name| !name.is_empty()) {
                    match EventKind::parse(name) {
                        Some(EventKind::Resync) | None => {
                            return Err(ApiError::validation(
                                "types",
                                format!(
                                "unknown event type {name:?}: use article.new, feed.status, job.progress, job.done or webhook.disabled"
                            ),
                            ))
                        }
                        Some(kind) => kinds.insert(kind),
                    };
                }
                if kinds.is_empty() {
                    return Err(ApiError::validation("types", "name at least one event type"));
                }
                Some(kinds)
            }
        };
        Ok(EventFilter {
            types,
            feed,
            saved: None,
            category: None,
        })
    }

    /// Whether the stream wants the event; `feeds_in_category` are the feeds of its page that are in the
    /// stream's category, sorted (see `StreamState::match_category` in `events`).
    pub(crate) fn wants(&self, event: &Event, feeds_in_category: &[FeedId]) -> bool {
        self.types.is_none_or(|types| types.contains(event.kind))
            && self.feed.is_none_or(|feed| event.feed == Some(feed))
            && (self.saved.is_none() || event.kind != EventKind::ArticleNew || !article_ids(event).is_empty())
            && (self.category.is_none()
                || event
                    .feed
                    .is_none_or(|feed| feeds_in_category.binary_search(&feed).is_ok()))
    }

    /// Whether events must be matched with the store, a page or a live burst at a time.
    pub(crate) fn matches_in_store(&self) -> bool {
        self.saved.is_some() || self.category.is_some()
    }
}

/// A set of event kinds, a bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KindSet(u32);

// One bit per kind.
const _: () = assert!(EventKind::ALL.len() <= 32);

impl KindSet {
    fn bit(kind: EventKind) -> u32 {
        1 << kind as u32
    }

    /// Adds `kind`; says whether it was not in yet.
    pub(crate) fn insert(&mut self, kind: EventKind) -> bool {
        let added = !self.contains(kind);
        self.0 |= Self::bit(kind);
        added
    }

    pub(crate) fn contains(self, kind: EventKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl<const N: usize> From<[EventKind; N]> for KindSet {
    fn from(kinds: [EventKind; N]) -> Self {
        let mut set = KindSet::default();
        for kind in kinds {
            set.insert(kind);
        }
        set
    }
}

/// The article ids an `article.new` lists.
pub(crate) fn article_ids(event: &Event) -> Vec<ArticleId> {
    event.data["article_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use syndic_actors::domain::UserId;

    use super::*;

    #[test]
    fn types_parse_from_a_comma_separated_list() {
        let filter = EventFilter::parse(Some("article.new, feed.status"), Some(3)).expect("parses");
        assert_eq!(
            filter.types,
            Some(KindSet::from([EventKind::ArticleNew, EventKind::FeedStatus]))
        );
        let types = filter.types.expect("given");
        for kind in EventKind::ALL {
            let listed = [EventKind::ArticleNew, EventKind::FeedStatus].contains(&kind);
            assert_eq!(types.contains(kind), listed, "{kind}");
        }
        assert_eq!(filter.feed, Some(3));
        assert_eq!(EventFilter::parse(None, None).expect("parses"), EventFilter::default());
    }

    #[test]
    fn unknown_or_no_types_are_refused_naming_the_field() {
        for bad in ["article.nope", "resync", "", " , "] {
            match EventFilter::parse(Some(bad), None) {
                Err(ApiError::Validation { field, .. }) => assert_eq!(field, "types"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    fn event(kind: EventKind, feed: Option<FeedId>) -> Event {
        Event {
            id: 1,
            user: UserId::nil(),
            kind,
            feed,
            data: json!({}),
            at: Utc::now(),
        }
    }

    #[test]
    fn a_category_drops_only_the_events_about_feeds_outside_it() {
        let filter = EventFilter {
            category: Some(7),
            ..EventFilter::default()
        };
        let in_category = [1];
        assert!(filter.wants(&event(EventKind::ArticleNew, Some(1)), &in_category));
        assert!(!filter.wants(&event(EventKind::ArticleNew, Some(2)), &in_category));
        assert!(!filter.wants(&event(EventKind::FeedStatus, Some(2)), &in_category));
        assert!(filter.wants(&event(EventKind::JobDone, None), &in_category));
        assert!(filter.wants(&event(EventKind::WebhookDisabled, None), &[]));
        // Without a category, the page's feeds play no part.
        assert!(EventFilter::default().wants(&event(EventKind::ArticleNew, Some(2)), &[]));
    }
}
