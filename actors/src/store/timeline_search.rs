//! A text search of the timeline (`ArticleFilter::search`): one statement picks the keys of a page of matching
//! articles, best match or newest first, then the page is read by key as any timeline page is. The index differs
//! by backend (Postgres: the `search_vector` column and its GIN index; SQLite: the FTS5 table `articles_search`),
//! the filters and the paging do not.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::rows::Decoded;
use super::timeline_page::PageKey;
use super::timeline_query::{push_article_filters, push_state_filters, push_subscription_filters};
use super::StoreError;
use crate::domain::{Article, ArticleCursor, ArticleId, ArticlePage, ArticleQuery, ArticleSearch, FeedId, SearchOrder};

/// How many matches a search by relevance ranks: the most recently stored ones the user sees, after the
/// filters. A query with more matches than this (one of common words) ranks these and not the older ones, so
/// that its cost does not grow with the store; one with fewer is ranked in full.
pub(super) const RELEVANCE_CANDIDATES: i64 = 500;

/// Which full-text index the backend has.
#[derive(Debug, Clone, Copy)]
pub(super) enum SearchIndex {
    /// Postgres: `articles.search_vector`, ranked by `ts_rank` with its default weights, which are title (A) 1.0,
    /// summary (B) 0.4 and content (C) 0.2.
    Vector,
    /// SQLite: FTS5's `articles_search`, ranked by `syndic_rank` (BM25 without its rarity factor, which reads
    /// every match: `sqlite/search_rank.rs`) with title 10, summary 4 and content 1; as on Postgres, a larger
    /// rank is a better match.
    Fts5,
}

/// What is known of how many articles a search matches, before its statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Matches {
    /// Nothing: the planner chooses how to find them (on Postgres; SQLite's statement always reads every match
    /// first, from the FTS5 index, which is newest first).
    Unknown,
    /// Few: a walk of the newest articles found too few to fill the page (`search_walk`). On Postgres the
    /// statement then reads every match from the GIN index before it sorts them, rather than let the planner
    /// walk the timeline testing every article until the page fills.
    Few,
}

/// A matching article's key, with its rank.
#[derive(sqlx::FromRow)]
pub(super) struct SearchKeyRow<Time> {
    feed_id: FeedId,
    published_at: Time,
    id: ArticleId,
    rank: f64,
}

/// A matching article: where it goes on the page.
#[derive(Debug, Clone, Copy)]
pub(super) struct SearchKey {
    pub(super) key: PageKey,
    rank: f64,
}

impl SearchKey {
    pub(super) fn of_rows<Time: Decoded<DateTime<Utc>>>(
        rows: Vec<SearchKeyRow<Time>>,
    ) -> Result<Vec<Self>, StoreError> {
        rows.into_iter()
            .map(|row| {
                Ok(SearchKey {
                    key: PageKey {
                        published_at: row.published_at.decoded()?,
                        id: row.id,
                        feed_id: row.feed_id,
                    },
                    rank: row.rank,
                })
            })
            .collect()
    }
}

