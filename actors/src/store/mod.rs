//! The store: every query the engine and the API make, behind one trait, so that no caller depends on a backend.

mod flush_result;
mod postgres;
mod postgres_batch;
mod postgres_feeds;
mod postgres_rows;
mod postgres_transfer;
mod postgres_users;
mod sqlite;
mod sqlite_batch;
mod sqlite_feeds;
mod sqlite_rows;
mod sqlite_subscriptions;
mod sqlite_timeline;
mod sqlite_transfer;
mod sqlite_users;
pub mod transfer;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, Feed, FeedId, FeedStatus, NewInvite, NewUser, Role,
    Subscription, SubscriptionCursor, SubscriptionPage, User, UserCredentials, UserId,
};
use crate::parse::Entry;
use transfer::{Table, TransferPage, TransferPosition};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique value is already taken; the field names which one.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// The database could not be reached or did not answer in time; retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The input contradicts what is stored, for a reason other than a taken value (an invite that is unknown,
    /// spent or expired); `field` names the input.
    #[error("{field}: {reason}")]
    Rejected { field: &'static str, reason: &'static str },
    /// The database URL names no backend this build knows.
    #[error("unsupported database URL scheme {0:?}: use postgres:// or sqlite://")]
    UnsupportedUrl(String),
}

/// Opens the store a URL names (`postgres://`, `postgresql://` or `sqlite:`), creating and migrating the
/// database as needed. The one place that dispatches on the backend; everything downstream sees `dyn Store`.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url, max_connections).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, max_connections).await?))
    } else {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        Err(StoreError::UnsupportedUrl(scheme.to_owned()))
    }
}

/// The backend a URL names and where, without credentials: safe to log.
pub fn describe_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme().starts_with("postgres") => {
            format!(
                "postgres at {}{}",
                parsed.host_str().unwrap_or("localhost"),
                parsed.path()
            )
        }
        _ if url.starts_with("sqlite:") => format!(
            "sqlite at {}",
            url.trim_start_matches("sqlite:").trim_start_matches("//")
        ),
        _ => "an unsupported database".to_owned(),
    }
}

impl StoreError {
    /// Whether the same operation may succeed later without any change to its input.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Postgres errors that say the server cannot serve right now, rather than that the statement is wrong.
fn is_unavailable(code: Option<&str>, message: &str) -> bool {
    let Some(code) = code else {
        return false;
    };
    // 08: connection exceptions; 53: insufficient resources (too many connections, disk full);
    // 57P: the server is shutting down, restarting or cannot connect now; 40: the transaction was rolled back
    // for a deadlock or a serialization failure with another one, and the same statement can succeed again.
    code.starts_with("08")
        || code.starts_with("40")
        || code.starts_with("53")
        || code.starts_with("57P")
        // A database closed to new connections (ALTER DATABASE … ALLOW_CONNECTIONS false) during maintenance.
        || (code == "55000" && message.contains("not currently accepting connections"))
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(error),
            sqlx::Error::Database(ref db) if is_unavailable(db.code().as_deref(), db.message()) => {
                StoreError::Unavailable(error)
            }
            other => StoreError::Database(other),
        }
    }
}

/// What a feed actor hands to the persistence actor after a successful poll.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    pub feed_id: FeedId,
    pub entries: Vec<Entry>,
    pub poll: PollRecord,
}

/// The poll state recorded in the same transaction as the entries.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: DateTime<Utc>,
}

/// A poll that found nothing new, as the persistence actor collects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnchangedPoll {
    pub feed_id: FeedId,
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: DateTime<Utc>,
}

/// The outcome of one feed's batch once it is committed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredBatch {
    pub feed_id: FeedId,
    /// Every entry of the batch with its article id, new or not, in feed order.
    pub articles: Vec<StoredArticle>,
    pub new_count: usize,
}

/// The slim view of an article that the `feed:{url}` cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredArticle {
    pub id: ArticleId,
    pub title: Option<String>,
    pub link: Option<String>,
}

/// What a permanent redirect did to a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMove {
    /// The feed's URL changed.
    Renamed,
    /// Another feed had the new URL; the subscribers moved to it.
    Merged { into: FeedId },
}

/// The result of subscribing one user to one URL.
#[derive(Debug, Clone)]
pub struct SubscribedFeed {
    pub feed_id: FeedId,
    /// Whether this call created the feed row: a brand new feed has nothing stored yet.
    pub created: bool,
}

