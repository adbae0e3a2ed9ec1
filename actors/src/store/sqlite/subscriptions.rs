//! Subscribing and unsubscribing on SQLite, listing a user's subscriptions a page at a time, and showing a new
//! subscriber a feed's recent articles as unread (by moving their cutoff).

use sqlx::Sqlite;

use super::rows::{micros, now_micros, SubscriptionRow, TAGS_COLUMN};
use super::SqliteStore;
use crate::domain::{ArticleId, FeedId, Subscription, SubscriptionCursor, SubscriptionPage, UserId};
use crate::store::error::sqlite_error;
use crate::store::read_state::{lower_cutoff, UNREAD_COUNT};
use crate::store::rows::{self, CATEGORY_JOIN, FEED_COLUMNS, ORGANISE_COLUMNS};
use crate::store::{StoreError, SubscribedFeed};

pub(super) async fn subscribe_many(
    store: &SqliteStore,
    user: UserId,
    urls: &[&str],
) -> Result<Vec<SubscribedFeed>, StoreError> {
    let now = now_micros();
    // One transaction for the whole request: it holds the writer's lock once, and a feed cannot appear between
    // an insert and its look-up.
    let mut transaction = store.begin_write().await?;
    let mut subscribed = Vec::with_capacity(urls.len());
    for url in urls {
        let inserted: Option<FeedId> = sqlx::query_scalar(
            "INSERT INTO feeds (url, created_at) VALUES ($1, $2) ON CONFLICT (url) DO NOTHING RETURNING id",
        )
        .bind(url)
        .bind(now)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
        let (feed_id, created) = match inserted {
            Some(feed_id) => (feed_id, true),
            None => {
                let existing: FeedId = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1")
                    .bind(url)
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(sqlite_error)?;
                // A URL given twice in one request was created by its first occurrence.
                let created = subscribed
                    .iter()
                    .any(|earlier: &SubscribedFeed| earlier.feed_id == existing && earlier.created);
                (existing, created)
            }
        };
        sqlx::query(
            // A new subscriber starts with everything stored read; linking moves the cutoff back.
            "INSERT INTO subscriptions (user_id, feed_id, created_at, read_through_seq) \
             SELECT $1, $2, $3, last_seq FROM feeds WHERE id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(user.hyphenated())
        .bind(feed_id)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
        subscribed.push(SubscribedFeed { feed_id, created });
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(subscribed)
}

pub(super) async fn unsubscribe(store: &SqliteStore, user: UserId, feed: FeedId) -> Result<i64, StoreError> {
    let mut transaction = store.begin_write().await?;
    let removed = sqlx::query("DELETE FROM subscriptions WHERE user_id = $1 AND feed_id = $2")
        .bind(user.hyphenated())
        .bind(feed)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if removed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM article_marks WHERE user_id = $1 AND feed_id = $2")
        .bind(user.hyphenated())
        .bind(feed)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let remaining: i64 = sqlx::query_scalar("SELECT count(*) FROM subscriptions WHERE feed_id = $1")
        .bind(feed)
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(remaining)
}

pub(super) async fn unread_from_cached_articles(
    store: &SqliteStore,
    user: UserId,
    feed: FeedId,
    articles: &[ArticleId],
) -> Result<u64, StoreError> {
    // SQLite binds no arrays: the ids travel as one JSON array, unpacked by json_each.
    let ids = serde_json::Value::from(articles).to_string();
    let mut transaction = store.begin_write().await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT min(seq) FROM articles WHERE feed_id = $1 AND id IN (SELECT value FROM json_each($2))",
    )
    .bind(feed)
    .bind(ids)
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let unread = match oldest {
        Some(oldest) => lower_cutoff::<Sqlite, _>(&mut *transaction, user.hyphenated(), feed, oldest - 1)
            .await
            .map_err(sqlite_error)?,
        None => 0,
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(unread)
}

pub(super) async fn unread_recent_articles(
    store: &SqliteStore,
    user: UserId,
    feed: FeedId,
    limit: i64,
) -> Result<u64, StoreError> {
    if limit < 0 {
        return Err(StoreError::Database(sqlx::Error::InvalidArgument(format!(
            "the number of recent articles must not be negative: {limit}"
        ))));
    }
    let mut transaction = store.begin_write().await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM feeds WHERE id = $1")
        .bind(feed)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let unread = match last {
        Some(last) => lower_cutoff::<Sqlite, _>(&mut *transaction, user.hyphenated(), feed, (last - limit).max(0))
            .await
            .map_err(sqlite_error)?,
        None => 0,
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(unread)
}

/// The page is cut first, in a CTE over `subscriptions_by_time`; each unread count is arithmetic on the
/// subscription and feed rows (`read_state::UNREAD_COUNT`).
pub(super) async fn list_subscriptions(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    after: Option<SubscriptionCursor>,
) -> Result<SubscriptionPage, StoreError> {
    let after_filter = if after.is_some() {
        " AND (s.created_at, s.feed_id) > ($3, $4)"
    } else {
        ""
    };
    let sql = format!(
        "WITH page AS ( \
           SELECT s.user_id, s.feed_id, s.created_at FROM subscriptions s WHERE s.user_id = $1{after_filter} \
           ORDER BY s.created_at, s.feed_id LIMIT $2) \
         SELECT {FEED_COLUMNS}, page.created_at AS subscribed_at, {UNREAD_COUNT} AS unread_count, \
           {ORGANISE_COLUMNS}, {TAGS_COLUMN} \
         FROM page JOIN feeds f ON f.id = page.feed_id \
         JOIN subscriptions s ON s.user_id = page.user_id AND s.feed_id = page.feed_id {CATEGORY_JOIN} \
         ORDER BY page.created_at, page.feed_id"
    );
    // One extra row says whether there is a next page.
    let mut query = sqlx::query_as(&sql).bind(user.hyphenated()).bind(i64::from(limit) + 1);
    if let Some(cursor) = after {
        query = query.bind(micros(cursor.subscribed_at)).bind(cursor.feed_id);
    }
    let rows: Vec<SubscriptionRow> = query.fetch_all(&store.pool).await.map_err(sqlite_error)?;
    Ok(SubscriptionPage::from_rows(rows::subscriptions(rows)?, limit))
}

/// One subscription with its unread count.
pub(super) async fn get_subscription(
    store: &SqliteStore,
    user: UserId,
    feed: FeedId,
) -> Result<Subscription, StoreError> {
    let row: SubscriptionRow = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS}, s.created_at AS subscribed_at, {UNREAD_COUNT} AS unread_count, \
           {ORGANISE_COLUMNS}, {TAGS_COLUMN} \
         FROM subscriptions s JOIN feeds f ON f.id = s.feed_id {CATEGORY_JOIN} WHERE s.user_id = $1 AND s.feed_id = $2"
    ))
    .bind(user.hyphenated())
    .bind(feed)
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.into_subscription()
}