/// The keys of the matching articles the user sees, in the search's order, after the cursor: one more than the
/// page when there is a next page. `text` is the query as the index reads it (`SearchQuery::to_tsquery` or
/// `to_fts5`).
pub(super) fn search_keys_query<'args, DB, User, Time>(
    user: User,
    query: &ArticleQuery,
    search: &ArticleSearch,
    text: String,
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    index: SearchIndex,
    matches: Matches,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    f64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let relevance = search.order == SearchOrder::Relevance;
    let mut builder = QueryBuilder::new("SELECT r.feed_id, r.published_at, r.id, r.rank FROM (");
    match index {
        SearchIndex::Vector => {
            if relevance {
                // The rank is computed outside the candidates' LIMIT, so only for them.
                builder.push(
                    "SELECT c.feed_id, c.published_at, c.id, ts_rank(c.search_vector, c.query)::float8 AS rank \
                     FROM (SELECT q.feed_id, q.published_at, q.id, q.search_vector, m.query",
                );
            } else {
                builder.push("SELECT q.feed_id, q.published_at, q.id, 0.0::float8 AS rank");
            }
            if matches == Matches::Few && !relevance {
                // OFFSET 0 keeps the matches a subquery of their own: every one is read (a bitmap of the GIN
                // index), then filtered and sorted.
                builder
                    .push(
                        " FROM (SELECT a.id, a.feed_id, a.published_at, a.seq, a.author FROM articles a \
                         WHERE a.search_vector @@ to_tsquery('simple', ",
                    )
                    .push_bind(text)
                    .push(") OFFSET 0) q");
            } else {
                builder
                    .push(" FROM (SELECT to_tsquery('simple', ")
                    .push_bind(text)
                    .push(") AS query) m JOIN articles q ON q.search_vector @@ m.query");
            }
            builder
                .push(" JOIN subscriptions s ON s.feed_id = q.feed_id AND s.user_id = ")
                .push_bind(user)
                .push(" WHERE true");
        }
        SearchIndex::Fts5 => {
            // CROSS JOIN keeps the index outside: each match is then a row-id and a primary-key lookup, and the
            // candidates come from the index newest first (by row id) with no sort. The rank is computed only for
            // the rows the statement returns.
            let rank = if relevance {
                "syndic_rank(articles_search, 10.0, 4.0, 1.0)"
            } else {
                "0.0"
            };
            builder
                .push(format!(
                    "SELECT q.feed_id, q.published_at, q.id, {rank} AS rank \
                     FROM articles_search CROSS JOIN articles q ON q.id = articles_search.rowid \
                     CROSS JOIN subscriptions s ON s.feed_id = q.feed_id AND s.user_id = "
                ))
                .push_bind(user)
                .push(" WHERE articles_search MATCH ")
                .push_bind(text);
        }
    }
    if let Some(feed) = query.feed_id {
        builder.push(" AND q.feed_id = ").push_bind(feed);
    }
    if query.starred == Some(true) {
        builder.push(
            " AND EXISTS (SELECT 1 FROM article_marks qm \
             WHERE qm.user_id = s.user_id AND qm.article_id = q.id AND qm.starred_at IS NOT NULL)",
        );
    }
    push_state_filters(&mut builder, query);
    push_subscription_filters(&mut builder, query);
    push_article_filters(&mut builder, "q", query, encode_time);
    if relevance {
        let newest = match index {
            SearchIndex::Vector => "q.id",
            SearchIndex::Fts5 => "articles_search.rowid",
        };
        builder
            .push(format!(" ORDER BY {newest} DESC LIMIT "))
            .push_bind(RELEVANCE_CANDIDATES);
        if let SearchIndex::Vector = index {
            builder.push(") c");
        }
    }
    builder.push(") r");
    let order = match search.order {
        SearchOrder::Relevance => "r.rank DESC, r.id DESC",
        SearchOrder::Date => "r.published_at DESC, r.id DESC",
    };
    if let Some(cursor) = query.cursor {
        match (search.order, cursor.rank) {
            (SearchOrder::Relevance, Some(rank)) => builder.push(" WHERE (r.rank, r.id) < (").push_bind(rank),
            _ => builder
                .push(" WHERE (r.published_at, r.id) < (")
                .push_bind(encode_time(cursor.published_at)),
        };
        builder.push(", ").push_bind(cursor.article_id).push(")");
    }
    builder
        .push(format!(" ORDER BY {order} LIMIT "))
        .push_bind(i64::from(query.limit) + 1);
    builder
}

/// The page from the matching keys (in the search's order, one more than the page when there is a next one) and
/// their articles (in any order). A key whose article is gone since is skipped.
pub(super) fn search_page(keys: &[SearchKey], articles: Vec<Article>, limit: u32, order: SearchOrder) -> ArticlePage {
    let next_cursor = (keys.len() > limit as usize).then(|| {
        let last = keys[limit as usize - 1];
        ArticleCursor {
            published_at: last.key.published_at,
            article_id: last.key.id,
            rank: (order == SearchOrder::Relevance).then_some(last.rank),
        }
    });
    let mut by_id: HashMap<ArticleId, Article> = articles.into_iter().map(|article| (article.id, article)).collect();
    let articles = keys
        .iter()
        .take(limit as usize)
        .filter_map(|key| by_id.remove(&key.key.id))
        .collect();
    ArticlePage { articles, next_cursor }
}
