//! The saved filters' statements shared by both backends, and the one matcher every consumer of a saved filter
//! uses (the event stream, webhook deliveries): which of some articles the user's timeline with that filter
//! would list. It is built from the timeline's own conditions and search index, so the two cannot disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::rows::Decoded;
use super::timeline_query::{push_article_filters, push_in_list, push_subscription_filters};
use super::timeline_search::SearchIndex;
use super::StoreError;
use crate::domain::{ArticleFilter, ArticleId, ArticleQuery, ReadFilter, UserId};
use crate::saved_filter::{FilterQuery, SavedFilter, SavedFilterId};

/// Most article ids one matching statement takes; more are matched in several.
pub(super) const MATCH_CHUNK: usize = 500;

pub(super) const SAVED_FILTER_COLUMNS: &str = "id, name, q, category, tag, author, created_at, updated_at";

/// The user's ($1) saved filters, in name order.
pub(super) fn list_saved_filters_sql() -> String {
    format!("SELECT {SAVED_FILTER_COLUMNS} FROM saved_filters WHERE user_id = $1 ORDER BY name")
}

/// The user's ($1) saved filter $2.
pub(super) fn get_saved_filter_sql() -> String {
    format!("SELECT {SAVED_FILTER_COLUMNS} FROM saved_filters WHERE user_id = $1 AND id = $2")
}

pub(super) const COUNT_SAVED_FILTERS: &str = "SELECT count(*) FROM saved_filters WHERE user_id = $1";

pub(super) const DELETE_SAVED_FILTER: &str = "DELETE FROM saved_filters WHERE user_id = $1 AND id = $2";

/// A saved filter's row.
#[derive(sqlx::FromRow)]
pub(super) struct SavedFilterRow<Time> {
    id: SavedFilterId,
    name: String,
    q: Option<String>,
    category: Option<String>,
    tag: Option<String>,
    author: Option<String>,
    created_at: Time,
    updated_at: Time,
}

impl<Time: Decoded<DateTime<Utc>>> SavedFilterRow<Time> {
    pub(super) fn into_saved_filter(self) -> Result<SavedFilter, StoreError> {
        let query = FilterQuery::parse(
            self.q.as_deref(),
            self.category.as_deref(),
            self.tag.as_deref(),
            self.author.as_deref(),
        )
        .map_err(|invalid| super::rows::decode_error(format!("saved filter {}: {invalid}", self.id)))?;
        Ok(SavedFilter {
            id: self.id,
            name: self.name,
            query,
            created_at: self.created_at.decoded()?,
            updated_at: self.updated_at.decoded()?,
        })
    }
}

/// Which of `ids` (at most [`MATCH_CHUNK`]) are articles of the user's feeds that `filter` keeps: the conditions
/// of the timeline (`timeline_query`) and its search (`timeline_search`), over the given ids instead of a page.
/// Read state and stars play no part, as a saved filter has neither.
pub(super) fn matching_articles_query<'args, DB, User, Time>(
    user: User,
    filter: &ArticleFilter,
    ids: &[ArticleId],
    encode_time: impl Fn(DateTime<Utc>) -> Time + Copy,
    index: SearchIndex,
) -> QueryBuilder<'args, DB>
where
    DB: Database,
    DB::Arguments<'args>: Default,
    User: 'args + Encode<'args, DB> + Type<DB>,
    Time: 'args + Encode<'args, DB> + Type<DB>,
    i64: 'args + Encode<'args, DB> + Type<DB>,
    String: 'args + Encode<'args, DB> + Type<DB>,
{
    let query = ArticleQuery {
        feed_id: None,
        status: ReadFilter::All,
        starred: None,
        limit: 0,
        cursor: None,
        filter: filter.clone(),
    };
    let mut builder =
        QueryBuilder::new("SELECT q.id FROM articles q JOIN subscriptions s ON s.feed_id = q.feed_id AND s.user_id = ");
    builder.push_bind(user);
    push_in_list(&mut builder, " WHERE q.id IN (", ids);
    if let Some(search) = &filter.search {
        match index {
            SearchIndex::Vector => {
                builder
                    .push(" AND q.search_vector @@ to_tsquery('simple', ")
                    .push_bind(search.query.to_tsquery())
                    .push(")");
            }
            SearchIndex::Fts5 => {
                // The row ids bound the index's work to the given articles.
                push_in_list(
                    &mut builder,
                    " AND q.id IN (SELECT rowid FROM articles_search WHERE rowid IN (",
                    ids,
                );
                builder
                    .push(" AND articles_search MATCH ")
                    .push_bind(search.query.to_fts5())
                    .push(")");
            }
        }
    }
    push_subscription_filters(&mut builder, &query);
    push_article_filters(&mut builder, "q", &query, encode_time);
    builder.push(" ORDER BY q.id");
    builder
}

/// A flush's candidate deliveries grouped by the saved filter that must keep them: each filter's article ids,
/// ascending and once each. Candidates of webhooks with no saved filter need no matching and are left out.
pub(super) fn articles_per_filter(
    candidates: impl IntoIterator<Item = (UserId, Option<SavedFilterId>, ArticleId)>,
) -> BTreeMap<(UserId, SavedFilterId), Vec<ArticleId>> {
    let mut grouped: BTreeMap<(UserId, SavedFilterId), Vec<ArticleId>> = BTreeMap::new();
    for (user, filter, article) in candidates {
        if let Some(filter) = filter {
            grouped.entry((user, filter)).or_default().push(article);
        }
    }
    for articles in grouped.values_mut() {
        articles.sort_unstable();
        articles.dedup();
    }
    grouped
}
