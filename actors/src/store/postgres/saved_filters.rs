//! Saved filters on Postgres: the user's named queries, and which articles one matches.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::PostgresStore;
use crate::domain::{ArticleId, UserId};
use crate::organise::Name;
use crate::saved_filter::{FilterQuery, SavedFilter, SavedFilterEdit, SavedFilterId};
use crate::store::organise_sql::name_taken;
use crate::store::saved_filter_sql::{
    get_saved_filter_sql, list_saved_filters_sql, matching_articles_query, SavedFilterRow, COUNT_SAVED_FILTERS,
    DELETE_SAVED_FILTER, MATCH_CHUNK, SAVED_FILTER_COLUMNS,
};
use crate::store::timeline_search::SearchIndex;
use crate::store::StoreError;

type Row = SavedFilterRow<DateTime<Utc>>;

pub(super) async fn list_saved_filters(store: &PostgresStore, user: UserId) -> Result<Vec<SavedFilter>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(&list_saved_filters_sql())
        .bind(user)
        .fetch_all(&store.pool)
        .await?;
    rows.into_iter().map(Row::into_saved_filter).collect()
}

pub(super) async fn get_saved_filter(
    store: &PostgresStore,
    user: UserId,
    filter: SavedFilterId,
) -> Result<SavedFilter, StoreError> {
    let mut connection = store.pool.acquire().await?;
    find_saved_filter(&mut connection, user, filter)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn find_saved_filter(
    connection: &mut PgConnection,
    user: UserId,
    filter: SavedFilterId,
) -> Result<Option<SavedFilter>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&get_saved_filter_sql())
        .bind(user)
        .bind(filter)
        .fetch_optional(&mut *connection)
        .await?;
    row.map(Row::into_saved_filter).transpose()
}

pub(super) async fn count_saved_filters(store: &PostgresStore, user: UserId) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(COUNT_SAVED_FILTERS)
        .bind(user)
        .fetch_one(&store.pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn create_saved_filter(
    store: &PostgresStore,
    user: UserId,
    name: &Name,
    query: &FilterQuery,
) -> Result<SavedFilter, StoreError> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO saved_filters (user_id, name, q, category, tag, author) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING {SAVED_FILTER_COLUMNS}"
    ))
    .bind(user)
    .bind(name.as_str())
    .bind(query.q())
    .bind(query.category())
    .bind(query.tag())
    .bind(query.author())
    .fetch_one(&store.pool)
    .await
    .map_err(conflict_on_name)?;
    row.into_saved_filter()
}

pub(super) async fn update_saved_filter(
    store: &PostgresStore,
    user: UserId,
    filter: SavedFilterId,
    edit: &SavedFilterEdit,
) -> Result<SavedFilter, StoreError> {
    let query = edit.query.as_ref();
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE saved_filters SET name = COALESCE($3, name), \
         q = CASE WHEN $4 THEN $5 ELSE q END, category = CASE WHEN $4 THEN $6 ELSE category END, \
         tag = CASE WHEN $4 THEN $7 ELSE tag END, author = CASE WHEN $4 THEN $8 ELSE author END, \
         updated_at = now() WHERE user_id = $1 AND id = $2 RETURNING {SAVED_FILTER_COLUMNS}"
    ))
    .bind(user)
    .bind(filter)
    .bind(edit.name.as_ref().map(Name::as_str))
    .bind(query.is_some())
    .bind(query.and_then(FilterQuery::q))
    .bind(query.and_then(FilterQuery::category))
    .bind(query.and_then(FilterQuery::tag))
    .bind(query.and_then(FilterQuery::author))
    .fetch_optional(&store.pool)
    .await
    .map_err(conflict_on_name)?;
    row.ok_or(StoreError::NotFound)?.into_saved_filter()
}

pub(super) async fn delete_saved_filter(
    store: &PostgresStore,
    user: UserId,
    filter: SavedFilterId,
) -> Result<(), StoreError> {
    let deleted = sqlx::query(DELETE_SAVED_FILTER)
        .bind(user)
        .bind(filter)
        .execute(&store.pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn saved_filter_matches(
    store: &PostgresStore,
    user: UserId,
    filter: SavedFilterId,
    articles: &[ArticleId],
) -> Result<Vec<ArticleId>, StoreError> {
    let mut connection = store.pool.acquire().await?;
    matching_articles(&mut connection, user, filter, articles).await
}

/// On the caller's connection (a flush's transaction, for webhook deliveries): which of `articles` the user's
/// timeline with the saved filter would list. A filter that is not the user's matches nothing.
pub(super) async fn matching_articles(
    connection: &mut PgConnection,
    user: UserId,
    filter: SavedFilterId,
    articles: &[ArticleId],
) -> Result<Vec<ArticleId>, StoreError> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let Some(saved) = find_saved_filter(connection, user, filter).await? else {
        return Ok(Vec::new());
    };
    let filter = saved.query.article_filter();
    let mut matched = Vec::new();
    for chunk in articles.chunks(MATCH_CHUNK) {
        let ids: Vec<ArticleId> = matching_articles_query(user, &filter, chunk, |time| time, SearchIndex::Vector)
            .build_query_scalar()
            .fetch_all(&mut *connection)
            .await?;
        matched.extend(ids);
    }
    Ok(matched)
}

fn conflict_on_name(error: sqlx::Error) -> StoreError {
    if name_taken(&error) {
        StoreError::Conflict { field: "name" }
    } else {
        error.into()
    }
}
