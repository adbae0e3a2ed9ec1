//! A user's timeline on Postgres: keyset-paged listing, one article, and its read and starred state.

use super::rows::ArticleRow;
use super::PostgresStore;
use crate::domain::{Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, UserId};
use crate::store::rows;
use crate::store::timeline_query::{get_article_sql, list_articles_query};
use crate::store::StoreError;

pub(super) async fn list_articles(
    store: &PostgresStore,
    user: UserId,
    query: &ArticleQuery,
) -> Result<ArticlePage, StoreError> {
    let mut builder = list_articles_query(user, query, |time| time);
    let rows: Vec<ArticleRow> = builder.build_query_as().fetch_all(&store.pool).await?;
    Ok(ArticlePage::from_rows(rows::articles(rows)?, query.limit))
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

pub(super) async fn update_article(
    store: &PostgresStore,
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
    .execute(&store.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_article(store, user, article).await
}
