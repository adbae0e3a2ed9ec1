//! Categories, tags, a subscription's own title and the unread counters on Postgres; the statements are in
//! `store::organise_sql`.

use super::subscriptions::get_subscription;
use super::PostgresStore;
use crate::domain::{FeedId, Subscription, UserId};
use crate::organise::{Category, CategoryId, Counters, MarkSelection, Marking, Name, SubscriptionPatch, TagCount};
use crate::store::bulk_mark::{
    changing_count_sql, clear_read_marks_sql, drop_empty_marks_sql, lock_sql, move_cutoffs_sql, recount_marks_sql,
    unread_count_sql, write_marks_sql,
};
use crate::store::organise_sql::{
    all_categories_sql, feed_counters_sql, feeds_in_category_query, get_category_sql, list_categories_sql, name_taken,
    CategoryRow, TagRow, ENSURE_CATEGORY, FEED_CHUNK, FIND_CATEGORY, LIST_TAGS, RENAME_DIGEST_FILTERS,
    RENAME_WEBHOOK_FILTERS, SET_CATEGORY_BY_NAME,
};
use crate::store::StoreError;

pub(super) async fn update_subscription(
    store: &PostgresStore,
    user: UserId,
    feed: FeedId,
    patch: &SubscriptionPatch,
) -> Result<Subscription, StoreError> {
    let mut transaction = store.pool.begin().await?;
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM subscriptions WHERE user_id = $1 AND feed_id = $2 FOR UPDATE")
        .bind(user)
        .bind(feed)
        .fetch_one(&mut *transaction)
        .await?;
    if let Some(title) = &patch.title {
        sqlx::query("UPDATE subscriptions SET title = $3 WHERE user_id = $1 AND feed_id = $2")
            .bind(user)
            .bind(feed)
            .bind(title.as_ref().map(|title| title.as_str()))
            .execute(&mut *transaction)
            .await?;
    }
    match &patch.category {
        None => {}
        Some(None) => {
            sqlx::query("UPDATE subscriptions SET category_id = NULL WHERE user_id = $1 AND feed_id = $2")
                .bind(user)
                .bind(feed)
                .execute(&mut *transaction)
                .await?;
        }
        Some(Some(name)) => {
            sqlx::query(ENSURE_CATEGORY)
                .bind(user)
                .bind(name.as_str())
                .execute(&mut *transaction)
                .await?;
            sqlx::query(SET_CATEGORY_BY_NAME)
                .bind(user)
                .bind(feed)
                .bind(name.as_str())
                .execute(&mut *transaction)
                .await?;
        }
    }
    if let Some(tags) = &patch.tags {
        let names: Vec<&str> = tags.iter().map(Name::as_str).collect();
        sqlx::query("DELETE FROM subscription_tags WHERE user_id = $1 AND feed_id = $2")
            .bind(user)
            .bind(feed)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO subscription_tags (user_id, feed_id, name) SELECT $1, $2, name FROM UNNEST($3::text[]) \
             AS t(name) ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(feed)
        .bind(&names)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    get_subscription(store, user, feed).await
}

pub(super) async fn list_categories(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<Category>, StoreError> {
    let rows: Vec<CategoryRow> = sqlx::query_as(&list_categories_sql())
        .bind(user)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.into_iter().map(Category::from).collect())
}

pub(super) async fn get_category(
    store: &PostgresStore,
    user: UserId,
    category: CategoryId,
) -> Result<Category, StoreError> {
    let row: CategoryRow = sqlx::query_as(&get_category_sql())
        .bind(user)
        .bind(category)
        .fetch_one(&store.pool)
        .await?;
    Ok(row.into())
}

pub(super) async fn find_category(
    store: &PostgresStore,
    user: UserId,
    name: &Name,
) -> Result<Option<CategoryId>, StoreError> {
    Ok(sqlx::query_scalar(FIND_CATEGORY)
        .bind(user)
        .bind(name.as_str())
        .fetch_optional(&store.pool)
        .await?)
}

pub(super) async fn feeds_in_category(
    store: &PostgresStore,
    user: UserId,
    category: CategoryId,
    feeds: &[FeedId],
) -> Result<Vec<FeedId>, StoreError> {
    let mut found = Vec::new();
    for chunk in feeds.chunks(FEED_CHUNK) {
        let ids: Vec<FeedId> = feeds_in_category_query(user, category, chunk)
            .build_query_scalar()
            .fetch_all(&store.pool)
            .await?;
        found.extend(ids);
    }
    Ok(found)
}

pub(super) async fn create_category(store: &PostgresStore, user: UserId, name: &Name) -> Result<Category, StoreError> {
    let id: CategoryId = sqlx::query_scalar("INSERT INTO categories (user_id, name) VALUES ($1, $2) RETURNING id")
        .bind(user)
        .bind(name.as_str())
        .fetch_one(&store.pool)
        .await
        .map_err(conflict_on_name)?;
    get_category(store, user, id).await
}

pub(super) async fn rename_category(
    store: &PostgresStore,
    user: UserId,
    category: CategoryId,
    name: &Name,
) -> Result<Category, StoreError> {
    let mut transaction = store.pool.begin().await?;
    // The filters follow the category first: the subquery finds it by its old name.
    for statement in [RENAME_WEBHOOK_FILTERS, RENAME_DIGEST_FILTERS] {
        sqlx::query(statement)
            .bind(user)
            .bind(category)
            .bind(name.as_str())
            .execute(&mut *transaction)
            .await?;
    }
    let renamed = sqlx::query("UPDATE categories SET name = $3 WHERE user_id = $1 AND id = $2")
        .bind(user)
        .bind(category)
        .bind(name.as_str())
        .execute(&mut *transaction)
        .await
        .map_err(conflict_on_name)?;
    if renamed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    transaction.commit().await?;
    get_category(store, user, category).await
}

pub(super) async fn delete_category(
    store: &PostgresStore,
    user: UserId,
    category: CategoryId,
) -> Result<(), StoreError> {
    // The subscriptions' foreign key leaves the category's feeds in none.
    let deleted = sqlx::query("DELETE FROM categories WHERE user_id = $1 AND id = $2")
        .bind(user)
        .bind(category)
        .execute(&store.pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn set_subscription_categories(
    store: &PostgresStore,
    user: UserId,
    categories: &[(FeedId, Name)],
) -> Result<(), StoreError> {
    let feeds: Vec<FeedId> = categories.iter().map(|(feed, _)| *feed).collect();
    let names: Vec<&str> = categories.iter().map(|(_, name)| name.as_str()).collect();
    let mut transaction = store.pool.begin().await?;
    // Only for feeds the user follows: an import leaves no category behind for a feed it could not subscribe to.
    sqlx::query(
        "INSERT INTO categories (user_id, name) SELECT DISTINCT $1::uuid, t.name \
         FROM UNNEST($2::bigint[], $3::text[]) AS t(feed_id, name) \
         JOIN subscriptions s ON s.user_id = $1 AND s.feed_id = t.feed_id \
         ON CONFLICT (user_id, name) DO NOTHING",
    )
    .bind(user)
    .bind(&feeds)
    .bind(&names)
    .execute(&mut *transaction)
    .await?;
    sqlx::query(
        "UPDATE subscriptions s SET category_id = c.id \
         FROM UNNEST($2::bigint[], $3::text[]) AS t(feed_id, name) \
         JOIN categories c ON c.user_id = $1 AND c.name = t.name \
         WHERE s.user_id = $1 AND s.feed_id = t.feed_id",
    )
    .bind(user)
    .bind(&feeds)
    .bind(&names)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn list_tags(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<TagCount>, StoreError> {
    let rows: Vec<TagRow> = sqlx::query_as(LIST_TAGS)
        .bind(user)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.into_iter().map(TagCount::from).collect())
}

pub(super) async fn counters(store: &PostgresStore, user: UserId) -> Result<Counters, StoreError> {
    // One snapshot for both lists, so that a category's count is the sum of its feeds'.
    let mut transaction = store.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *transaction)
        .await?;
    let feeds: Vec<(FeedId, i64)> = sqlx::query_as(&feed_counters_sql())
        .bind(user)
        .fetch_all(&mut *transaction)
        .await?;
    let categories: Vec<CategoryRow> = sqlx::query_as(&all_categories_sql())
        .bind(user)
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Counters {
        feeds,
        categories: categories
            .into_iter()
            .map(Category::from)
            .map(|category| (category.id, category.unread_count))
            .collect(),
    })
}

/// How Postgres tests an article against the bound list of ids.
const IN_IDS: &str = "a.id = ANY($4)";

pub(super) async fn mark_articles(
    store: &PostgresStore,
    user: UserId,
    marking: Marking,
    selection: &MarkSelection,
) -> Result<u64, StoreError> {
    let category = selection.category.as_deref();
    let mut transaction = store.pool.begin().await?;
    // Held to the commit: a mark on one article of these feeds waits, and so counts against the new state.
    sqlx::query(&lock_sql())
        .bind(user)
        .bind(selection.feed_id)
        .bind(category)
        .fetch_all(&mut *transaction)
        .await?;
    let marked: i64 = if marking.read == Some(true) && marking.starred.is_none() && selection.is_whole_feeds() {
        let unread: i64 = sqlx::query_scalar(&unread_count_sql())
            .bind(user)
            .bind(selection.feed_id)
            .bind(category)
            .fetch_one(&mut *transaction)
            .await?;
        for statement in [move_cutoffs_sql(), clear_read_marks_sql(), drop_empty_marks_sql()] {
            sqlx::query(&statement)
                .bind(user)
                .bind(selection.feed_id)
                .bind(category)
                .execute(&mut *transaction)
                .await?;
        }
        unread
    } else {
        let now = chrono::Utc::now();
        let changing: i64 = sqlx::query_scalar(&changing_count_sql(IN_IDS))
            .bind(user)
            .bind(selection.feed_id)
            .bind(category)
            .bind(selection.ids.as_deref())
            .bind(selection.before)
            .bind(now)
            .bind(marking.read)
            .bind(marking.starred)
            .fetch_one(&mut *transaction)
            .await?;
        sqlx::query(&write_marks_sql(IN_IDS))
            .bind(user)
            .bind(selection.feed_id)
            .bind(category)
            .bind(selection.ids.as_deref())
            .bind(selection.before)
            .bind(now)
            .bind(marking.read)
            .bind(marking.starred)
            .execute(&mut *transaction)
            .await?;
        for statement in [drop_empty_marks_sql(), recount_marks_sql()] {
            sqlx::query(&statement)
                .bind(user)
                .bind(selection.feed_id)
                .bind(category)
                .execute(&mut *transaction)
                .await?;
        }
        changing
    };
    transaction.commit().await?;
    Ok(u64::try_from(marked).unwrap_or(0))
}

fn conflict_on_name(error: sqlx::Error) -> StoreError {
    if name_taken(&error) {
        StoreError::Conflict { field: "name" }
    } else {
        error.into()
    }
}
