//! Subscribing and unsubscribing on Postgres, listing a user's subscriptions a page at a time, and showing a new
//! subscriber a feed's recent articles as unread (by moving their cutoff).

use std::collections::{HashMap, HashSet};

use super::rows::{SubscriptionRow, TAGS_COLUMN};
use super::PostgresStore;
use crate::domain::{ArticleId, FeedId, Subscription, SubscriptionCursor, SubscriptionPage, UserId};
use crate::store::read_state::{lower_cutoff, UNREAD_COUNT};
use crate::store::rows::{self, CATEGORY_JOIN, FEED_COLUMNS, ORGANISE_COLUMNS};
use crate::store::{StoreError, SubscribedFeed};

pub(super) async fn subscribe_many(
    store: &PostgresStore,
    user: UserId,
    urls: &[&str],
) -> Result<Vec<SubscribedFeed>, StoreError> {
    let mut seen = HashSet::with_capacity(urls.len());
    let distinct: Vec<&str> = urls.iter().copied().filter(|url| seen.insert(*url)).collect();
    let mut transaction = store.pool.begin().await?;
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
        let rows: Vec<FoundFeed> = sqlx::query_as(
            "WITH input AS (SELECT url, ord FROM UNNEST($1::text[]) WITH ORDINALITY AS t(url, ord)), \
             inserted AS (INSERT INTO feeds (url) SELECT url FROM input ORDER BY ord \
                          ON CONFLICT (url) DO NOTHING RETURNING id, url) \
             SELECT id, url, true AS created FROM inserted \
             UNION ALL SELECT f.id, f.url, false AS created FROM feeds f JOIN input i ON i.url = f.url",
        )
        .bind(&missing)
        .fetch_all(&mut *transaction)
        .await?;
        found.extend(rows.into_iter().map(|row| (row.url, (row.id, row.created))));
    }
    let feed_ids = distinct
        .iter()
        .map(|url| found.get(*url).map(|(id, _)| *id).ok_or(StoreError::NotFound))
        .collect::<Result<Vec<FeedId>, _>>()?;
    sqlx::query(
        // A new subscriber starts with everything stored read; linking moves the cutoff back (see below).
        "INSERT INTO subscriptions (user_id, feed_id, read_through_seq) \
         SELECT $1, t.feed_id, f.last_seq FROM UNNEST($2::bigint[]) WITH ORDINALITY AS t(feed_id, ord) \
         JOIN feeds f ON f.id = t.feed_id ORDER BY t.ord \
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

/// A feed that a subscribe found or created.
#[derive(sqlx::FromRow)]
struct FoundFeed {
    id: FeedId,
    url: String,
    created: bool,
}

pub(super) async fn unsubscribe(store: &PostgresStore, user: UserId, feed: FeedId) -> Result<i64, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let removed = sqlx::query("DELETE FROM subscriptions WHERE user_id = $1 AND feed_id = $2")
        .bind(user)
        .bind(feed)
        .execute(&mut *transaction)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM article_marks WHERE user_id = $1 AND feed_id = $2")
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

pub(super) async fn unread_from_cached_articles(
    store: &PostgresStore,
    user: UserId,
    feed: FeedId,
    articles: &[ArticleId],
) -> Result<u64, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let oldest: Option<i64> = sqlx::query_scalar("SELECT min(seq) FROM articles WHERE feed_id = $1 AND id = ANY($2)")
        .bind(feed)
        .bind(articles)
        .fetch_one(&mut *transaction)
        .await?;
    let unread = match oldest {
        Some(oldest) => lower_cutoff::<sqlx::Postgres, _>(&mut *transaction, user, feed, oldest - 1).await?,
        None => 0,
    };
    transaction.commit().await?;
    Ok(unread)
}

pub(super) async fn unread_recent_articles(
    store: &PostgresStore,
    user: UserId,
    feed: FeedId,
    limit: i64,
) -> Result<u64, StoreError> {
    if limit < 0 {
        return Err(StoreError::Database(sqlx::Error::InvalidArgument(format!(
            "the number of recent articles must not be negative: {limit}"
        ))));
    }
    let mut transaction = store.pool.begin().await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM feeds WHERE id = $1")
        .bind(feed)
        .fetch_optional(&mut *transaction)
        .await?;
    let unread = match last {
        Some(last) => lower_cutoff::<sqlx::Postgres, _>(&mut *transaction, user, feed, (last - limit).max(0)).await?,
        None => 0,
    };
    transaction.commit().await?;
    Ok(unread)
}

/// The page is cut first, in a materialised CTE over `subscriptions_by_time`; each unread count is arithmetic on
/// the subscription and feed rows (`read_state::UNREAD_COUNT`).
pub(super) async fn list_subscriptions(
    store: &PostgresStore,
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
        "WITH page AS MATERIALIZED ( \
           SELECT s.user_id, s.feed_id, s.created_at FROM subscriptions s WHERE s.user_id = $1{after_filter} \
           ORDER BY s.created_at, s.feed_id LIMIT $2) \
         SELECT {FEED_COLUMNS}, page.created_at AS subscribed_at, {UNREAD_COUNT} AS unread_count, \
           {ORGANISE_COLUMNS}, {TAGS_COLUMN} \
         FROM page JOIN feeds f ON f.id = page.feed_id \
         JOIN subscriptions s ON s.user_id = page.user_id AND s.feed_id = page.feed_id {CATEGORY_JOIN} \
         ORDER BY page.created_at, page.feed_id"
    );
    // One extra row says whether there is a next page.
    let mut query = sqlx::query_as(&sql).bind(user).bind(i64::from(limit) + 1);
    if let Some(cursor) = after {
        query = query.bind(cursor.subscribed_at).bind(cursor.feed_id);
    }
    let rows: Vec<SubscriptionRow> = query.fetch_all(&store.pool).await?;
    Ok(SubscriptionPage::from_rows(rows::subscriptions(rows)?, limit))
}

pub(super) async fn get_subscription(
    store: &PostgresStore,
    user: UserId,
    feed: FeedId,
) -> Result<Subscription, StoreError> {
    let row: SubscriptionRow = sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS}, s.created_at AS subscribed_at, {UNREAD_COUNT} AS unread_count, \
           {ORGANISE_COLUMNS}, {TAGS_COLUMN} \
         FROM subscriptions s JOIN feeds f ON f.id = s.feed_id {CATEGORY_JOIN} WHERE s.user_id = $1 AND s.feed_id = $2"
    ))
    .bind(user)
    .bind(feed)
    .fetch_one(&store.pool)
    .await?;
    row.into_subscription()
}
