//! The engine's door for what the API asks of the database without an actor: accounts, reading subscriptions
//! and the timeline, read state, operator listings, and replaying the event log. Each is one [`ApiStore`](crate::store::ApiStore) call,
//! or the stale-feed listing the engine itself polls from; nothing here can reach the writes that belong to the
//! actors or to `syndic copy`.

use chrono::{DateTime, Utc};

use crate::cache::timeline::{Lookup, TimelineShape};
use crate::domain::{
    Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, Feed, FeedIcon, FeedId, FeedStatus, NewUser,
    Subscription, SubscriptionCursor, SubscriptionPage, User, UserCredentials, UserId,
};
use crate::engine::Engine;
use crate::events::{Event, EventLogBounds};
use crate::store::StoreError;

impl Engine {
    /// Registers a user; see [`ApiStore::create_user`](crate::store::ApiStore::create_user).
    pub async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        self.api_store().create_user(user).await
    }

    /// A user's credentials by username, for login.
    pub async fn find_credentials(&self, identifier: &str) -> Result<Option<UserCredentials>, StoreError> {
        self.api_store().find_credentials(identifier).await
    }

    /// The icon of a feed the user is subscribed to; `NotFound` when they are not, or it has none.
    pub async fn feed_icon(&self, user: UserId, feed: FeedId) -> Result<FeedIcon, StoreError> {
        self.icon_store().feed_icon(user, feed).await
    }

    pub async fn get_user(&self, user: UserId) -> Result<User, StoreError> {
        self.api_store().get_user(user).await
    }

    /// A page of a user's subscriptions with their unread counts; see
    /// [`ApiStore::list_subscriptions`](crate::store::ApiStore::list_subscriptions).
    pub async fn list_subscriptions(
        &self,
        user: UserId,
        limit: u32,
        after: Option<SubscriptionCursor>,
    ) -> Result<SubscriptionPage, StoreError> {
        self.api_store().list_subscriptions(user, limit, after).await
    }

    pub async fn get_subscription(&self, user: UserId, feed: FeedId) -> Result<Subscription, StoreError> {
        self.api_store().get_subscription(user, feed).await
    }

    /// A page of the user's timeline; the first page of the default queries goes through the timeline cache
    /// (see [`crate::cache::timeline`]).
    pub async fn list_articles(&self, user: UserId, query: &ArticleQuery) -> Result<ArticlePage, StoreError> {
        let Some(shape) = TimelineShape::of(query) else {
            return self.api_store().list_articles(user, query).await;
        };
        match self.timeline().lookup(user, shape).await {
            Lookup::Hit(page) => Ok(page),
            Lookup::Miss(ticket) => {
                let page = self.api_store().list_articles(user, query).await?;
                self.timeline().fill(ticket, &page).await;
                Ok(page)
            }
            Lookup::Bypass => self.api_store().list_articles(user, query).await,
        }
    }

    pub async fn get_article(&self, user: UserId, article: ArticleId) -> Result<Article, StoreError> {
        self.api_store().get_article(user, article).await
    }

    /// Sets or clears an article's read and starred state for one user.
    pub async fn update_article(
        &self,
        user: UserId,
        article: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, StoreError> {
        let updated = self.api_store().update_article(user, article, patch).await;
        // Before the answer, so that the user's next read sees the change; whatever the outcome, since an
        // error may come after the commit.
        self.timeline().invalidate(user).await;
        updated
    }

    /// Feeds of every user, for operators; see [`ApiStore::list_feeds`](crate::store::ApiStore::list_feeds).
    pub async fn list_feeds(&self, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        self.api_store().list_feeds(status, limit).await
    }

    /// Feeds with a subscriber not polled since `polled_before`, oldest first: what
    /// [`Engine::refresh_stale`] would poll.
    pub async fn stale_feeds(&self, polled_before: DateTime<Utc>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        self.engine_store().stale_feeds(polled_before, limit).await
    }

    /// Up to `limit` of a user's kept events after `after`, oldest first: a reconnecting client's replay.
    pub async fn events_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.event_store().events_after(user, after, limit).await
    }

    /// Where a user's event log stands, to tell whether a replay has a gap.
    pub async fn event_log_bounds(&self, user: UserId) -> Result<EventLogBounds, StoreError> {
        self.event_store().event_log_bounds(user).await
    }
}
