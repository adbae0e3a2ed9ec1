//! A user's timeline on SQLite: keyset-paged listing, one article, and its read and starred state.

use sqlx::Sqlite;

use super::rows::{micros, now_micros, ArticleRow, PageKeyRow, SearchKeyRow};
use super::search_walk::SqliteWalk;
use super::SqliteStore;
use crate::domain::{Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, ArticleSearch, FeedId, UserId};
use crate::store::error::sqlite_error;
use crate::store::read_state::{settle_mark, ReadChange};
use crate::store::rows;
use crate::store::search_walk::walked_search_keys;
use crate::store::timeline_page::{exact_page, keys_per_feed, page_keys, PageKey, RECENT_SCAN_PER_ROW};
use crate::store::timeline_query::{
    articles_by_key_query, get_article_sql, page_keys_query, recent_keys_query, starred_query, Lateral,
};
use crate::store::timeline_search::{search_keys_query, search_page, Matches, SearchIndex, SearchKey};
use crate::store::StoreError;

pub(super) async fn list_articles(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
) -> Result<ArticlePage, StoreError> {
    if let Some(search) = &query.filter.search {
        return search_articles(store, user, query, search).await;
    }
    let mut builder = if query.starred == Some(true) {
        starred_query(user.hyphenated(), query, micros)
    } else {
        let keys = page_keys_of(store, user, query).await?;
        articles_by_key_query(user.hyphenated(), &keys, Lateral::Missing)
    };
    let rows: Vec<ArticleRow> = builder
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(ArticlePage::from_rows(rows::articles(rows)?, query.limit))
}

/// A page of the articles that match a text search. By date, a walk of the timeline finds the page first
/// (`search_walk`); when it cannot, and by relevance, every match is read.
async fn search_articles(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
    search: &ArticleSearch,
) -> Result<ArticlePage, StoreError> {
    let text = search.query.to_fts5();
    let walk = SqliteWalk {
        store,
        user,
        query,
        text: &text,
    };
    let keys = match walked_search_keys(&walk, query, search.order).await? {
        Ok(keys) => keys,
        // SQLite's statement reads every match first whatever is known of them.
        Err(_) => matched_search_keys(store, user, query, search, text).await?,
    };
    let page_keys: Vec<PageKey> = keys.iter().map(|key| key.key).collect();
    let rows: Vec<ArticleRow> = articles_by_key_query(user.hyphenated(), &page_keys, Lateral::Missing)
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(search_page(&keys, rows::articles(rows)?, query.limit, search.order))
}

/// The keys of the page (one more when there is a next page) from every match of the search, sorted.
async fn matched_search_keys(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
    search: &ArticleSearch,
    text: String,
) -> Result<Vec<SearchKey>, StoreError> {
    let rows: Vec<SearchKeyRow> = search_keys_query(
        user.hyphenated(),
        query,
        search,
        text,
        micros,
        SearchIndex::Fts5,
        Matches::Unknown,
    )
    .build_query_as()
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    SearchKey::of_rows(rows)
}

/// The keys of the page, and one more when there is a next page: from the store's newest articles when the page
/// fills there, else from the keys of each followed feed's newest.
async fn page_keys_of(store: &SqliteStore, user: UserId, query: &ArticleQuery) -> Result<Vec<PageKey>, StoreError> {
    let rows = i64::from(query.limit) + 1;
    if query.feed_id.is_none() {
        let keys: Vec<PageKeyRow> = recent_keys_query(
            user.hyphenated(),
            query,
            micros,
            Lateral::Missing,
            rows * RECENT_SCAN_PER_ROW,
            rows,
        )
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
        if keys.len() as i64 == rows {
            return page_keys(keys);
        }
    }
    let mut page = Vec::new();
    for per_feed in keys_per_feed(rows) {
        let keys: Vec<PageKeyRow> = page_keys_query(user.hyphenated(), query, micros, Lateral::Missing, per_feed)
            .build_query_as()
            .fetch_all(&store.pool)
            .await
            .map_err(sqlite_error)?;
        if let Some(exact) = exact_page(page_keys(keys)?, per_feed as usize, rows as usize) {
            page = exact;
            break;
        }
    }
    Ok(page)
}

pub(super) async fn get_article(store: &SqliteStore, user: UserId, article: ArticleId) -> Result<Article, StoreError> {
    let row: ArticleRow = sqlx::query_as(&get_article_sql())
        .bind(user.hyphenated())
        .bind(article)
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    row.into_article()
}

/// The article and the reader's subscription to its feed; the write lock keeps marks and counts together.
#[derive(sqlx::FromRow)]
struct MarkTarget {
    feed_id: FeedId,
    seq: i64,
    published_at: i64,
    read_through_seq: i64,
    read_mark: Option<bool>,
}

pub(super) async fn update_article(
    store: &SqliteStore,
    user: UserId,
    article: ArticleId,
    patch: ArticlePatch,
) -> Result<Article, StoreError> {
    let mut transaction = store.begin_write().await?;
    let target: MarkTarget = sqlx::query_as(
        "SELECT a.feed_id, a.seq, a.published_at, s.read_through_seq, \
           (SELECT m.read_mark FROM article_marks m WHERE m.user_id = s.user_id AND m.article_id = a.id) AS read_mark \
         FROM articles a JOIN subscriptions s ON s.feed_id = a.feed_id AND s.user_id = $1 WHERE a.id = $2",
    )
    .bind(user.hyphenated())
    .bind(article)
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let change = ReadChange::of(target.seq, target.read_through_seq, target.read_mark, patch.read);
    sqlx::query(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at) \
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 THEN $7 END, CASE WHEN $6 THEN $7 END) \
         ON CONFLICT (user_id, article_id) DO UPDATE SET read_mark = $5, \
           read_at = CASE WHEN $5 THEN COALESCE(article_marks.read_at, $7) END, \
           starred_at = CASE WHEN $6 IS NULL THEN article_marks.starred_at \
                             WHEN $6 THEN COALESCE(article_marks.starred_at, $7) END",
    )
    .bind(user.hyphenated())
    .bind(article)
    .bind(target.feed_id)
    .bind(target.published_at)
    .bind(change.read_mark)
    .bind(patch.starred)
    .bind(now_micros())
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    settle_mark::<Sqlite, _>(&mut *transaction, user.hyphenated(), article, target.feed_id, change)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    get_article(store, user, article).await
}
