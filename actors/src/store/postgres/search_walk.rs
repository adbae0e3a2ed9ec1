//! The walk of a search by date (`store::search_walk`), run on Postgres.

use super::rows::SearchKeyRow;
use super::PostgresStore;
use crate::domain::{ArticleQuery, UserId};
use crate::store::search_walk::{walk_query, window_size_query, WindowWalk};
use crate::store::timeline_search::{SearchIndex, SearchKey};
use crate::store::StoreError;

/// One search's walk: `text` is the query as `to_tsquery` reads it.
pub(super) struct PostgresWalk<'a> {
    pub(super) store: &'a PostgresStore,
    pub(super) user: UserId,
    pub(super) query: &'a ArticleQuery,
    pub(super) text: &'a str,
}

impl WindowWalk for PostgresWalk<'_> {
    async fn matches(&self, window: i64, rows: i64) -> Result<Vec<SearchKey>, StoreError> {
        let keys: Vec<SearchKeyRow> = walk_query(
            self.user,
            self.query,
            self.text.to_owned(),
            |time| time,
            SearchIndex::Vector,
            window,
            rows,
        )
        .build_query_as()
        // Not a named prepared statement, for the reason `timeline::search_articles` gives.
        .persistent(false)
        .fetch_all(&self.store.pool)
        .await?;
        SearchKey::of_rows(keys)
    }

    async fn window_size(&self, window: i64) -> Result<i64, StoreError> {
        Ok(window_size_query(self.query, |time| time, window)
            .build_query_scalar()
            .fetch_one(&self.store.pool)
            .await?)
    }
}
