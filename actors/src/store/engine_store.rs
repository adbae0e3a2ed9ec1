//! What the engine's actors ask of the store: subscribing (the router), each feed's poll state and redirects
//! (the feed actors and the supervisor), and writing polls (the persistence actor).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{FeedBatch, FeedMove, StoreError, StoredBatch, SubscribedFeed, UnchangedPoll};
use crate::domain::{ArticleId, Feed, FeedId, FeedStatus, UserId};
use crate::webhook::WebhookId;

#[async_trait]
pub trait EngineStore: Send + Sync + 'static {
    // Subscriptions, which the router performs so that a new feed gets its actor.
    /// Creates each feed that is new and subscribes the user to every URL, in one transaction: all or none.
    /// Idempotent. Answers in the order of `urls`; a URL given twice answers twice, alike.
    async fn subscribe_many(&self, user: UserId, urls: &[&str]) -> Result<Vec<SubscribedFeed>, StoreError>;
    /// [`EngineStore::subscribe_many`] for one URL.
    async fn subscribe(&self, user: UserId, url: &str) -> Result<SubscribedFeed, StoreError> {
        self.subscribe_many(user, &[url])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }
    /// Removes the subscription and the user's marks (read, unread, starred) on the feed's articles.
    /// Returns how many subscribers the feed has left, or `NotFound` if the user was not subscribed.
    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<i64, StoreError>;
    /// Shows a subscriber the feed's articles from the oldest of `articles` (the cached ones) on as unread, by
    /// moving their read cutoff back; never forward. Answers how many articles became unread; 0 for a user who
    /// does not follow the feed, or when no given article is the feed's.
    async fn unread_from_cached_articles(
        &self,
        user: UserId,
        feed: FeedId,
        articles: &[ArticleId],
    ) -> Result<u64, StoreError>;
    /// Shows a subscriber the feed's `limit` most recently stored articles as unread, as
    /// [`EngineStore::unread_from_cached_articles`] does. A negative `limit` is an error.
    async fn unread_recent_articles(&self, user: UserId, feed: FeedId, limit: i64) -> Result<u64, StoreError>;

    // Feeds.
    /// Every feed with at least one subscriber: the feeds that need an actor.
    async fn feeds_with_subscribers(&self) -> Result<Vec<Feed>, StoreError>;
    async fn get_feed(&self, feed: FeedId) -> Result<Feed, StoreError>;
    /// The feed stored at this normalised URL, if there is one: a known feed needs no fetch to subscribe to.
    async fn feed_id_by_url(&self, url: &str) -> Result<Option<FeedId>, StoreError>;
    /// Records `failed_polls` consecutive failed polls, as the last of them left the feed: the status (`error`, or
    /// `dead` when the feed is given up), the message, `failed_polls` more consecutive errors, and the next attempt
    /// (none for a dead feed). `dead_since` is set when it dies. When the status changes, a `feed.status`
    /// delivery goes to each webhook subscribed to it in the same transaction; returns those webhooks.
    async fn record_poll_errors(
        &self,
        feed: FeedId,
        error: &str,
        status: FeedStatus,
        next_poll_at: Option<DateTime<Utc>>,
        failed_polls: u32,
    ) -> Result<Vec<WebhookId>, StoreError>;
    /// [`EngineStore::record_poll_errors`] for one failed poll.
    async fn record_poll_error(
        &self,
        feed: FeedId,
        error: &str,
        status: FeedStatus,
        next_poll_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<WebhookId>, StoreError> {
        self.record_poll_errors(feed, error, status, next_poll_at, 1).await
    }
    /// Parks a feed whose actor crashed too often: status `failed`, with the crash message, and a `feed.status`
    /// delivery when that changes its status, in one transaction. Returns the webhooks that got one.
    async fn record_feed_failed(&self, feed: FeedId, message: &str) -> Result<Vec<WebhookId>, StoreError>;
    /// Feeds with a subscriber not polled since `polled_before` (or never), least recently polled first.
    async fn stale_feeds(&self, polled_before: DateTime<Utc>, limit: u32) -> Result<Vec<Feed>, StoreError>;
    /// A permanent redirect: the feed now lives at `url`. When another feed already has that URL, this feed's
    /// subscribers move to it and this feed is left without subscribers.
    async fn move_feed(&self, feed: FeedId, url: &str) -> Result<FeedMove, StoreError>;

    // Writing polls.
    /// Records polls that found nothing new (304) in one transaction: status `ok`, errors cleared, and the
    /// timestamps. A poll older than the feed's recorded last poll changes nothing, so a late write never
    /// rolls a feed back. A feed brought back to `ok` gets its `feed.status` deliveries in the same
    /// transaction; returns the webhooks that got one.
    async fn record_polls_unchanged(&self, polls: &[UnchangedPoll]) -> Result<Vec<WebhookId>, StoreError>;
    /// Stores several feeds' entries and poll state in one transaction, numbering each feed's new articles. Where
    /// [`EngineStore::flush_stores_article_new`] says so, it also stores their `article.new` events in that
    /// transaction, and hands them back in [`StoredBatch::events`] to broadcast.
    async fn persist_batches(&self, batches: &[FeedBatch]) -> Result<Vec<StoredBatch>, StoreError>;
    /// How many [`EngineStore::persist_batches`] calls the persistence actor runs at once, for batches of
    /// different feeds. One unless the database can write in parallel.
    fn parallel_flushes(&self) -> usize {
        1
    }
    /// The most rows one [`EngineStore::persist_batches`] call should carry on this database, when it is below
    /// the engine's own bound (`PersistenceSettings::max_flush_rows`); `None` leaves that bound alone.
    fn max_flush_rows(&self) -> Option<usize> {
        None
    }
    /// Whether [`EngineStore::persist_batches`] stores the `article.new` of the articles it inserts; if not, the
    /// event bus stores them after the commit.
    fn flush_stores_article_new(&self) -> bool {
        false
    }
}
