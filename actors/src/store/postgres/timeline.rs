//! A user's timeline on Postgres: keyset-paged listing, one article, and its read and starred state.

use super::rows::{ArticleRow, PageKeyRow, SearchKeyRow};
use super::search_walk::PostgresWalk;
use super::PostgresStore;
use crate::domain::{Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, ArticleSearch, FeedId, UserId};
use crate::store::read_state::{settle_mark, ReadChange};
use crate::store::rows;
use crate::store::search_walk::walked_search_keys;
use crate::store::timeline_page::{exact_page, keys_per_feed, page_keys, PageKey, RECENT_SCAN_PER_ROW};
use crate::store::timeline_query::{
    articles_by_key_query, get_article_sql, page_keys_query, recent_keys_query, starred_query, Lateral,
};
use crate::store::timeline_search::{search_keys_query, search_page, SearchIndex, SearchKey};
use crate::store::StoreError;

pub(super) async fn list_articles(
    store: &PostgresStore,
    user: UserId,
    query: &ArticleQuery,
) -> Result<ArticlePage, StoreError> {
    if let Some(search) = &query.filter.search {
        return search_articles(store, user, query, search).await;
    }
    let rows: Vec<ArticleRow> = if query.starred == Some(true) {
        starred_query(user, query, |time| time)
            .build_query_as()
            .fetch_all(&store.pool)
            .await?
    } else {
        let keys = page_keys_of(store, user, query).await?;
        articles_by_key_query(user, &keys, Lateral::Available)
            .build_query_as()
            .fetch_all(&store.pool)
            .await?
    };
    Ok(ArticlePage::from_rows(rows::articles(rows)?, query.limit))
}

/// A page of the articles that match a text search. By date, a walk of the timeline finds the page first
/// (`search_walk`); when it cannot, every match is read and sorted. By relevance, the planner chooses.
async fn search_articles(
    store: &PostgresStore,
    user: UserId,
    query: &ArticleQuery,
    search: &ArticleSearch,
) -> Result<ArticlePage, StoreError> {
    let text = search.query.to_tsquery();
    let walk = PostgresWalk {
        store,
        user,
        query,
        text: &text,
    };
    let keys = match walked_search_keys(&walk, query, search.order).await? {
        Ok(keys) => keys,
        Err(matches) => {
            let rows: Vec<SearchKeyRow> =
                search_keys_query(user, query, search, text, |time| time, SearchIndex::Vector, matches)
                    .build_query_as()
                    // Not a named prepared statement: after five runs Postgres may keep one generic plan for it,
                    // made without knowing the words, which takes every query for a rare one (a bitmap of all
                    // matches, then a sort) and makes a query of common words, by date, 400 times slower than the
                    // plan its own words get.
                    .persistent(false)
                    .fetch_all(&store.pool)
                    .await?;
            SearchKey::of_rows(rows)?
        }
    };
    let page_keys: Vec<PageKey> = keys.iter().map(|key| key.key).collect();
    let rows: Vec<ArticleRow> = articles_by_key_query(user, &page_keys, Lateral::Available)
        .build_query_as()
        .fetch_all(&store.pool)
        .await?;
    Ok(search_page(&keys, rows::articles(rows)?, query.limit, search.order))
}

/// The keys of the page, and one more when there is a next page: from the store's newest articles when the page
/// fills there, else from the keys of each followed feed's newest.
async fn page_keys_of(store: &PostgresStore, user: UserId, query: &ArticleQuery) -> Result<Vec<PageKey>, StoreError> {
    let rows = i64::from(query.limit) + 1;
    if query.feed_id.is_none() {
        let keys: Vec<PageKeyRow> = recent_keys_query(
            user,
            query,
            |time| time,
            Lateral::Available,
            rows * RECENT_SCAN_PER_ROW,
            rows,
        )
        .build_query_as()
        .fetch_all(&store.pool)
        .await?;
        if keys.len() as i64 == rows {
            return page_keys(keys);
        }
    }
    let mut page = Vec::new();
    for per_feed in keys_per_feed(rows) {
        let keys: Vec<PageKeyRow> = page_keys_query(user, query, |time| time, Lateral::Available, per_feed)
            .build_query_as()
            .fetch_all(&store.pool)
            .await?;
        if let Some(exact) = exact_page(page_keys(keys)?, per_feed as usize, rows as usize) {
            page = exact;
            break;
        }
    }
    Ok(page)
}

pub(super) async fn get_article(
    store: &PostgresStore,
    user: UserId,
    article: ArticleId,
) -> Result<Article, StoreError> {
    let row: ArticleRow = sqlx::query_as(&get_article_sql())
        .bind(user)
        .bind(article)
        .fetch_one(&store.pool)
        .await?;
    row.into_article()
}

/// The article and the reader's subscription to its feed, locked so that marks and counts change together.
#[derive(sqlx::FromRow)]
struct MarkTarget {
    feed_id: FeedId,
    seq: i64,
    published_at: chrono::DateTime<chrono::Utc>,
    read_through_seq: i64,
}

pub(super) async fn update_article(
    store: &PostgresStore,
    user: UserId,
    article: ArticleId,
    patch: ArticlePatch,
) -> Result<Article, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let target: MarkTarget = sqlx::query_as(
        "SELECT a.feed_id, a.seq, a.published_at, s.read_through_seq \
         FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id AND s.user_id = $1 \
         WHERE a.id = $2 FOR UPDATE OF s",
    )
    .bind(user)
    .bind(article)
    .fetch_one(&mut *transaction)
    .await?;
    // Read once the lock is held, by a statement of its own: its snapshot sees every mark committed by whoever
    // held the lock before, so two marks at once never count the same change twice.
    let stored: Option<Option<bool>> =
        sqlx::query_scalar("SELECT read_mark FROM article_marks WHERE user_id = $1 AND article_id = $2")
            .bind(user)
            .bind(article)
            .fetch_optional(&mut *transaction)
            .await?;
    let change = ReadChange::of(target.seq, target.read_through_seq, stored.flatten(), patch.read);
    sqlx::query(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at) \
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 THEN now() END, CASE WHEN $6::bool THEN now() END) \
         ON CONFLICT (user_id, article_id) DO UPDATE SET read_mark = $5, \
           read_at = CASE WHEN $5 THEN COALESCE(article_marks.read_at, now()) END, \
           starred_at = CASE WHEN $6::bool IS NULL THEN article_marks.starred_at \
                             WHEN $6 THEN COALESCE(article_marks.starred_at, now()) END",
    )
    .bind(user)
    .bind(article)
    .bind(target.feed_id)
    .bind(target.published_at)
    .bind(change.read_mark)
    .bind(patch.starred)
    .execute(&mut *transaction)
    .await?;
    settle_mark::<sqlx::Postgres, _>(&mut *transaction, user, article, target.feed_id, change).await?;
    transaction.commit().await?;
    get_article(store, user, article).await
}
