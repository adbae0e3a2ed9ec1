//! The walk of a search by date (`store::search_walk`), run on SQLite.

use super::rows::{micros, SearchKeyRow};
use super::SqliteStore;
use crate::domain::{ArticleQuery, UserId};
use crate::store::error::sqlite_error;
use crate::store::search_walk::{walk_query, window_size_query, WindowWalk};
use crate::store::timeline_search::{SearchIndex, SearchKey};
use crate::store::StoreError;

/// One search's walk: `text` is the query as FTS5 reads it.
pub(super) struct SqliteWalk<'a> {
    pub(super) store: &'a SqliteStore,
    pub(super) user: UserId,
    pub(super) query: &'a ArticleQuery,
    pub(super) text: &'a str,
}

impl WindowWalk for SqliteWalk<'_> {
    async fn matches(&self, window: i64, rows: i64) -> Result<Vec<SearchKey>, StoreError> {
        let text = self.text.to_owned();
        let keys: Vec<SearchKeyRow> = walk_query(
            self.user.hyphenated(),
            self.query,
            text,
            micros,
            SearchIndex::Fts5,
            window,
            rows,
        )
        .build_query_as()
        .fetch_all(&self.store.pool)
        .await
        .map_err(sqlite_error)?;
        SearchKey::of_rows(keys)
    }

    async fn window_size(&self, window: i64) -> Result<i64, StoreError> {
        window_size_query(self.query, micros, window)
            .build_query_scalar()
            .fetch_one(&self.store.pool)
            .await
            .map_err(sqlite_error)
    }
}
