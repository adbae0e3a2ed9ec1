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
use crate::store::Store;

/// How many of a known feed's stored articles a new subscriber gets when the cache has none.
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
    pub store: Arc<dyn Store>,
    pub cache: FeedCache,
    pub supervisor: ActorRef<SupervisorMsg>,
}

pub struct RouterState {
    store: Arc<dyn Store>,
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
                let mut outcomes = Vec::with_capacity(urls.len());
                let mut result = Ok(());
                for (requested, url) in urls {
                    match state.subscribe_one(user, &url).await {
                        Ok((feed_id, status)) => outcomes.push(SubscribeOutcome {
                            url: requested,
                            feed_id: Some(feed_id),
                            status,
                            error: None,
                        }),
                        Err(error) => {
                            result = Err(error);
                            break;
                        }
                    }
                }
                let _ = reply.send(result.map(|()| outcomes));
            }
            RouterMsg::Unsubscribe { user, feed, reply } => {
                let _ = reply.send(state.unsubscribe(user, feed).await);
            }
        }
        Ok(())
    }
}

impl RouterState {
    async fn subscribe_one(&self, user: UserId, url: &FeedUrl) -> Result<(FeedId, SubscribeStatus), EngineError> {
        let subscribed = self.store.subscribe(user, url.as_str()).await?;
        let feed_id = subscribed.feed_id;
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
        let status = match cached {
            Some(cached) => {
                let ids: Vec<_> = cached.articles.iter().map(|article| article.id).collect();
                self.store.link_cached_articles(user, feed_id, &ids).await?;
                SubscribeStatus::Ready
            }
            None => {
                if !subscribed.created {
                    self.store
                        .link_recent_articles(user, feed_id, RECENT_ARTICLES_FOR_NEW_SUBSCRIBER)
                        .await?;
                }
                SubscribeStatus::Pending
            }
        };
        let poll_now = status == SubscribeStatus::Pending;
        self.supervisor
            .send_message(SupervisorMsg::Ensure { feed_id, poll_now })
            .map_err(|error| EngineError::Unavailable(error.to_string()))?;
        Ok((feed_id, status))
    }

    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<(), EngineError> {
        let remaining = self.store.unsubscribe(user, feed).await?;
        if remaining == 0 {
            self.supervisor
                .send_message(SupervisorMsg::Stop(feed))
                .map_err(|error| EngineError::Unavailable(error.to_string()))?;
        }
        Ok(())
    }
}
