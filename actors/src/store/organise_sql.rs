//! The statements that organise subscriptions, the same on both backends: a backend binds its own types (user
//! ids, times) and maps its own errors. Counts are arithmetic on subscription and feed rows
//! (`read_state::UNREAD_COUNT`), never a scan of articles.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::read_state::UNREAD_COUNT;
use super::timeline_query::push_in_list;
use crate::domain::FeedId;
use crate::organise::CategoryId;

/// A category with its counts ($1 the user), grouped: the caller adds its conditions on `c`, then
/// [`CATEGORY_GROUP`].
pub(super) fn category_select() -> String {
    format!(
        "SELECT c.id, c.name, count(s.feed_id) AS feed_count, \
           CAST(COALESCE(sum({UNREAD_COUNT}), 0) AS BIGINT) AS unread_count \
         FROM categories c LEFT JOIN subscriptions s ON s.category_id = c.id AND s.user_id = c.user_id \
         LEFT JOIN feeds f ON f.id = s.feed_id WHERE c.user_id = $1"
    )
}

pub(super) const CATEGORY_GROUP: &str = " GROUP BY c.id, c.name";

/// Up to $3 of the user's categories named after $2 (none: from the first), in name order.
pub(super) fn list_categories_sql() -> String {
    format!(
        "{} AND ($2 IS NULL OR c.name > $2){CATEGORY_GROUP} ORDER BY c.name LIMIT $3",
        category_select()
    )
}

/// One category ($2) of the user's.
pub(super) fn get_category_sql() -> String {
    format!("{} AND c.id = $2{CATEGORY_GROUP}", category_select())
}

/// Every category of the user's with its unread count, for the counters.
pub(super) fn all_categories_sql() -> String {
    format!("{}{CATEGORY_GROUP} ORDER BY c.id", category_select())
}

/// Each of the user's feeds ($1) with its unread count.
pub(super) fn feed_counters_sql() -> String {
    format!(
        "SELECT s.feed_id, {UNREAD_COUNT} AS unread_count FROM subscriptions s JOIN feeds f ON f.id = s.feed_id \
         WHERE s.user_id = $1 ORDER BY s.feed_id"
    )
}

/// Creates the user's ($1) category named $2 unless they have it.
pub(super) const ENSURE_CATEGORY: &str =
    "INSERT INTO categories (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id, name) DO NOTHING";

/// Creates the user's ($1) category named $2 unless they have it, when they follow the feed $3: an import does not
/// leave categories behind for feeds it could not subscribe to.
pub(super) const ENSURE_CATEGORY_FOR_FEED: &str = "INSERT INTO categories (user_id, name) SELECT $1, $2 \
     WHERE EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1 AND feed_id = $3) \
     ON CONFLICT (user_id, name) DO NOTHING";

/// Puts the user's ($1) subscription to a feed ($2) in their category named $3.
pub(super) const SET_CATEGORY_BY_NAME: &str = "UPDATE subscriptions SET category_id = \
       (SELECT c.id FROM categories c WHERE c.user_id = $1 AND c.name = $3) \
     WHERE user_id = $1 AND feed_id = $2";

/// Whether a webhook `w` takes events of the subscription `s`: unfiltered by category, or filtered to the
/// subscriber's category that `s` is in. A filter naming a category that no longer exists matches nothing.
pub(super) const WEBHOOK_TAKES_CATEGORY: &str = "(w.category IS NULL OR EXISTS (SELECT 1 FROM categories c \
     WHERE c.id = s.category_id AND c.user_id = s.user_id AND c.name = w.category))";

/// The user's ($1) category named $2, if they have one.
pub(super) const FIND_CATEGORY: &str = "SELECT id FROM categories WHERE user_id = $1 AND name = $2";

/// Most feed ids one [`feeds_in_category_query`] takes; more are asked in several.
pub(super) const FEED_CHUNK: usize = 500;

/// Which of `feeds` (at most [`FEED_CHUNK`]) the user has in their category `category`, ascending. The join on
/// `categories` makes another user's category, or a deleted one, hold none.
pub(super) fn feeds_in_category_query<'args, DB, User>(
    user: User,
    category: CategoryId,
    feeds: &[FeedId],
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new(
        "SELECT s.feed_id FROM subscriptions s JOIN categories c ON c.id = s.category_id AND c.user_id = s.user_id \
         WHERE s.user_id = ",
    );
    builder.push_bind(user).push(" AND c.id = ").push_bind(category);
    push_in_list(&mut builder, " AND s.feed_id IN (", feeds);
    builder.push(" ORDER BY s.feed_id");
    builder
}

/// Before the user's ($1) category $2 is renamed to $3: the webhooks filtered to it follow it.
pub(super) const RENAME_WEBHOOK_FILTERS: &str = "UPDATE webhooks SET category = $3 \
     WHERE user_id = $1 AND category = (SELECT name FROM categories WHERE user_id = $1 AND id = $2)";

/// Before the user's ($1) category $2 is renamed to $3: the digests filtered to it follow it.
pub(super) const RENAME_DIGEST_FILTERS: &str = "UPDATE timers SET digest_category = $3 \
     WHERE user_id = $1 AND digest_category = (SELECT name FROM categories WHERE user_id = $1 AND id = $2)";

/// Up to $3 of the user's ($1) tags named after $2, with how many of their feeds carry each.
pub(super) const LIST_TAGS: &str = "SELECT name, count(*) AS feed_count FROM subscription_tags \
     WHERE user_id = $1 AND ($2 IS NULL OR name > $2) GROUP BY name ORDER BY name LIMIT $3";

/// A category with its counts, as both backends read it.
#[derive(sqlx::FromRow)]
pub(super) struct CategoryRow {
    id: i64,
    name: String,
    feed_count: i64,
    unread_count: i64,
}

impl From<CategoryRow> for crate::organise::Category {
    fn from(row: CategoryRow) -> Self {
        crate::organise::Category {
            id: row.id,
            name: row.name,
            feed_count: row.feed_count,
            unread_count: row.unread_count,
        }
    }
}

/// A tag with its count, as both backends read it.
#[derive(sqlx::FromRow)]
pub(super) struct TagRow {
    name: String,
    feed_count: i64,
}

impl From<TagRow> for crate::organise::TagCount {
    fn from(row: TagRow) -> Self {
        crate::organise::TagCount {
            name: row.name,
            feed_count: row.feed_count,
        }
    }
}

/// Whether the error is a unique violation: a category name the user has already.
pub(super) fn name_taken(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|database| database.is_unique_violation())
}
