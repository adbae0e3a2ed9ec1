//! The engine's door for saved filters: a user's named queries, capped per user, and the one matcher that the
//! event stream asks which new articles a filter keeps.

use crate::domain::{ArticleId, UserId};
use crate::engine::{Engine, EngineError};
use crate::organise::Name;
use crate::saved_filter::{FilterQuery, SavedFilter, SavedFilterEdit, SavedFilterId, MAX_SAVED_FILTERS};
use crate::store::StoreError;

impl Engine {
    pub async fn list_saved_filters(&self, user: UserId) -> Result<Vec<SavedFilter>, StoreError> {
        self.organise_store().list_saved_filters(user).await
    }

    pub async fn get_saved_filter(&self, user: UserId, filter: SavedFilterId) -> Result<SavedFilter, StoreError> {
        self.organise_store().get_saved_filter(user, filter).await
    }

    /// Saves a filter, unless the user has [`MAX_SAVED_FILTERS`] already (refused naming `name`).
    pub async fn create_saved_filter(
        &self,
        user: UserId,
        name: &Name,
        query: &FilterQuery,
    ) -> Result<SavedFilter, EngineError> {
        if self.organise_store().count_saved_filters(user).await? >= MAX_SAVED_FILTERS {
            return Err(EngineError::Invalid {
                field: "name",
                message: format!("you have {MAX_SAVED_FILTERS} saved filters, the most allowed: delete one first"),
            });
        }
        Ok(self.organise_store().create_saved_filter(user, name, query).await?)
    }

    pub async fn update_saved_filter(
        &self,
        user: UserId,
        filter: SavedFilterId,
        edit: &SavedFilterEdit,
    ) -> Result<SavedFilter, StoreError> {
        self.organise_store().update_saved_filter(user, filter, edit).await
    }

    pub async fn delete_saved_filter(&self, user: UserId, filter: SavedFilterId) -> Result<(), StoreError> {
        self.organise_store().delete_saved_filter(user, filter).await
    }

    /// See [`OrganiseStore::saved_filter_matches`](crate::store::OrganiseStore::saved_filter_matches).
    pub async fn saved_filter_matches(
        &self,
        user: UserId,
        filter: SavedFilterId,
        articles: &[ArticleId],
    ) -> Result<Vec<ArticleId>, StoreError> {
        self.organise_store().saved_filter_matches(user, filter, articles).await
    }

    /// A saved filter that a webhook or a timer names, checked (`field` names it in the refusal): one of the
    /// user's.
    pub async fn users_saved_filter(
        &self,
        field: &'static str,
        user: UserId,
        filter: SavedFilterId,
    ) -> Result<SavedFilterId, EngineError> {
        match self.organise_store().get_saved_filter(user, filter).await {
            Ok(saved) => Ok(saved.id),
            Err(StoreError::NotFound) => Err(EngineError::Invalid {
                field,
                message: "you have no saved filter of this id".to_owned(),
            }),
            Err(error) => Err(error.into()),
        }
    }
}
