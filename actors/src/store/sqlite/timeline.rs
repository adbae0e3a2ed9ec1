//! A user's timeline on SQLite: keyset-paged listing, one article, and its read and starred state.

use super::rows::{micros, now_micros, ArticleRow};
use super::SqliteStore;
use crate::domain::{Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, UserId};
use crate::store::error::sqlite_error;
use crate::store::rows;
use crate::store::timeline_query::{get_article_sql, list_articles_query};
use crate::store::StoreError;

pub(super) async fn list_articles(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
) -> Result<ArticlePage, StoreError> {
    let mut builder = list_articles_query(user.hyphenated(), query, micros);
    let rows: Vec<ArticleRow> = builder
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(ArticlePage::from_rows(rows::articles(rows)?, query.limit))
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

pub(super) async fn update_article(
    store: &SqliteStore,
    user: UserId,
    article: ArticleId,
    patch: ArticlePatch,
) -> Result<Article, StoreError> {
    let updated = sqlx::query(
        "UPDATE user_articles SET \
           read_at = CASE WHEN $3 IS NULL THEN read_at WHEN $3 THEN COALESCE(read_at, $5) ELSE NULL END, \
           starred_at = CASE WHEN $4 IS NULL THEN starred_at WHEN $4 THEN COALESCE(starred_at, $5) ELSE NULL END \
         WHERE user_id = $1 AND article_id = $2",
    )
    .bind(user.hyphenated())
    .bind(article)
    .bind(patch.read)
    .bind(patch.starred)
    .bind(now_micros())
    .execute(&store.pool)
    .await
    .map_err(sqlite_error)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_article(store, user, article).await
}
