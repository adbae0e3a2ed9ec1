//! The subscription router (the API actor): subscribes users to feeds, answers from the cache when it can,
//! and routes everything else to the feed actors through the supervisor.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::polls_in_progress::PollGuard;
use super::supervisor::SupervisorMsg;
use crate::cache::FeedCache;
use crate::discovery::FirstFetch;
use crate::domain::{FeedId, UserId};
use crate::engine::{EngineError, SubscribeOutcome, SubscribeStatus};
use crate::feed_url::FeedUrl;
use crate::instruments;
use crate::store::EngineStore;

/// How many of a known feed's most recently stored articles a new subscriber sees unread when the cache has none.
const RECENT_ARTICLES_FOR_NEW_SUBSCRIBER: i64 = 200;

/// One URL of a subscribe request, normalised and checked, and the feed found for it.
#[derive(Debug)]
pub struct SubscribeTarget {
    /// The URL as the user sent it.
    pub requested: String,
    /// The feed to subscribe to: the URL sent, or the feed its page led to.
    pub url: FeedUrl,
    /// The fetch of `url` made while looking for the feed: a new feed takes it as its first poll.
    pub first_fetch: Option<StartedFetch>,
}

/// A subscribe request's fetch of a feed, counted as a poll under way from the moment it started: a shutdown
/// waits for it to reach the feed's actor and be stored, rather than dropping it on the way.
#[derive(Debug)]
pub struct StartedFetch {
    pub fetch: FirstFetch,
    pub poll: PollGuard,
}

pub enum RouterMsg {
    /// Subscribe a user to feeds.
    Subscribe {
        user: UserId,
        targets: Vec<SubscribeTarget>,
        reply: RpcReplyPort<Result<Vec<SubscribeOutcome>, EngineError>>,
    },
    Unsubscribe {
        user: UserId,
        feed: FeedId,
        reply: RpcReplyPort<Result<(), EngineError>>,
    },
}

pub struct SubscriptionRouter;

pub struct RouterArgs {
    pub store: Arc<dyn EngineStore>,
    pub cache: FeedCache,
    pub supervisor: ActorRef<SupervisorMsg>,
}

pub struct RouterState {
    store: Arc<dyn EngineStore>,
    cache: FeedCache,
    supervisor: ActorRef<SupervisorMsg>,
}

impl Actor for SubscriptionRouter {
    type Msg = RouterMsg;
    type State = RouterState;
    type Arguments = RouterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: RouterArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(RouterState {
            store: args.store,
            cache: args.cache,
            supervisor: args.supervisor,
        })
    }

    // Requests are handled one at a time, so a subscribe and an unsubscribe of the same feed can never
    // interleave and leave a subscribed feed without an actor.
    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RouterMsg::Subscribe { user, targets, reply } => {
                let _ = reply.send(state.subscribe(user, targets).await);
            }
            RouterMsg::Unsubscribe { user, feed, reply } => {
                let _ = reply.send(state.unsubscribe(user, feed).await);
            }
        }
        Ok(())
    }
}

impl RouterState {
    /// Subscribes the user to every URL in one store transaction, then gives each feed what it needs: a new
    /// feed is polled now; a known one shows the new subscriber what the cache (or else the store) has, unread.
    async fn subscribe(
        &self,
        user: UserId,
        targets: Vec<SubscribeTarget>,
    ) -> Result<Vec<SubscribeOutcome>, EngineError> {
        let normalised: Vec<&str> = targets.iter().map(|target| target.url.as_str()).collect();
        let subscribed = self.store.subscribe_many(user, &normalised).await?;
        let mut outcomes = Vec::with_capacity(targets.len());
        for (target, feed) in targets.into_iter().zip(subscribed) {
            let status = if feed.created {
                SubscribeStatus::Pending
            } else {
                self.show_known_feed(user, &target.url, feed.feed_id).await?
            };
            let message = match target.first_fetch {
                // Its fetch was made already: the feed's first poll takes it rather than fetching again.
                Some(fetched) if feed.created => SupervisorMsg::FirstPoll {
                    feed_id: feed.feed_id,
                    fetched: Box::new(fetched),
                },
                _ => SupervisorMsg::Ensure {
                    feed_id: feed.feed_id,
                    poll_now: status == SubscribeStatus::Pending,
                },
            };
            self.supervisor
                .send_message(message)
                .map_err(|error| EngineError::Unavailable(error.to_string().into()))?;
            outcomes.push(SubscribeOutcome {
                url: target.requested,
                feed_url: Some(target.url.as_str().to_owned()),
                feed_id: Some(feed.feed_id),
                status,
                error: None,
            });
        }
        Ok(outcomes)
    }

    /// Shows a new subscriber a known feed's articles as unread: from the oldest cached one on, `ready` at once;
    /// else the most recently stored ones, `pending` until the poll this answer asks for.
    async fn show_known_feed(
        &self,
        user: UserId,
        url: &FeedUrl,
        feed_id: FeedId,
    ) -> Result<SubscribeStatus, EngineError> {
        let cached = match self.cache.get(url.as_str()).await {
            Ok(cached) => {
                let cached = cached.filter(|cached| cached.feed_id == feed_id);
                instruments::cache_lookup(if cached.is_some() { "hit" } else { "miss" });
                cached
            }
            Err(error) => {
                instruments::cache_lookup("error");
                tracing::debug!(feed_id, %error, "cache unavailable; treating as a miss");
                None
            }
        };
        match cached {
            Some(cached) => {
                let ids: Vec<_> = cached.articles.iter().map(|article| article.id).collect();
                self.store.unread_from_cached_articles(user, feed_id, &ids).await?;
                Ok(SubscribeStatus::Ready)
            }
            None => {
                self.store
                    .unread_recent_articles(user, feed_id, RECENT_ARTICLES_FOR_NEW_SUBSCRIBER)
                    .await?;
                Ok(SubscribeStatus::Pending)
            }
        }
    }

    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<(), EngineError> {
        let remaining = self.store.unsubscribe(user, feed).await?;
        if remaining == 0 {
            self.supervisor
                .send_message(SupervisorMsg::Stop(feed))
                .map_err(|error| EngineError::Unavailable(error.to_string().into()))?;
        }
        Ok(())
    }
}
