//! Categories, tags, a subscription's own title and the unread counters on SQLite; the statements are in
//! `store::organise_sql`.

use super::rows::{micros, now_micros};
use super::subscriptions::get_subscription;
use super::SqliteStore;
use crate::domain::{FeedId, Subscription, UserId};
use crate::organise::{Category, CategoryId, Counters, MarkSelection, Marking, Name, SubscriptionPatch, TagCount};
use crate::store::bulk_mark::{
    changing_count_sql, clear_read_marks_sql, drop_empty_marks_sql, move_cutoffs_sql, recount_marks_sql,
    unread_count_sql, write_marks_sql,
};
use crate::store::error::sqlite_error;
use crate::store::organise_sql::{
    all_categories_sql, feed_counters_sql, feeds_in_category_query, get_category_sql, list_categories_sql, name_taken,
    CategoryRow, TagRow, ENSURE_CATEGORY, ENSURE_CATEGORY_FOR_FEED, FEED_CHUNK, FIND_CATEGORY, LIST_TAGS,
    RENAME_DIGEST_FILTERS, RENAME_WEBHOOK_FILTERS, SET_CATEGORY_BY_NAME,
};
use crate::store::StoreError;

pub(super) async fn update_subscription(
    store: &SqliteStore,
    user: UserId,
    feed: FeedId,
    patch: &SubscriptionPatch,
) -> Result<Subscription, StoreError> {
    let mut transaction = store.begin_write().await?;
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM subscriptions WHERE user_id = $1 AND feed_id = $2")
        .bind(user.hyphenated())
        .bind(feed)
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if let Some(title) = &patch.title {
        sqlx::query("UPDATE subscriptions SET title = $3 WHERE user_id = $1 AND feed_id = $2")
            .bind(user.hyphenated())
            .bind(feed)
            .bind(title.as_ref().map(|title| title.as_str()))
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
    }
    match &patch.category {
        None => {}
        Some(None) => {
            sqlx::query("UPDATE subscriptions SET category_id = NULL WHERE user_id = $1 AND feed_id = $2")
                .bind(user.hyphenated())
                .bind(feed)
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
        }
        Some(Some(name)) => {
            sqlx::query(ENSURE_CATEGORY)
                .bind(user.hyphenated())
                .bind(name.as_str())
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
            sqlx::query(SET_CATEGORY_BY_NAME)
                .bind(user.hyphenated())
                .bind(feed)
                .bind(name.as_str())
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
        }
    }
    if let Some(tags) = &patch.tags {
        let names: Vec<&str> = tags.iter().map(Name::as_str).collect();
        sqlx::query("DELETE FROM subscription_tags WHERE user_id = $1 AND feed_id = $2")
            .bind(user.hyphenated())
            .bind(feed)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        // SQLite binds no arrays: the names travel as one JSON array, unpacked by json_each.
        sqlx::query(
            "INSERT INTO subscription_tags (user_id, feed_id, name) SELECT $1, $2, value FROM json_each($3) \
             WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(user.hyphenated())
        .bind(feed)
        .bind(serde_json::Value::from(names).to_string())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    }
    transaction.commit().await.map_err(sqlite_error)?;
    get_subscription(store, user, feed).await
}

pub(super) async fn list_categories(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<Category>, StoreError> {
    let rows: Vec<CategoryRow> = sqlx::query_as(&list_categories_sql())
        .bind(user.hyphenated())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(rows.into_iter().map(Category::from).collect())
}

pub(super) async fn get_category(
    store: &SqliteStore,
    user: UserId,
    category: CategoryId,
) -> Result<Category, StoreError> {
    let row: CategoryRow = sqlx::query_as(&get_category_sql())
        .bind(user.hyphenated())
        .bind(category)
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(row.into())
}

pub(super) async fn find_category(
    store: &SqliteStore,
    user: UserId,
    name: &Name,
) -> Result<Option<CategoryId>, StoreError> {
    sqlx::query_scalar(FIND_CATEGORY)
        .bind(user.hyphenated())
        .bind(name.as_str())
        .fetch_optional(&store.pool)
        .await
        .map_err(sqlite_error)
}

pub(super) async fn feeds_in_category(
    store: &SqliteStore,
    user: UserId,
    category: CategoryId,
    feeds: &[FeedId],
) -> Result<Vec<FeedId>, StoreError> {
    let mut found = Vec::new();
    for chunk in feeds.chunks(FEED_CHUNK) {
        let ids: Vec<FeedId> = feeds_in_category_query(user.hyphenated(), category, chunk)
            .build_query_scalar()
            .fetch_all(&store.pool)
            .await
            .map_err(sqlite_error)?;
        found.extend(ids);
    }
    Ok(found)
}

pub(super) async fn create_category(store: &SqliteStore, user: UserId, name: &Name) -> Result<Category, StoreError> {
    let id: CategoryId = sqlx::query_scalar("INSERT INTO categories (user_id, name) VALUES ($1, $2) RETURNING id")
        .bind(user.hyphenated())
        .bind(name.as_str())
        .fetch_one(&store.pool)
        .await
        .map_err(conflict_on_name)?;
    get_category(store, user, id).await
}

pub(super) async fn rename_category(
    store: &SqliteStore,
    user: UserId,
    category: CategoryId,
    name: &Name,
) -> Result<Category, StoreError> {
    let mut transaction = store.begin_write().await?;
    // The filters follow the category first: the subquery finds it by its old name.
    for statement in [RENAME_WEBHOOK_FILTERS, RENAME_DIGEST_FILTERS] {
        sqlx::query(statement)
            .bind(user.hyphenated())
            .bind(category)
            .bind(name.as_str())
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
    }
    let renamed = sqlx::query("UPDATE categories SET name = $3 WHERE user_id = $1 AND id = $2")
        .bind(user.hyphenated())
        .bind(category)
        .bind(name.as_str())
        .execute(&mut *transaction)
        .await
        .map_err(conflict_on_name)?;
    if renamed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    transaction.commit().await.map_err(sqlite_error)?;
    get_category(store, user, category).await
}

pub(super) async fn delete_category(store: &SqliteStore, user: UserId, category: CategoryId) -> Result<(), StoreError> {
    // The subscriptions' foreign key leaves the category's feeds in none.
    let deleted = sqlx::query("DELETE FROM categories WHERE user_id = $1 AND id = $2")
        .bind(user.hyphenated())
        .bind(category)
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn set_subscription_categories(
    store: &SqliteStore,
    user: UserId,
    categories: &[(FeedId, Name)],
) -> Result<(), StoreError> {
    // One transaction holds the writer's lock once for the whole chunk.
    let mut transaction = store.begin_write().await?;
    for (feed, name) in categories {
        sqlx::query(ENSURE_CATEGORY_FOR_FEED)
            .bind(user.hyphenated())
            .bind(name.as_str())
            .bind(feed)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        sqlx::query(SET_CATEGORY_BY_NAME)
            .bind(user.hyphenated())
            .bind(feed)
            .bind(name.as_str())
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn list_tags(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<TagCount>, StoreError> {
    let rows: Vec<TagRow> = sqlx::query_as(LIST_TAGS)
        .bind(user.hyphenated())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(rows.into_iter().map(TagCount::from).collect())
}

pub(super) async fn counters(store: &SqliteStore, user: UserId) -> Result<Counters, StoreError> {
    // One snapshot for both lists, so that a category's count is the sum of its feeds'.
    // A deferred transaction reads one snapshot (WAL) and takes no writer's lock.
    let mut transaction = store.pool.begin().await.map_err(sqlite_error)?;
    let feeds: Vec<(FeedId, i64)> = sqlx::query_as(&feed_counters_sql())
        .bind(user.hyphenated())
        .fetch_all(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let categories: Vec<CategoryRow> = sqlx::query_as(&all_categories_sql())
        .bind(user.hyphenated())
        .fetch_all(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(Counters {
        feeds,
        categories: categories
            .into_iter()
            .map(Category::from)
            .map(|category| (category.id, category.unread_count))
            .collect(),
    })
}

/// How SQLite tests an article against the bound list of ids, which it takes as a JSON array.
const IN_IDS: &str = "a.id IN (SELECT value FROM json_each($4))";

pub(super) async fn mark_articles(
    store: &SqliteStore,
    user: UserId,
    marking: Marking,
    selection: &MarkSelection,
) -> Result<u64, StoreError> {
    let category = selection.category.as_deref();
    // The writer's lock, held to the commit, keeps a mark on one article out until the bulk mark is done.
    let mut transaction = store.begin_write().await?;
    let marked: i64 = if marking.read == Some(true) && marking.starred.is_none() && selection.is_whole_feeds() {
        let unread: i64 = sqlx::query_scalar(&unread_count_sql())
            .bind(user.hyphenated())
            .bind(selection.feed_id)
            .bind(category)
            .fetch_one(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        for statement in [move_cutoffs_sql(), clear_read_marks_sql(), drop_empty_marks_sql()] {
            sqlx::query(&statement)
                .bind(user.hyphenated())
                .bind(selection.feed_id)
                .bind(category)
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
        }
        unread
    } else {
        let ids = selection
            .ids
            .as_ref()
            .map(|ids| serde_json::Value::from(ids.as_slice()).to_string());
        let before = selection.before.map(micros);
        let now = now_micros();
        let changing: i64 = sqlx::query_scalar(&changing_count_sql(IN_IDS))
            .bind(user.hyphenated())
            .bind(selection.feed_id)
            .bind(category)
            .bind(ids.as_deref())
            .bind(before)
            .bind(now)
            .bind(marking.read)
            .bind(marking.starred)
            .fetch_one(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        sqlx::query(&write_marks_sql(IN_IDS))
            .bind(user.hyphenated())
            .bind(selection.feed_id)
            .bind(category)
            .bind(ids.as_deref())
            .bind(before)
            .bind(now)
            .bind(marking.read)
            .bind(marking.starred)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        for statement in [drop_empty_marks_sql(), recount_marks_sql()] {
            sqlx::query(&statement)
                .bind(user.hyphenated())
                .bind(selection.feed_id)
                .bind(category)
                .execute(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
        }
        changing
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(u64::try_from(marked).unwrap_or(0))
}

fn conflict_on_name(error: sqlx::Error) -> StoreError {
    if name_taken(&error) {
        StoreError::Conflict { field: "name" }
    } else {
        sqlite_error(error)
    }
}
