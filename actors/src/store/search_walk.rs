//! A search by date without reading every match: the timeline below the cursor is walked newest first in a
//! window of articles, and the full-text index is asked only about the window's articles. A window that fills
//! the page, or that holds every article left, gives the exact result; otherwise the caller falls back to the
//! match-first statement (`timeline_search`), whose sort is then cheap, as a query that rare has few matches.
//!
//! Both backends walk, because neither planner can be left to choose: SQLite cannot estimate how many articles
//! match, and Postgres's estimate for a rare word is a default, and its cost of testing an article leaves out
//! reading its `search_vector`, so it walks `articles_recent` for a query that matches 1 article in 1,600 and
//! tests 86,000 articles before the page fills (BENCHMARKS.md, "Searching 1,000,000 articles").

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::timeline_query::{push_article_filters, push_cursor, push_state_filters, push_subscription_filters};
use super::timeline_search::{Matches, SearchIndex, SearchKey};
use super::StoreError;
use crate::domain::{ArticleQuery, SearchOrder};

/// The first window, in articles per row of the page: words in an eighth of the articles or more fill the page
/// there, which is most pairs of common words.
const FIRST_WINDOW_PER_ROW: i64 = 8;

/// The largest window, per row of the page. A query the first window shows rarer than 1 article in 64 goes to the
/// match-first statement instead, which at 1,000,000 articles then reads under ~16,000 matches: walking a window
/// costs about twice as much per article as reading a match (a test of its `search_vector` against a heap row).
const LARGEST_WINDOW_PER_ROW: i64 = 64;

/// What a backend runs for the walk: the two statements of [`walk_query`] and [`window_size_query`].
pub(super) trait WindowWalk {
    /// The matching keys among the `window` newest articles below the cursor, in timeline order, at most `rows`.
    async fn matches(&self, window: i64, rows: i64) -> Result<Vec<SearchKey>, StoreError>;
    /// How many articles the window of that size holds: fewer than its size when it reached the oldest.
    async fn window_size(&self, window: i64) -> Result<i64, StoreError>;
}

/// The keys of the page (one more when there is a next page) from a walk of the timeline, or, when the walk
/// cannot tell them and the match-first statement must, what it learnt of the matches: few, or nothing when it
/// did not walk (a search by relevance, or of starred articles only).
pub(super) async fn walked_search_keys(
    walk: &impl WindowWalk,
    query: &ArticleQuery,
    order: SearchOrder,
) -> Result<Result<Vec<SearchKey>, Matches>, StoreError> {
    // Starred articles are few among the newest: a walk would rarely fill a page.
    if order == SearchOrder::Relevance || query.starred == Some(true) {
        return Ok(Err(Matches::Unknown));
    }
    let rows = i64::from(query.limit) + 1;
    let first = rows * FIRST_WINDOW_PER_ROW;
    let found = match walk_window(walk, first, rows).await? {
        Walked::Page(keys) => return Ok(Ok(keys)),
        Walked::Found(found) => found,
    };
    // The share of matches in the first window sizes the second, twice over for their spread.
    let needed = match (first * rows).checked_div(found) {
        Some(needed) if needed <= rows * LARGEST_WINDOW_PER_ROW => needed,
        _ => return Ok(Err(Matches::Few)),
    };
    let second = (2 * needed).min(rows * LARGEST_WINDOW_PER_ROW);
    Ok(match walk_window(walk, second, rows).await? {
        Walked::Page(keys) => Ok(keys),
        Walked::Found(_) => Err(Matches::Few),
    })
}

/// What a window of the walk told.
enum Walked {
    /// The page: the window held `rows` matches, or every article left.
    Page(Vec<SearchKey>),
    /// Fewer matches than the page needs, and older articles not looked at.
    Found(i64),
}

async fn walk_window(walk: &impl WindowWalk, window: i64, rows: i64) -> Result<Walked, StoreError> {
    let keys = walk.matches(window, rows).await?;
    let found = keys.len() as i64;
    if found == rows || walk.window_size(window).await? < window {
        // A full page, or a window that held every article left: nothing older can change the page.
        return Ok(Walked::Page(keys));
    }
    Ok(Walked::Found(found))
}

/// The matching keys among the `window` newest articles below the cursor, in timeline order, at most `rows`. The
/// window is read from an index (`articles_recent`, or `articles_feed_recent` for one feed), then each of its
/// articles the user sees is tested against the query. `text` is the query as the index reads it.
/// - Postgres tests each article's `search_vector`.
/// - SQLite asks FTS5 for its matches between the window's smallest and largest id: ids grow as articles are
///   stored, so that range is narrow, though the result does not depend on it.
pub(super) fn walk_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    text: String,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    index: SearchIndex,
    window: i64,
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
    let author = if query.filter.author.is_some() {
        ", p.author"
    } else {
        ""
    };
    let mut builder = QueryBuilder::new(format!(
        "WITH w AS MATERIALIZED (SELECT p.id, p.feed_id, p.published_at, p.seq{author}"
    ));
    push_window(&mut builder, query, encode_time, window);
    let rank = match index {
        SearchIndex::Vector => "0.0::float8",
        SearchIndex::Fts5 => "0.0",
    };
    builder
        .push(format!(
            ") SELECT q.feed_id, q.published_at, q.id, {rank} AS rank FROM w q CROSS JOIN subscriptions s \
             WHERE s.feed_id = q.feed_id AND s.user_id = "
        ))
        .push_bind(user);
    match index {
        SearchIndex::Vector => builder
            .push(
                " AND EXISTS (SELECT 1 FROM articles t WHERE t.id = q.id \
                 AND t.search_vector @@ to_tsquery('simple', ",
            )
            .push_bind(text)
            .push("))"),
        SearchIndex::Fts5 => builder
            .push(" AND q.id IN (SELECT rowid FROM articles_search WHERE articles_search MATCH ")
            .push_bind(text)
            .push(" AND rowid BETWEEN (SELECT min(id) FROM w) AND (SELECT max(id) FROM w))"),
    };
    push_state_filters(&mut builder, query);
    push_subscription_filters(&mut builder, query);
    push_article_filters(&mut builder, "q", query, encode_time);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(rows);
    builder
}

/// How many articles the window of that size holds: fewer than its size when it reached the oldest.
pub(super) fn window_size_query<'args, DB, Time>(
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    window: i64,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let mut builder = QueryBuilder::new("SELECT count(*) FROM (SELECT p.id");
    push_window(&mut builder, query, encode_time, window);
    builder.push(") AS w");
    builder
}

/// ` FROM articles p WHERE …` the newest `window` articles below the cursor, of the feed and the time range when
/// the query names them: the conditions an index range answers, so the walk's cost follows the window.
fn push_window<'args, DB, Time>(
    builder: &mut QueryBuilder<'args, DB>,
    query: &ArticleQuery,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    window: i64,
) where
    DB: Database,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    builder.push(" FROM articles p WHERE true");
    push_cursor(builder, "AND", "p.published_at, p.id", query, encode_time);
    if let Some(feed) = query.feed_id {
        builder.push(" AND p.feed_id = ").push_bind(feed);
    }
    if let Some(since) = query.filter.since {
        builder.push(" AND p.published_at >= ").push_bind(encode_time(since));
    }
    if let Some(until) = query.filter.until {
        builder.push(" AND p.published_at < ").push_bind(encode_time(until));
    }
    builder
        .push(" ORDER BY p.published_at DESC, p.id DESC LIMIT ")
        .push_bind(window);
}
