//! SQLite's search by date without reading every match: the timeline below the cursor is walked newest first in
//! a window of articles, and FTS5 is asked only for the matches among the window's row ids. A window that fills
//! the page, or that holds every article left, gives the exact result; otherwise the caller falls back to the
//! match-first statement (`timeline_search`), whose sort is then cheap, as a query that rare has few matches.

use sqlx::{QueryBuilder, Sqlite};

use super::rows::{micros, SearchKeyRow};
use super::SqliteStore;
use crate::domain::{ArticleQuery, UserId};
use crate::store::error::sqlite_error;
use crate::store::timeline_query::{push_article_filters, push_cursor, push_state_filters, push_subscription_filters};
use crate::store::timeline_search::SearchKey;
use crate::store::StoreError;

/// The first window, in articles per row of the page: words in an eighth of the articles or more fill the page
/// there, which is most pairs of common words.
const FIRST_WINDOW_PER_ROW: i64 = 8;

/// The largest window, per row of the page. A query the first window shows rarer than 1 article in 64 goes to the
/// match-first statement instead, which at 100,000 articles then sorts under ~1,600 matches: about what a window
/// that size costs.
const LARGEST_WINDOW_PER_ROW: i64 = 64;

/// The keys of the page (one more when there is a next page) from a walk of the timeline, or `None` when the
/// walk cannot tell them and the match-first statement must. `text` is the query as FTS5 reads it.
pub(super) async fn walked_search_keys(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
    text: &str,
) -> Result<Option<Vec<SearchKey>>, StoreError> {
    if query.starred == Some(true) {
        // Starred articles are few among the newest: a walk would rarely fill a page.
        return Ok(None);
    }
    let rows = i64::from(query.limit) + 1;
    let first = rows * FIRST_WINDOW_PER_ROW;
    let found = match walk_window(store, user, query, text, first, rows).await? {
        Walk::Page(keys) => return Ok(Some(keys)),
        Walk::Found(found) => found,
    };
    // The share of matches in the first window sizes the second, twice over for their spread.
    let needed = match (first * rows).checked_div(found) {
        Some(needed) if needed <= rows * LARGEST_WINDOW_PER_ROW => needed,
        _ => return Ok(None),
    };
    let second = (2 * needed).min(rows * LARGEST_WINDOW_PER_ROW);
    Ok(match walk_window(store, user, query, text, second, rows).await? {
        Walk::Page(keys) => Some(keys),
        Walk::Found(_) => None,
    })
}

/// What a window of the walk told.
enum Walk {
    /// The page: the window held `rows` matches, or every article left.
    Page(Vec<SearchKey>),
    /// Fewer matches than the page needs, and older articles not looked at.
    Found(i64),
}

async fn walk_window(
    store: &SqliteStore,
    user: UserId,
    query: &ArticleQuery,
    text: &str,
    window: i64,
    rows: i64,
) -> Result<Walk, StoreError> {
    let keys: Vec<SearchKeyRow> = walk_query(user, query, text, window, rows)
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    let found = keys.len() as i64;
    if found == rows {
        return Ok(Walk::Page(SearchKey::of_rows(keys)?));
    }
    let walked: i64 = window_size_query(query, window)
        .build_query_scalar()
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    if walked < window {
        // The window held every article left: nothing older can match.
        return Ok(Walk::Page(SearchKey::of_rows(keys)?));
    }
    Ok(Walk::Found(found))
}

/// The matching keys among the `window` newest articles below the cursor, in timeline order, at most `rows`. The
/// window is read from an index (`articles_recent`, or `articles_feed_recent` for one feed) and FTS5 is asked for
/// its matches between the window's smallest and largest id: ids grow as articles are stored, so that range is
/// narrow, though the result does not depend on it.
fn walk_query<'args>(
    user: UserId,
    query: &ArticleQuery,
    text: &str,
    window: i64,
    rows: i64,
) -> QueryBuilder<'args, Sqlite> {
    let author = if query.filter.author.is_some() {
        ", p.author"
    } else {
        ""
    };
    let mut builder = QueryBuilder::new(format!(
        "WITH w AS MATERIALIZED (SELECT p.id, p.feed_id, p.published_at, p.seq{author}"
    ));
    push_window(&mut builder, query, window);
    builder
        .push(
            ") SELECT q.feed_id, q.published_at, q.id, 0.0 AS rank FROM w q CROSS JOIN subscriptions s \
             WHERE s.feed_id = q.feed_id AND s.user_id = ",
        )
        .push_bind(user.hyphenated())
        .push(" AND q.id IN (SELECT rowid FROM articles_search WHERE articles_search MATCH ")
        .push_bind(text.to_owned())
        .push(" AND rowid BETWEEN (SELECT min(id) FROM w) AND (SELECT max(id) FROM w))");
    push_state_filters(&mut builder, query);
    push_subscription_filters(&mut builder, query);
    push_article_filters(&mut builder, "q", query, micros);
    builder
        .push(" ORDER BY q.published_at DESC, q.id DESC LIMIT ")
        .push_bind(rows);
    builder
}

/// How many articles the window of that size holds: fewer than its size when it reached the oldest.
fn window_size_query<'args>(query: &ArticleQuery, window: i64) -> QueryBuilder<'args, Sqlite> {
    let mut builder = QueryBuilder::new("SELECT count(*) FROM (SELECT p.id");
    push_window(&mut builder, query, window);
    builder.push(")");
    builder
}

/// ` FROM articles p WHERE …` the newest `window` articles below the cursor, of the feed and the time range when
/// the query names them: the conditions an index range answers, so the walk's cost follows the window.
fn push_window(builder: &mut QueryBuilder<'_, Sqlite>, query: &ArticleQuery, window: i64) {
    builder.push(" FROM articles p WHERE true");
    push_cursor(builder, "AND", "p.published_at, p.id", query, micros);
    if let Some(feed) = query.feed_id {
        builder.push(" AND p.feed_id = ").push_bind(feed);
    }
    if let Some(since) = query.filter.since {
        builder.push(" AND p.published_at >= ").push_bind(micros(since));
    }
    if let Some(until) = query.filter.until {
        builder.push(" AND p.published_at < ").push_bind(micros(until));
    }
    builder
        .push(" ORDER BY p.published_at DESC, p.id DESC LIMIT ")
        .push_bind(window);
}
