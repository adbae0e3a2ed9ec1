//! A user's timeline on SQLite: keyset-paged listing, one article, and its read and starred state.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::sqlite::{now_micros, sqlite_error};
use super::sqlite_rows::{micros, ArticleRow};
use super::StoreError;
use crate::domain::{Article, ArticleCursor, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, ReadFilter, UserId};

const ARTICLE_COLUMNS: &str = "a.id, a.feed_id, f.title AS feed_title, a.title, a.url, a.summary, a.content, \
     a.author, a.categories, a.enclosures, ua.published_at, ua.read_at IS NOT NULL AS read, \
     ua.starred_at IS NOT NULL AS starred";
/// A user's articles, each with its feed's title (a join, not a copy per article).
const ARTICLE_SOURCE: &str =
    "user_articles ua JOIN articles a ON a.id = ua.article_id JOIN feeds f ON f.id = ua.feed_id";

pub(super) async fn list_articles(
    pool: &SqlitePool,
    user: UserId,
    query: &ArticleQuery,
) -> Result<ArticlePage, StoreError> {
    let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
        "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} WHERE ua.user_id = "
    ));
    builder.push_bind(user.hyphenated());
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
            .push_bind(micros(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
    // One extra row says whether there is a next page.
    builder
        .push(" ORDER BY ua.published_at DESC, ua.article_id DESC LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    let rows: Vec<ArticleRow> = builder.build_query_as().fetch_all(pool).await.map_err(sqlite_error)?;
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

pub(super) async fn get_article(pool: &SqlitePool, user: UserId, article: ArticleId) -> Result<Article, StoreError> {
    let row: ArticleRow = sqlx::query_as(&format!(
        "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} \
         WHERE ua.user_id = $1 AND ua.article_id = $2"
    ))
    .bind(user.hyphenated())
    .bind(article)
    .fetch_one(pool)
    .await
    .map_err(sqlite_error)?;
    row.into_article()
}

pub(super) async fn update_article(
    pool: &SqlitePool,
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
    .execute(pool)
    .await
    .map_err(sqlite_error)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get_article(pool, user, article).await
}