/// The connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub size: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Open connections, and how many of them are idle.
    fn pool_state(&self) -> PoolState;

    // Users.
    /// Creates a user with the `user` role, spending `user.invite_hash` (if any) in the same transaction. A
    /// username that differs from a taken one only by case is taken (`Conflict { field: "username" }`). An
    /// invite that is unknown, spent or expired is `Rejected { field: "invite" }`, and nothing is stored.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    /// Finds a user by username or email, both case-insensitive, for login.
    async fn find_credentials(&self, identifier: &str) -> Result<Option<UserCredentials>, StoreError>;
    async fn get_user(&self, user: UserId) -> Result<User, StoreError>;
    /// Stores an invite to register while registration is closed.
    async fn create_invite(&self, invite: &NewInvite) -> Result<(), StoreError>;
    /// Gives the user named `username` (any case) a role; `NotFound` when nobody has that name.
    async fn set_role(&self, username: &str, role: Role) -> Result<User, StoreError>;

    // Subscriptions.
    /// Creates each feed that is new and subscribes the user to every URL, in one transaction: all or none.
    /// Idempotent. Answers in the order of `urls`; a URL given twice answers twice, alike.
    async fn subscribe_many(&self, user: UserId, urls: &[&str]) -> Result<Vec<SubscribedFeed>, StoreError>;
    /// [`Store::subscribe_many`] for one URL.
    async fn subscribe(&self, user: UserId, url: &str) -> Result<SubscribedFeed, StoreError> {
        self.subscribe_many(user, &[url])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }
    /// Removes the subscription and the user's links to the feed's articles.
    /// Returns how many subscribers the feed has left, or `NotFound` if the user was not subscribed.
    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<i64, StoreError>;
    /// Links the given articles of a feed (from the cache) to a new subscriber, unread.
    async fn link_cached_articles(&self, user: UserId, feed: FeedId, articles: &[ArticleId])
        -> Result<u64, StoreError>;
    /// Links a feed's most recent stored articles to a new subscriber, unread.
    async fn link_recent_articles(&self, user: UserId, feed: FeedId, limit: i64) -> Result<u64, StoreError>;
    /// Up to `limit` of the user's subscriptions after `after`, in subscription order (time, then feed id), each
    /// with its unread count. The counts cost one index range per listed feed, whatever the table's statistics.
    async fn list_subscriptions(
        &self,
        user: UserId,
        limit: u32,
        after: Option<SubscriptionCursor>,
    ) -> Result<SubscriptionPage, StoreError>;
    async fn get_subscription(&self, user: UserId, feed: FeedId) -> Result<Subscription, StoreError>;

    // Feeds, for the engine.
    /// Every feed with at least one subscriber: the feeds that need an actor.
    async fn feeds_with_subscribers(&self) -> Result<Vec<Feed>, StoreError>;
    async fn get_feed(&self, feed: FeedId) -> Result<Feed, StoreError>;
    /// Records a failed poll: the status (`error`, or `dead` when the feed is given up), the message, one more
    /// consecutive error, and the next attempt (none for a dead feed). `dead_since` is set when it dies.
    async fn record_poll_error(
        &self,
        feed: FeedId,
        error: &str,
        status: FeedStatus,
        next_poll_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Parks a feed whose actor crashed too often: status `failed`, with the crash message.
    async fn record_feed_failed(&self, feed: FeedId, message: &str) -> Result<(), StoreError>;
    /// Feeds for operators, optionally of one status, most consecutive errors first, at most `limit`.
    async fn list_feeds(&self, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError>;
    /// Feeds with a subscriber not polled since `polled_before` (or never), least recently polled first.
    async fn stale_feeds(&self, polled_before: DateTime<Utc>, limit: u32) -> Result<Vec<Feed>, StoreError>;
    /// A permanent redirect: the feed now lives at `url`. When another feed already has that URL, this feed's
    /// subscribers move to it and this feed is left without subscribers.
    async fn move_feed(&self, feed: FeedId, url: &str) -> Result<FeedMove, StoreError>;
    /// Records polls that found nothing new (304) in one transaction: status `ok`, errors cleared, and the
    /// timestamps. A poll older than the feed's recorded last poll changes nothing, so a late write never
    /// rolls a feed back.
    async fn record_polls_unchanged(&self, polls: &[UnchangedPoll]) -> Result<(), StoreError>;
    /// Stores several feeds' entries and poll state in one transaction and links new articles to subscribers.
    async fn persist_batches(&self, batches: &[FeedBatch]) -> Result<Vec<StoredBatch>, StoreError>;
    /// How many [`Store::persist_batches`] calls the persistence actor runs at once, for batches of different
    /// feeds. One unless the database can write in parallel.
    fn parallel_flushes(&self) -> usize {
        1
    }

    // Timeline.
    async fn list_articles(&self, user: UserId, query: &ArticleQuery) -> Result<ArticlePage, StoreError>;
    async fn get_article(&self, user: UserId, article: ArticleId) -> Result<Article, StoreError>;
    async fn update_article(
        &self,
        user: UserId,
        article: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, StoreError>;

    // Moving a database to another backend (`syndic copy`).
    /// Whether the database holds no users and no feeds: the only state an import starts from.
    async fn is_empty(&self) -> Result<bool, StoreError>;
    /// Up to `limit` rows of `table` after `after`, in key order.
    async fn export_page(
        &self,
        table: Table,
        after: Option<&TransferPosition>,
        limit: u32,
    ) -> Result<TransferPage, StoreError>;
    /// Writes a page as it is, ids included, in one transaction.
    async fn import_page(&self, page: &TransferPage) -> Result<(), StoreError>;
    /// Moves id generators past the imported ids, so that new rows do not collide with them.
    async fn finish_import(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::is_unavailable;

    #[test]
    fn errors_worth_retrying_are_told_from_rejected_statements() {
        for code in ["08006", "53300", "57P01", "40P01", "40001"] {
            assert!(is_unavailable(Some(code), ""), "{code}");
        }
        for code in ["23505", "22P02", "42P01", "55000"] {
            assert!(!is_unavailable(Some(code), ""), "{code}");
        }
        assert!(is_unavailable(
            Some("55000"),
            "database \"x\" is not currently accepting connections"
        ));
        assert!(!is_unavailable(None, "anything"));
    }
}
