//! The timeline's statements under fan-out on read: a page is picked from the keys of each followed feed's newest
//! articles (a few per feed first, a whole page per feed when that cannot settle it: `timeline_page`), then read
//! by id. Starred pages come from the user's marks. The SQL is the same on both backends but for how each feed's
//! newest articles are taken ([`PerFeed`]).

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::read_state::{READ, UNREAD_COUNT};
use super::rows::{ARTICLE_COLUMNS, ARTICLE_JOINS};
use crate::domain::{ArticleId, ArticleQuery, ReadFilter};

/// How a backend takes each subscribed feed's newest articles.
#[derive(Debug, Clone, Copy)]
pub(super) enum PerFeed {
    /// `CROSS JOIN LATERAL (… LIMIT n)`: Postgres.
    Lateral,
    /// `JOIN articles p ON p.id IN (… LIMIT n)`, a correlated subquery on the row id: SQLite, which has no LATERAL.
    RowIdIn,
}

/// The keys of up to `per_feed` of each followed feed's newest articles that match the query, below the cursor:
/// what [`super::timeline_page::exact_page`] picks a page from. Each feed is one short range of its
/// `(feed_id, published_at, id)` index.
pub(super) fn page_keys_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl FnOnce(DateTime<Utc>) -> Time,
    per_feed: PerFeed,
    keys_per_feed: i64,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new("SELECT s.feed_id, p.published_at, p.id FROM subscriptions s ");
    builder.push("JOIN feeds f ON f.id = s.feed_id ");
    let newest_of_feed = "FROM articles q WHERE q.feed_id = s.feed_id";
    match per_feed {
        PerFeed::Lateral => builder.push(format!(
            "CROSS JOIN LATERAL (SELECT q.id, q.published_at {newest_of_feed}"
        )),
        PerFeed::RowIdIn => builder.push(format!("JOIN articles p ON p.id IN (SELECT q.id {newest_of_feed}")),
    };
    if let Some(cursor) = query.cursor {
        builder
            .push(" AND (q.published_at, q.id) < (")
            .push_bind(encode_time(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
    push_state_filters(&mut builder, query);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(keys_per_feed)
        .push(")");
    if let PerFeed::Lateral = per_feed {
        builder.push(" p");
    }
    builder.push(" WHERE s.user_id = ").push_bind(user);
    if let Some(feed) = query.feed_id {
        builder.push(" AND s.feed_id = ").push_bind(feed);
    }
    if query.status == ReadFilter::Unread {
        // A feed with nothing unread is not searched at all.
        builder.push(format!(" AND {UNREAD_COUNT} > 0"));
    }
    builder
}

/// The read and starred filters of the query on an article `q` of the subscription `s`.
fn push_state_filters<DB: Database>(builder: &mut QueryBuilder<'_, DB>, query: &ArticleQuery) {
    // The read state of `q`, as READ has it for `a`.
    let read = "COALESCE((SELECT qm.read_mark FROM article_marks qm \
                WHERE qm.user_id = s.user_id AND qm.article_id = q.id), q.seq <= s.read_through_seq)";
    match query.status {
        ReadFilter::Unread => builder.push(format!(" AND NOT {read}")),
        ReadFilter::Read => builder.push(format!(" AND {read}")),
        ReadFilter::All => builder,
    };
    if query.starred == Some(false) {
        builder.push(
            " AND NOT EXISTS (SELECT 1 FROM article_marks qm \
             WHERE qm.user_id = s.user_id AND qm.article_id = q.id AND qm.starred_at IS NOT NULL)",
        );
    }
}

/// The keys of the first `rows` articles the user sees among the `scan` newest of the whole database below the
/// cursor (from `articles_recent`, SQLite's). When `rows` come back they are the page; fewer prove nothing, as
/// older articles were not looked at.
pub(super) fn recent_keys_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl FnOnce(DateTime<Utc>) -> Time,
    scan: i64,
    rows: i64,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new(
        "SELECT q.feed_id, q.published_at, q.id FROM (SELECT p.id, p.feed_id, p.published_at, p.seq ",
    );
    builder.push("FROM articles p");
    if let Some(cursor) = query.cursor {
        builder
            .push(" WHERE (p.published_at, p.id) < (")
            .push_bind(encode_time(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
    // CROSS JOIN keeps SQLite from driving the join from the user's subscriptions.
    builder
        .push(" ORDER BY p.published_at DESC, p.id DESC LIMIT ")
        .push_bind(scan)
        .push(") q CROSS JOIN subscriptions s WHERE s.feed_id = q.feed_id AND s.user_id = ")
        .push_bind(user);
    push_state_filters(&mut builder, query);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(rows);
    builder
}

/// The articles of a page, by id, newest first, as the user sees them.
pub(super) fn articles_by_id_query<'args, DB, User>(user: User, ids: &[ArticleId]) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    // CROSS JOIN: the ids drive the join. SQLite would otherwise start from the user's subscriptions and walk every
    // article of each.
    let mut builder = QueryBuilder::new(format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles a CROSS JOIN subscriptions s {ARTICLE_JOINS} \
         WHERE s.feed_id = a.feed_id AND s.user_id = "
    ));
    builder.push_bind(user);
    builder.push(" AND a.id IN (");
    let mut separated = builder.separated(", ");
    for id in ids {
        separated.push_bind(*id);
    }
    // An empty page still makes valid SQL.
    if ids.is_empty() {
        separated.push("NULL");
    }
    builder.push(") ORDER BY a.published_at DESC, a.id DESC");
    builder
}

/// Starred articles are found from the user's marks, not by searching every feed: one page, with one row more
/// than the page when there is a next page.
pub(super) fn starred_query<'args, DB, User, Time>(
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
    let rows = i64::from(query.limit) + 1;
    let mut builder = QueryBuilder::new(format!(
        "SELECT {ARTICLE_COLUMNS} FROM article_marks m JOIN articles a ON a.id = m.article_id \
         JOIN subscriptions s ON s.user_id = m.user_id AND s.feed_id = a.feed_id JOIN feeds f ON f.id = a.feed_id \
         WHERE m.starred_at IS NOT NULL AND m.user_id = "
    ));
    builder.push_bind(user);
    if let Some(feed) = query.feed_id {
        builder.push(" AND a.feed_id = ").push_bind(feed);
    }
    match query.status {
        ReadFilter::Unread => builder.push(format!(" AND NOT {READ}")),
        ReadFilter::Read => builder.push(format!(" AND {READ}")),
        ReadFilter::All => &mut builder,
    };
    if let Some(cursor) = query.cursor {
        builder
            .push(" AND (m.published_at, m.article_id) < (")
            .push_bind(encode_time(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
    builder
        .push(" ORDER BY m.published_at DESC, m.article_id DESC LIMIT ")
        .push_bind(rows);
    builder
}

/// One article of a user's timeline ($1 the user, $2 the article): an article of a feed they follow.
pub(super) fn get_article_sql() -> String {
    format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles a \
         JOIN subscriptions s ON s.feed_id = a.feed_id AND s.user_id = $1 {ARTICLE_JOINS} WHERE a.id = $2"
    )
}

#[cfg(test)]
mod tests {
    use super::super::read_state::READ;
    use super::super::rows::ARTICLE_COLUMNS;

    #[test]
    fn the_article_columns_read_the_state_as_read_state_defines_it() {
        assert!(ARTICLE_COLUMNS.contains(READ), "{ARTICLE_COLUMNS}");
    }
}
