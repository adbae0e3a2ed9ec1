//! The Postgres backend of the store.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::postgres_rows::{ArticleRow, FeedRow, SubscriptionRow};
use super::transfer::{Table, TransferPage, TransferPosition};
use super::{FeedBatch, FeedMove, PoolState, Store, StoreError, StoredBatch, SubscribedFeed, UnchangedPoll};
use crate::domain::{
    Article, ArticleCursor, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, Feed, FeedId, FeedStatus, NewInvite,
    NewUser, ReadFilter, Role, Subscription, SubscriptionCursor, SubscriptionPage, User, UserCredentials, UserId,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub(super) const FEED_COLUMNS: &str =
    "f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.status, f.last_polled_at, \
     f.next_poll_at, f.error_count, f.last_error, f.dead_since";

const ARTICLE_COLUMNS: &str = "a.id, a.feed_id, f.title AS feed_title, a.title, a.url, a.summary, a.content, \
     a.author, a.categories, a.enclosures, ua.published_at, ua.read_at IS NOT NULL AS read, \
     ua.starred_at IS NOT NULL AS starred";
/// A user's articles, each with its feed's title (a join, not a copy per article).
const ARTICLE_SOURCE: &str =
    "user_articles ua JOIN articles a ON a.id = ua.article_id JOIN feeds f ON f.id = ua.feed_id";

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects, creating the database if it is missing, and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        if !Postgres::database_exists(url).await? {
            Postgres::create_database(url).await?;
            tracing::info!("created the database");
        }
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool (tests get theirs from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresStore { pool }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|error| StoreError::Database(sqlx::Error::Migrate(Box::new(error))))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PostgresStore {
    /// A flush keeps one backend busy, and batches of different feeds touch different rows: two at once let a
    /// second core write while the first is (BENCHMARKS.md, third session).
    fn parallel_flushes(&self) -> usize {
        2
    }

    fn pool_state(&self) -> PoolState {
        PoolState {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        super::postgres_users::create_user(&self.pool, user).await
    }

    async fn find_credentials(&self, identifier: &str) -> Result<Option<UserCredentials>, StoreError> {
        super::postgres_users::find_credentials(&self.pool, identifier).await
    }

    async fn get_user(&self, user: UserId) -> Result<User, StoreError> {
        super::postgres_users::get_user(&self.pool, user).await
    }

    async fn create_invite(&self, invite: &NewInvite) -> Result<(), StoreError> {
        super::postgres_users::create_invite(&self.pool, invite).await
    }

    async fn set_role(&self, username: &str, role: Role) -> Result<User, StoreError> {
        super::postgres_users::set_role(&self.pool, username, role).await
    }

    async fn subscribe_many(&self, user: UserId, urls: &[&str]) -> Result<Vec<SubscribedFeed>, StoreError> {
        let mut seen = HashSet::with_capacity(urls.len());
        let distinct: Vec<&str> = urls.iter().copied().filter(|url| seen.insert(*url)).collect();
        let mut transaction = self.pool.begin().await?;
        // Creates the new feeds in request order and finds the others. A concurrent insert of the same new URL
        // is invisible to this statement's snapshot, so the URLs it did not return are looked up once more.
        let mut found: HashMap<String, (FeedId, bool)> = HashMap::with_capacity(distinct.len());
        for _ in 0..2 {
            let missing: Vec<&str> = distinct
                .iter()
                .copied()
                .filter(|url| !found.contains_key(*url))
                .collect();
            if missing.is_empty() {
                break;
            }
            let rows: Vec<(FeedId, String, bool)> = sqlx::query_as(
                "WITH input AS (SELECT url, ord FROM UNNEST($1::text[]) WITH ORDINALITY AS t(url, ord)), \
                 inserted AS (INSERT INTO feeds (url) SELECT url FROM input ORDER BY ord \
                              ON CONFLICT (url) DO NOTHING RETURNING id, url) \
                 SELECT id, url, true FROM inserted \
                 UNION ALL SELECT f.id, f.url, false FROM feeds f JOIN input i ON i.url = f.url",
            )
            .bind(&missing)
            .fetch_all(&mut *transaction)
            .await?;
            found.extend(rows.into_iter().map(|(id, url, created)| (url, (id, created))));
        }
        let feed_ids = distinct
            .iter()
            .map(|url| found.get(*url).map(|(id, _)| *id).ok_or(StoreError::NotFound))
            .collect::<Result<Vec<FeedId>, _>>()?;
        sqlx::query(
            "INSERT INTO subscriptions (user_id, feed_id) \
             SELECT $1, feed_id FROM UNNEST($2::bigint[]) WITH ORDINALITY AS t(feed_id, ord) ORDER BY ord \
             ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(&feed_ids)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(urls
            .iter()
            .map(|url| {
                let (feed_id, created) = found[*url];
                SubscribedFeed { feed_id, created }
            })
            .collect())
    }

    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<i64, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM subscriptions WHERE user_id = $1 AND feed_id = $2")
            .bind(user)
            .bind(feed)
            .execute(&mut *transaction)
            .await?;
        if removed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM user_articles WHERE user_id = $1 AND feed_id = $2")
            .bind(user)
            .bind(feed)
            .execute(&mut *transaction)
            .await?;
        let remaining: i64 = sqlx::query_scalar("SELECT count(*) FROM subscriptions WHERE feed_id = $1")
            .bind(feed)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(remaining)
    }

    async fn link_cached_articles(
        &self,
        user: UserId,
        feed: FeedId,
        articles: &[ArticleId],
    ) -> Result<u64, StoreError> {
        let linked = sqlx::query(
            "INSERT INTO user_articles (user_id, article_id, feed_id, published_at) \
             SELECT $1, a.id, a.feed_id, a.published_at FROM articles a \
             WHERE a.feed_id = $2 AND a.id = ANY($3) \
               AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $1 AND s.feed_id = $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(feed)
        .bind(articles)
        .execute(&self.pool)
        .await?;
        Ok(linked.rows_affected())
    }

    async fn link_recent_articles(&self, user: UserId, feed: FeedId, limit: i64) -> Result<u64, StoreError> {
        let linked = sqlx::query(
            "INSERT INTO user_articles (user_id, article_id, feed_id, published_at) \
             SELECT $1, a.id, a.feed_id, a.published_at FROM articles a \
             WHERE a.feed_id = $2 \
               AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $1 AND s.feed_id = $2) \
             ORDER BY a.published_at DESC, a.id DESC LIMIT $3 \
             ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(feed)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(linked.rows_affected())
    }

    #[tracing::instrument(skip(self))]
    async fn list_subscriptions(
        &self,
        user: UserId,
        limit: u32,
        after: Option<SubscriptionCursor>,
    ) -> Result<SubscriptionPage, StoreError> {
        let sql = subscription_page_query(after.is_some());
        // One extra row says whether there is a next page.
        let mut query = sqlx::query_as(&sql).bind(user).bind(i64::from(limit) + 1);
        if let Some(cursor) = after {
            query = query.bind(cursor.subscribed_at).bind(cursor.feed_id);
        }
        let rows: Vec<SubscriptionRow> = query.fetch_all(&self.pool).await?;
        let subscriptions = rows
            .into_iter()
            .map(SubscriptionRow::into_subscription)
            .collect::<Result<Vec<Subscription>, StoreError>>()?;
        Ok(SubscriptionPage::from_rows(subscriptions, limit))
    }

    async fn get_subscription(&self, user: UserId, feed: FeedId) -> Result<Subscription, StoreError> {
        let row: SubscriptionRow = sqlx::query_as(&subscription_query("s.user_id = $1 AND s.feed_id = $2"))
            .bind(user)
            .bind(feed)
            .fetch_one(&self.pool)
            .await?;
        row.into_subscription()
    }

    async fn feeds_with_subscribers(&self) -> Result<Vec<Feed>, StoreError> {
        let rows: Vec<FeedRow> = sqlx::query_as(&format!(
            "SELECT {FEED_COLUMNS} FROM feeds f WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id)"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(FeedRow::into_feed).collect()
    }

    async fn get_feed(&self, feed: FeedId) -> Result<Feed, StoreError> {
        let row: FeedRow = sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = $1"))
            .bind(feed)
            .fetch_one(&self.pool)
            .await?;
        row.into_feed()
    }

    async fn record_poll_error(
        &self,
        feed: FeedId,
        error: &str,
        status: FeedStatus,
        next_poll_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        super::postgres_feeds::record_poll_error(&self.pool, feed, error, status, next_poll_at).await
    }

    async fn record_feed_failed(&self, feed: FeedId, message: &str) -> Result<(), StoreError> {
        super::postgres_feeds::record_feed_failed(&self.pool, feed, message).await
    }

    async fn list_feeds(&self, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        super::postgres_feeds::list_feeds(&self.pool, status, limit).await
    }

    async fn stale_feeds(&self, polled_before: DateTime<Utc>, limit: u32) -> Result<Vec<Feed>, StoreError> {
        super::postgres_feeds::stale_feeds(&self.pool, polled_before, limit).await
    }

    async fn move_feed(&self, feed: FeedId, url: &str) -> Result<FeedMove, StoreError> {
        super::postgres_feeds::move_feed(&self.pool, feed, url).await
    }

    async fn record_polls_unchanged(&self, polls: &[UnchangedPoll]) -> Result<(), StoreError> {
        if polls.is_empty() {
            return Ok(());
        }
        let ids: Vec<FeedId> = polls.iter().map(|poll| poll.feed_id).collect();
        let polled_at: Vec<DateTime<Utc>> = polls.iter().map(|poll| poll.polled_at).collect();
        let next_poll_at: Vec<DateTime<Utc>> = polls.iter().map(|poll| poll.next_poll_at).collect();
        sqlx::query(
            "UPDATE feeds f SET status = 'ok', last_error = NULL, error_count = 0, dead_since = NULL, \
               last_polled_at = u.polled_at, next_poll_at = u.next_poll_at \
             FROM UNNEST($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS u(id, polled_at, next_poll_at) \
             WHERE f.id = u.id AND (f.last_polled_at IS NULL OR f.last_polled_at <= u.polled_at)",
        )
        .bind(&ids)
        .bind(&polled_at)
        .bind(&next_poll_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn persist_batches(&self, batches: &[FeedBatch]) -> Result<Vec<StoredBatch>, StoreError> {
        super::postgres_batch::persist(&self.pool, batches).await
    }

    async fn list_articles(&self, user: UserId, query: &ArticleQuery) -> Result<ArticlePage, StoreError> {
        let mut builder: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} WHERE ua.user_id = "
        ));
        builder.push_bind(user);
        if let Some(feed) = query.feed_id {
            builder.push(" AND ua.feed_id = ").push_bind(feed);
        }
        match query.status {
            ReadFilter::Unread => builder.push(" AND ua.read_at IS NULL"),
            ReadFilter::Read => builder.push(" AND ua.read_at IS NOT NULL"),
            ReadFilter::All => &mut builder,
        };
        match query.starred {
            Some(true) => builder.push(" AND ua.starred_at IS NOT NULL"),
            Some(false) => builder.push(" AND ua.starred_at IS NULL"),
            None => &mut builder,
        };
        if let Some(cursor) = query.cursor {
            builder
                .push(" AND (ua.published_at, ua.article_id) < (")
                .push_bind(cursor.published_at)
                .push(", ")
                .push_bind(cursor.article_id)
                .push(")");
        }
        // One extra row says whether there is a next page.
        builder
            .push(" ORDER BY ua.published_at DESC, ua.article_id DESC LIMIT ")
            .push_bind(i64::from(query.limit) + 1);
        let rows: Vec<ArticleRow> = builder.build_query_as().fetch_all(&self.pool).await?;
        let mut articles = rows
            .into_iter()
            .map(ArticleRow::into_article)
            .collect::<Result<Vec<Article>, StoreError>>()?;
        let next_cursor = if articles.len() > query.limit as usize {
            articles.truncate(query.limit as usize);
            articles.last().map(|last| ArticleCursor {
                published_at: last.published_at,
                article_id: last.id,
            })
        } else {
            None
        };
        Ok(ArticlePage { articles, next_cursor })
    }

    async fn get_article(&self, user: UserId, article: ArticleId) -> Result<Article, StoreError> {
        let row: ArticleRow = sqlx::query_as(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} \
             WHERE ua.user_id = $1 AND ua.article_id = $2"
        ))
        .bind(user)
        .bind(article)
        .fetch_one(&self.pool)
        .await?;
        row.into_article()
    }

    async fn update_article(
        &self,
        user: UserId,
        article: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, StoreError> {
        let updated = sqlx::query(
            "UPDATE user_articles SET \
               read_at = CASE WHEN $3::bool IS NULL THEN read_at WHEN $3 THEN COALESCE(read_at, now()) ELSE NULL END, \
               starred_at = CASE WHEN $4::bool IS NULL THEN starred_at WHEN $4 THEN COALESCE(starred_at, now()) ELSE NULL END \
             WHERE user_id = $1 AND article_id = $2",
        )
        .bind(user)
        .bind(article)
        .bind(patch.read)
        .bind(patch.starred)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_article(user, article).await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        super::postgres_transfer::is_empty(&self.pool).await
    }

    async fn export_page(
        &self,
        table: Table,
        after: Option<&TransferPosition>,
        limit: u32,
    ) -> Result<TransferPage, StoreError> {
        super::postgres_transfer::export_page(&self.pool, table, after, limit).await
    }

    async fn import_page(&self, page: &TransferPage) -> Result<(), StoreError> {
        super::postgres_transfer::import_page(&self.pool, page).await
    }

    async fn finish_import(&self) -> Result<(), StoreError> {
        super::postgres_transfer::finish_import(&self.pool).await
    }
}

fn subscription_query(filter: &str) -> String {
    format!(
        "SELECT {FEED_COLUMNS}, s.created_at AS subscribed_at, \
           (SELECT count(*) FROM user_articles ua \
             WHERE ua.user_id = s.user_id AND ua.feed_id = s.feed_id AND ua.read_at IS NULL) AS unread_count \
         FROM subscriptions s JOIN feeds f ON f.id = s.feed_id WHERE {filter} ORDER BY s.created_at, f.id"
    )
}

/// One page of subscriptions ($1 user, $2 rows; $3, $4 the cursor when `after`). The page is cut first, in a
/// materialised CTE over `subscriptions_by_time`, so the unread counts run only for its feeds, each one range of
/// `user_articles_unread_by_feed`: the work is bounded by the page size however stale the statistics are.
fn subscription_page_query(after: bool) -> String {
    let after = if after {
        " AND (s.created_at, s.feed_id) > ($3, $4)"
    } else {
        ""
    };
    format!(
        "WITH page AS MATERIALIZED ( \
           SELECT s.user_id, s.feed_id, s.created_at FROM subscriptions s WHERE s.user_id = $1{after} \
           ORDER BY s.created_at, s.feed_id LIMIT $2) \
         SELECT {FEED_COLUMNS}, page.created_at AS subscribed_at, unread.unread_count \
         FROM page JOIN feeds f ON f.id = page.feed_id \
         CROSS JOIN LATERAL (SELECT count(*) AS unread_count FROM user_articles ua \
           WHERE ua.user_id = page.user_id AND ua.feed_id = page.feed_id AND ua.read_at IS NULL) unread \
         ORDER BY page.created_at, page.feed_id"
    )
}
