//! Events about feeds, which go to every subscriber of the feed: `article.new` after a flush stored new
//! articles, `feed.status` after a feed's stored status changed. Pure: the bus looks the subscribers up.

use std::collections::HashMap;

use serde_json::json;

use super::{EventKind, NewEvent};
use crate::domain::{ArticleId, FeedId, FeedStatus, UserId};

/// Most article ids one `article.new` lists; `count` says how many there were.
pub const MAX_ARTICLE_IDS: usize = 100;

/// A feed's articles one flush inserted, as the persistence actor reports them after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticles {
    pub feed: FeedId,
    /// Ascending.
    pub articles: Vec<ArticleId>,
}

/// A feed's stored status changed, as reported after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatusChange {
    pub feed: FeedId,
    pub status: FeedStatus,
    /// The last error, for `error`, `dead` and `failed`.
    pub error: Option<String>,
}

impl FeedStatusChange {
    /// The feed is back to `ok`.
    pub fn ok(feed: FeedId) -> Self {
        FeedStatusChange {
            feed,
            status: FeedStatus::Ok,
            error: None,
        }
    }
}

/// What a feed event says, before it is addressed to each subscriber.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeedEvent {
    pub(super) feed: FeedId,
    pub(super) kind: EventKind,
    pub(super) data: serde_json::Value,
}

impl From<NewArticles> for FeedEvent {
    fn from(new: NewArticles) -> Self {
        let count = new.articles.len();
        let listed: Vec<ArticleId> = new.articles.into_iter().take(MAX_ARTICLE_IDS).collect();
        FeedEvent {
            feed: new.feed,
            kind: EventKind::ArticleNew,
            data: json!({ "article_ids": listed, "count": count }),
        }
    }
}

impl From<FeedStatusChange> for FeedEvent {
    fn from(change: FeedStatusChange) -> Self {
        let mut data = json!({ "status": change.status.as_str() });
        if let Some(error) = change.error {
            data["error"] = json!(error);
        }
        FeedEvent {
            feed: change.feed,
            kind: EventKind::FeedStatus,
            data,
        }
    }
}

/// One `article.new` per subscriber of each feed of `new`, in order, given the (feed, user) pairs.
pub(crate) fn address_new_articles(new: Vec<NewArticles>, subscribers: &[(FeedId, UserId)]) -> Vec<NewEvent> {
    address(new.into_iter().map(FeedEvent::from).collect(), subscribers)
}

/// One event per subscriber per feed event, in the order of `events`, given the (feed, user) pairs.
pub(super) fn address(events: Vec<FeedEvent>, subscribers: &[(FeedId, UserId)]) -> Vec<NewEvent> {
    let mut users_of: HashMap<FeedId, Vec<UserId>> = HashMap::new();
    for (feed, user) in subscribers {
        users_of.entry(*feed).or_default().push(*user);
    }
    let mut addressed = Vec::new();
    for event in events {
        for user in users_of.get(&event.feed).into_iter().flatten() {
            addressed.push(NewEvent {
                user: *user,
                kind: event.kind,
                feed: Some(event.feed),
                data: event.data.clone(),
            });
        }
    }
    addressed
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn article_new_lists_at_most_a_hundred_ids_and_counts_them_all() {
        let event = FeedEvent::from(NewArticles {
            feed: 7,
            articles: (1..=250).collect(),
        });
        assert_eq!(event.kind, EventKind::ArticleNew);
        assert_eq!(event.data["count"], 250);
        let listed = event.data["article_ids"].as_array().unwrap();
        assert_eq!(listed.len(), MAX_ARTICLE_IDS);
        assert_eq!(listed[0], 1);
    }

    #[test]
    fn feed_status_carries_the_error_only_when_there_is_one() {
        let dead = FeedEvent::from(FeedStatusChange {
            feed: 7,
            status: FeedStatus::Dead,
            error: Some("410 Gone".to_owned()),
        });
        assert_eq!(dead.data, json!({ "status": "dead", "error": "410 Gone" }));
        let ok = FeedEvent::from(FeedStatusChange {
            feed: 7,
            status: FeedStatus::Ok,
            error: None,
        });
        assert_eq!(ok.data, json!({ "status": "ok" }));
    }

    #[test]
    fn each_subscriber_gets_each_event_of_their_feed() {
        let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let events = vec![
            FeedEvent::from(NewArticles {
                feed: 1,
                articles: vec![10],
            }),
            FeedEvent::from(NewArticles {
                feed: 2,
                articles: vec![20],
            }),
            FeedEvent::from(NewArticles {
                feed: 3,
                articles: vec![30],
            }),
        ];
        let addressed = address(events, &[(1, alice), (1, bob), (2, bob)]);
        let pairs: Vec<(UserId, Option<FeedId>)> = addressed.iter().map(|event| (event.user, event.feed)).collect();
        assert_eq!(pairs, [(alice, Some(1)), (bob, Some(1)), (bob, Some(2))]);
    }
}
