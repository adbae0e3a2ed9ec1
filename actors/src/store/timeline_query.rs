//! The timeline's statements under fan-out on read: a page is picked from keys (the store's newest articles, or
//! each followed feed's newest: `timeline_page`), then read by id. Starred pages come from the user's marks. The
//! SQL is the same on both backends but where one has LATERAL and the other has not ([`Lateral`]).

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::read_state::{READ, UNREAD_COUNT};
use super::rows::{ARTICLE_COLUMNS, ARTICLE_JOINS};
use super::timeline_page::PageKey;
use crate::domain::{ArticleQuery, ReadFilter};

/// Whether the backend has `LATERAL`, which the statements use where a plain join could be planned badly.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lateral {
    /// Postgres: each feed's newest articles by `CROSS JOIN LATERAL (… LIMIT n)`, and the reader's subscription
    /// to an article's feed by a `LATERAL` primary-key lookup (a planner without statistics would otherwise take
    /// a user for 50 subscriptions and scan all of them per article).
    Available,
    /// SQLite: each feed's newest articles by `JOIN articles p ON p.id IN (… LIMIT n)`, a correlated subquery on
    /// the row id, and the subscription by a join that SQLite plans as a primary-key lookup.
    Missing,
}

/// Joins the reader's subscription `s` to the feed of the article aliased `article`, then `extra_joins`, and opens
/// the WHERE clause (with the subscription's condition when it is not a LATERAL lookup).
fn push_subscription_and_where<'args, DB, User>(
    builder: &mut QueryBuilder<'args, DB>,
    lateral: Lateral,
    article: &str,
    user: User,
    extra_joins: &str,
) where
    DB: Database,
    User: 'args + Encode<'args, DB> + Type<DB>,
{
    match lateral {
        Lateral::Available => {
            builder
                .push(
                    " CROSS JOIN LATERAL (SELECT s.user_id, s.feed_id, s.read_through_seq, s.title FROM subscriptions s \
                     WHERE s.user_id = ",
                )
                .push_bind(user)
                .push(format!(
                    " AND s.feed_id = {article}.feed_id LIMIT 1) s {extra_joins} WHERE true"
                ));
        }
        Lateral::Missing => {
            // CROSS JOIN: SQLite keeps the article side outside, so the subscription is a primary-key lookup.
            builder
                .push(format!(
                    " CROSS JOIN subscriptions s {extra_joins} WHERE s.feed_id = {article}.feed_id AND s.user_id = "
                ))
                .push_bind(user);
        }
    }
}

/// The keys of up to `per_feed` of each followed feed's newest articles that match the query, below the cursor:
/// what [`super::timeline_page::exact_page`] picks a page from. Each feed is one short range of its
/// `(feed_id, published_at, id)` index.
pub(super) fn page_keys_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    lateral: Lateral,
    keys_per_feed: i64,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new("SELECT s.feed_id, p.published_at, p.id FROM subscriptions s ");
    builder.push("JOIN feeds f ON f.id = s.feed_id ");
    let newest_of_feed = "FROM articles q WHERE q.feed_id = s.feed_id";
    match lateral {
        Lateral::Available => builder.push(format!(
            "CROSS JOIN LATERAL (SELECT q.id, q.published_at {newest_of_feed}"
        )),
        Lateral::Missing => builder.push(format!("JOIN articles p ON p.id IN (SELECT q.id {newest_of_feed}")),
    };
    push_cursor(&mut builder, "AND", "q.published_at, q.id", query, encode_time);
    push_state_filters(&mut builder, query);
    push_article_filters(&mut builder, "q", query, encode_time);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(keys_per_feed)
        .push(")");
    if let Lateral::Available = lateral {
        builder.push(" p");
    }
    builder.push(" WHERE s.user_id = ").push_bind(user);
    if let Some(feed) = query.feed_id {
        builder.push(" AND s.feed_id = ").push_bind(feed);
    }
    push_subscription_filters(&mut builder, query);
    if query.status == ReadFilter::Unread {
        // A feed with nothing unread is not searched at all.
        builder.push(format!(" AND {UNREAD_COUNT} > 0"));
    }
    builder
}

/// `{keyword} ({columns}) < (time, id)` of the query's cursor, when it has one: the keyset bound that starts the
/// next page.
pub(super) fn push_cursor<'args, DB, Time>(
    builder: &mut QueryBuilder<'args, DB>,
    keyword: &str,
    columns: &str,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
) where
    DB: Database,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    if let Some(cursor) = query.cursor {
        builder
            .push(format!(" {keyword} ({columns}) < ("))
            .push_bind(encode_time(cursor.published_at))
            .push(", ")
            .push_bind(cursor.article_id)
            .push(")");
    }
}

