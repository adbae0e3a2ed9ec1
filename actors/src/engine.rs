//! The engine handle: starts the actors and is the one door the API uses to reach them.

use std::sync::Arc;

use crate::domain::{FeedId, UserId};
use crate::store::{Store, StoreError};

/// How one URL of a subscribe request turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeStatus {
    /// The feed's articles were in the cache and are already on the user's timeline.
    Ready,
    /// The feed is being fetched; articles arrive when its first poll is stored.
    Pending,
    /// The URL was refused; `error` says why.
    Invalid,
}

impl SubscribeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscribeStatus::Ready => "ready",
            SubscribeStatus::Pending => "pending",
            SubscribeStatus::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeOutcome {
    /// The URL as the user sent it.
    pub url: String,
    pub feed_id: Option<FeedId>,
    pub status: SubscribeStatus,
    pub error: Option<String>,
}

/// The result of each dependency check; `Err` holds a message safe to show.
#[derive(Debug, Clone)]
pub struct Health {
    pub database: Result<(), String>,
    pub cache: Result<(), String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An actor did not answer in time or is gone.
    #[error("the engine is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
}

impl Engine {
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Subscribes a user to each URL; one bad URL does not fail the others.
    pub async fn subscribe(&self, _user: UserId, _urls: Vec<String>) -> Result<Vec<SubscribeOutcome>, EngineError> {
        unimplemented!()
    }

    /// Unsubscribes a user; `Err(Store(NotFound))` when the user was not subscribed.
    pub async fn unsubscribe(&self, _user: UserId, _feed: FeedId) -> Result<(), EngineError> {
        unimplemented!()
    }

    pub async fn health(&self) -> Health {
        unimplemented!()
    }
}
