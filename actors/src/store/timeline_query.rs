//! The timeline's listing statement: the same SQL on both backends, each binding the user and the cursor's time
//! in its own encoding.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::rows::{ARTICLE_COLUMNS, ARTICLE_SOURCE};
use crate::domain::{ArticleQuery, ReadFilter};

/// One page of a user's timeline, newest first, with one row more than the page when there is a next page.
pub(super) fn list_articles_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl FnOnce(DateTime<Utc>) -> Time,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new(format!(
        "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} WHERE ua.user_id = "
    ));
    builder.push_bind(user);
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
            .push_bind(encode_time(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
    // One extra row says whether there is a next page.
    builder
        .push(" ORDER BY ua.published_at DESC, ua.article_id DESC LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    builder
}

/// One article of a user's timeline ($1 the user, $2 the article).
pub(super) fn get_article_sql() -> String {
    format!(
        "SELECT {ARTICLE_COLUMNS} FROM {ARTICLE_SOURCE} \
         WHERE ua.user_id = $1 AND ua.article_id = $2"
    )
}
