//! The embedded SQLite backend of the store: one file, one writer, the same behaviour as the Postgres backend.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::sqlite_rows::{micros, FeedRow, SubscriptionRow};
use super::transfer::{Table, TransferPage, TransferPosition};
use super::{FeedBatch, FeedMove, PoolState, Store, StoreError, StoredBatch, SubscribedFeed, UnchangedPoll};
use crate::domain::{
    Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, Feed, FeedId, FeedStatus, NewInvite, NewUser, Role,
    Subscription, SubscriptionCursor, SubscriptionPage, User, UserCredentials, UserId,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

pub(super) const FEED_COLUMNS: &str =
    "f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.status, f.last_polled_at, \
     f.next_poll_at, f.error_count, f.last_error, f.dead_since";

/// How long a statement waits for the writer's lock before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database at `url` (`sqlite://path`, `sqlite:path` or `sqlite::memory:`), creating the file if it
    /// is missing, and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(sqlite_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let mut pool_options = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5));
        if is_in_memory(url) {
            // An in-memory database lives as long as one connection to it: keep exactly one, forever.
            // A single connection also avoids shared-cache table locks, which ignore the busy timeout.
            pool_options = pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool_options.connect_with(options).await.map_err(sqlite_error)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool; the caller is responsible for its options and for running `migrate`.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|error| sqlite_error(sqlx::Error::Migrate(Box::new(error))))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction that takes the writer's lock up front: a deferred one that reads and then writes
    /// fails with SQLITE_BUSY at once when another writer got in between, without waiting for the busy timeout.
    pub(super) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(sqlite_error)
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The store's error for a SQLite error: like `From<sqlx::Error>`, except that a busy or locked database is
/// `Unavailable`, so the persistence actor retries the batch rather than dropping it, and that a protocol
/// error is not: with no server in between, it is a malformed statement, which no retry can fix.
pub(super) fn sqlite_error(error: sqlx::Error) -> StoreError {
    if matches!(error, sqlx::Error::Protocol(_)) {
        return StoreError::Database(error);
    }
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    let busy = error
        .as_database_error()
        .and_then(|database| database.code())
        .and_then(|code| code.parse::<i32>().ok())
        // Extended result codes (SQLITE_BUSY_SNAPSHOT, …) keep the primary code in their low byte.
        .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED));
    if busy {
        return StoreError::Unavailable(error);
    }
    StoreError::from(error)
}

pub(super) fn now_micros() -> i64 {
    micros(Utc::now())
}

#[async_trait]
impl Store for SqliteStore {
    fn pool_state(&self) -> PoolState {
        PoolState {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(sqlite_error)?;
        Ok(())
    }

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        super::sqlite_users::create_user(self, user).await
    }

    async fn find_credentials(&self, identifier: &str) -> Result<Option<UserCredentials>, StoreError> {
        super::sqlite_users::find_credentials(self, identifier).await
    }

    async fn get_user(&self, user: UserId) -> Result<User, StoreError> {
        super::sqlite_users::get_user(self, user).await
    }

    async fn create_invite(&self, invite: &NewInvite) -> Result<(), StoreError> {
        super::sqlite_users::create_invite(self, invite).await
    }

    async fn set_role(&self, username: &str, role: Role) -> Result<User, StoreError> {
        super::sqlite_users::set_role(self, username, role).await
    }

    async fn subscribe_many(&self, user: UserId, urls: &[&str]) -> Result<Vec<SubscribedFeed>, StoreError> {
        super::sqlite_subscriptions::subscribe_many(self, user, urls).await
    }

    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<i64, StoreError> {
        super::sqlite_subscriptions::unsubscribe(self, user, feed).await
    }

    async fn link_cached_articles(
        &self,
        user: UserId,
        feed: FeedId,
        articles: &[ArticleId],
    ) -> Result<u64, StoreError> {
        super::sqlite_subscriptions::link_cached_articles(&self.pool, user, feed, articles).await
    }

    async fn link_recent_articles(&self, user: UserId, feed: FeedId, limit: i64) -> Result<u64, StoreError> {
        super::sqlite_subscriptions::link_recent_articles(&self.pool, user, feed, limit).await
    }

    async fn list_subscriptions(
        &self,
        user: UserId,
        limit: u32,
        after: Option<SubscriptionCursor>,
    ) -> Result<SubscriptionPage, StoreError> {
        super::sqlite_subscriptions::list_subscriptions(&self.pool, user, limit, after).await
    }

    async fn get_subscription(&self, user: UserId, feed: FeedId) -> Result<Subscription, StoreError> {
        let row: SubscriptionRow = sqlx::query_as(&subscription_query("s.user_id = $1 AND s.feed_id = $2"))
            .bind(user.hyphenated())
            .bind(feed)
            .fetch_one(&self.pool)
            .await
            .map_err(sqlite_error)?;
        row.into_subscription()
    }