/// The read and starred filters of the query on an article `q` of the subscription `s`.
pub(super) fn push_state_filters<DB: Database>(builder: &mut QueryBuilder<'_, DB>, query: &ArticleQuery) {
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

/// The filter's conditions on the subscription `s` (its user and feed): the category and the tag. Each is a
/// lookup on an index of the user's own rows.
pub(super) fn push_subscription_filters<'args, DB>(builder: &mut QueryBuilder<'args, DB>, query: &ArticleQuery)
where
    DB: Database,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    if let Some(category) = &query.filter.category {
        builder
            .push(
                " AND s.feed_id IN (SELECT sc.feed_id FROM subscriptions sc JOIN categories c ON c.id = sc.category_id \
                 WHERE sc.user_id = s.user_id AND c.user_id = s.user_id AND c.name = ",
            )
            .push_bind(category.clone())
            .push(")");
    }
    if let Some(tag) = &query.filter.tag {
        builder
            .push(
                " AND EXISTS (SELECT 1 FROM subscription_tags t \
                 WHERE t.user_id = s.user_id AND t.feed_id = s.feed_id AND t.name = ",
            )
            .push_bind(tag.clone())
            .push(")");
    }
}

/// The filter's conditions on an article aliased `article`: its publication time and its author. A text search
/// is not one of them: it changes the whole statement (`timeline_search`).
pub(super) fn push_article_filters<'args, DB, Time>(
    builder: &mut QueryBuilder<'args, DB>,
    article: &str,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time,
) where
    DB: Database,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let filter = &query.filter;
    if let Some(since) = filter.since {
        builder
            .push(format!(" AND {article}.published_at >= "))
            .push_bind(encode_time(since));
    }
    if let Some(until) = filter.until {
        builder
            .push(format!(" AND {article}.published_at < "))
            .push_bind(encode_time(until));
    }
    if let Some(author) = &filter.author {
        builder
            .push(format!(" AND lower({article}.author) = lower("))
            .push_bind(author.clone())
            .push(")");
    }
}

/// The keys of the first `rows` articles the user sees among the `scan` newest of the whole database below the
/// cursor (from `articles_recent`). When `rows` come back they are the page; fewer prove nothing, as older
/// articles were not looked at.
pub(super) fn recent_keys_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    lateral: Lateral,
    scan: i64,
    rows: i64,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new(
        "SELECT q.feed_id, q.published_at, q.id FROM (SELECT p.id, p.feed_id, p.published_at, p.seq, p.author ",
    );
    builder.push("FROM articles p");
    push_cursor(&mut builder, "WHERE", "p.published_at, p.id", query, encode_time);
    builder
        .push(" ORDER BY p.published_at DESC, p.id DESC LIMIT ")
        .push_bind(scan)
        .push(") q");
    push_subscription_and_where(&mut builder, lateral, "q", user, "");
    push_state_filters(&mut builder, query);
    push_subscription_filters(&mut builder, query);
    push_article_filters(&mut builder, "q", query, encode_time);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(rows);
    builder
}

/// The articles of a page, by their keys, newest first, as the user sees them: the ids drive the statement, and
/// the reader's subscription is looked up per article.
pub(super) fn articles_by_key_query<'args, DB, User>(
    user: User,
    keys: &[PageKey],
    lateral: Lateral,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new(format!("SELECT {ARTICLE_COLUMNS} FROM articles a"));
    push_subscription_and_where(&mut builder, lateral, "a", user, ARTICLE_JOINS);
    push_in_list(
        &mut builder,
        " AND a.id IN (",
        &keys.iter().map(|key| key.id).collect::<Vec<_>>(),
    );
    builder.push(" ORDER BY a.published_at DESC, a.id DESC");
    builder
}

/// `prefix`, then the values as binds separated by commas, then `)`; an empty list still makes valid SQL.
pub(crate) fn push_in_list<'args, DB>(builder: &mut QueryBuilder<'args, DB>, prefix: &str, values: &[i64])
where
    DB: Database,
    i64: 'args + Encode<'args, DB> + Type<DB>,
{
    builder.push(prefix);
    let mut separated = builder.separated(", ");
    for value in values {
        separated.push_bind(*value);
    }
    if values.is_empty() {
        separated.push("NULL");
    }
    builder.push(")");
}

/// Starred articles are found from the user's marks, not by searching every feed: one page, with one row more
/// than the page when there is a next page.
pub(super) fn starred_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
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
    push_subscription_filters(&mut builder, query);
    push_article_filters(&mut builder, "a", query, encode_time);
    match query.status {
        ReadFilter::Unread => builder.push(format!(" AND NOT {READ}")),
        ReadFilter::Read => builder.push(format!(" AND {READ}")),
        ReadFilter::All => &mut builder,
    };
    push_cursor(&mut builder, "AND", "m.published_at, m.article_id", query, encode_time);
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
