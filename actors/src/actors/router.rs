//! The subscription router (the API actor): subscribes users to feeds, answers from the cache when it can,
//! and routes everything else to the feed actors through the supervisor.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::supervisor::SupervisorMsg;
use crate::cache::FeedCache;
use crate::domain::{FeedId, UserId};
use crate::engine::{EngineError, SubscribeOutcome, SubscribeStatus};
use crate::feed_url::FeedUrl;
use crate::instruments;
use crate::store::EngineStore;

/// How many of a known feed's most recently stored articles a new subscriber sees unread when the cache has none.
const RECENT_ARTICLES_FOR_NEW_SUBSCRIBER: i64 = 200;

pub enum RouterMsg {
    /// Subscribe a user to URLs that are already normalised and checked.
    Subscribe {
        user: UserId,
        urls: Vec<(String, FeedUrl)>,
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
            RouterMsg::Subscribe { user, urls, reply } => {
                let _ = reply.send(state.subscribe(user, urls).await);
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
        urls: Vec<(String, FeedUrl)>,
    ) -> Result<Vec<SubscribeOutcome>, EngineError> {
        let normalised: Vec<&str> = urls.iter().map(|(_, url)| url.as_str()).collect();
        let subscribed = self.store.subscribe_many(user, &normalised).await?;
        let mut outcomes = Vec::with_capacity(urls.len());
        for ((requested, url), feed) in urls.into_iter().zip(subscribed) {
            let status = if feed.created {
                SubscribeStatus::Pending
            } else {
                self.show_known_feed(user, &url, feed.feed_id).await?
            };
            self.supervisor
                .send_message(SupervisorMsg::Ensure {
                    feed_id: feed.feed_id,
                    poll_now: status == SubscribeStatus::Pending,
                })
                .map_err(|error| EngineError::Unavailable(error.to_string().into()))?;
            outcomes.push(SubscribeOutcome {
                url: requested,
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