    async fn feeds_with_subscribers(&self) -> Result<Vec<Feed>, StoreError> {
        let rows: Vec<FeedRow> = sqlx::query_as(&format!(
            "SELECT {FEED_COLUMNS} FROM feeds f WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id)"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(sqlite_error)?;
        rows.into_iter().map(FeedRow::into_feed).collect()
    }

    async fn get_feed(&self, feed: FeedId) -> Result<Feed, StoreError> {
        let row: FeedRow = sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = $1"))
            .bind(feed)
            .fetch_one(&self.pool)
            .await
            .map_err(sqlite_error)?;
        row.into_feed()
    }

    async fn record_poll_error(
        &self,
        feed: FeedId,
        error: &str,
        status: FeedStatus,
        next_poll_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        super::sqlite_feeds::record_poll_error(&self.pool, feed, error, status, next_poll_at).await
    }

    async fn record_feed_failed(&self, feed: FeedId, message: &str) -> Result<(), StoreError> {
        super::sqlite_feeds::record_feed_failed(&self.pool, feed, message).await
    }

    async fn list_feeds(&self, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        super::sqlite_feeds::list_feeds(&self.pool, status, limit).await
    }

    async fn stale_feeds(&self, polled_before: DateTime<Utc>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        super::sqlite_feeds::stale_feeds(&self.pool, polled_before, limit).await
    }

    async fn move_feed(&self, feed: FeedId, url: &str) -> Result<FeedMove, StoreError> {
        super::sqlite_feeds::move_feed(&self.pool, feed, url).await
    }

    async fn record_polls_unchanged(&self, polls: &[UnchangedPoll]) -> Result<(), StoreError> {
        if polls.is_empty() {
            return Ok(());
        }
        // SQLite binds no arrays: the polls travel as one JSON array of [id, polled_at, next_poll_at].
        let rows: Vec<serde_json::Value> = polls
            .iter()
            .map(|poll| serde_json::json!([poll.feed_id, micros(poll.polled_at), micros(poll.next_poll_at)]))
            .collect();
        sqlx::query(
            "UPDATE feeds SET status = 'ok', last_error = NULL, error_count = 0, dead_since = NULL, \
               last_polled_at = u.polled_at, next_poll_at = u.next_poll_at \
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS polled_at, value ->> 2 AS next_poll_at \
                   FROM json_each($1)) AS u \
             WHERE feeds.id = u.id AND (feeds.last_polled_at IS NULL OR feeds.last_polled_at <= u.polled_at)",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&self.pool)
        .await
        .map_err(sqlite_error)?;
        Ok(())
    }

    async fn persist_batches(&self, batches: &[FeedBatch]) -> Result<Vec<StoredBatch>, StoreError> {
        super::sqlite_batch::persist(self, batches).await
    }

    async fn list_articles(&self, user: UserId, query: &ArticleQuery) -> Result<ArticlePage, StoreError> {
        super::sqlite_timeline::list_articles(&self.pool, user, query).await
    }

    async fn get_article(&self, user: UserId, article: ArticleId) -> Result<Article, StoreError> {
        super::sqlite_timeline::get_article(&self.pool, user, article).await
    }

    async fn update_article(
        &self,
        user: UserId,
        article: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, StoreError> {
        super::sqlite_timeline::update_article(&self.pool, user, article, patch).await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        super::sqlite_transfer::is_empty(&self.pool).await
    }

    async fn export_page(
        &self,
        table: Table,
        after: Option<&TransferPosition>,
        limit: u32,
    ) -> Result<TransferPage, StoreError> {
        super::sqlite_transfer::export_page(&self.pool, table, after, limit).await
    }

    async fn import_page(&self, page: &TransferPage) -> Result<(), StoreError> {
        super::sqlite_transfer::import_page(&self.pool, page).await
    }

    /// AUTOINCREMENT already moves past explicitly inserted ids: nothing to do.
    async fn finish_import(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// One subscription with its unread count. The count names its index, as the listing's does
/// (`sqlite_subscriptions::list_subscriptions`): without statistics SQLite would count over every row of the user.
fn subscription_query(filter: &str) -> String {
    format!(
        "SELECT {FEED_COLUMNS}, s.created_at AS subscribed_at, \
           (SELECT count(*) FROM user_articles ua INDEXED BY user_articles_unread_by_feed \
             WHERE ua.user_id = s.user_id AND ua.feed_id = s.feed_id AND ua.read_at IS NULL) AS unread_count \
         FROM subscriptions s JOIN feeds f ON f.id = s.feed_id WHERE {filter} ORDER BY s.created_at, f.id"
    )
}
