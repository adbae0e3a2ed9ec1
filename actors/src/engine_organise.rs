//! The engine's door for organising a user's subscriptions: categories, tags, a subscription's own title, and
//! the unread counters. A change that shows on the timeline (a title, a category) drops the user's cached
//! timeline before it answers.

use crate::domain::{FeedId, Subscription, UserId};
use crate::engine::{Engine, EngineError};
use crate::organise::{Category, CategoryId, Counters, MarkSelection, Marking, Name, SubscriptionPatch, TagCount};
use crate::store::StoreError;

impl Engine {
    /// See [`OrganiseStore::update_subscription`](crate::store::OrganiseStore::update_subscription).
    pub async fn update_subscription(
        &self,
        user: UserId,
        feed: FeedId,
        patch: &SubscriptionPatch,
    ) -> Result<Subscription, StoreError> {
        let updated = self.organise_store().update_subscription(user, feed, patch).await;
        // Articles carry the feed's title as the user sees it.
        self.timeline().invalidate(user).await;
        updated
    }

    pub async fn list_categories(
        &self,
        user: UserId,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<Category>, StoreError> {
        self.organise_store().list_categories(user, limit, after).await
    }

    pub async fn get_category(&self, user: UserId, category: CategoryId) -> Result<Category, StoreError> {
        self.organise_store().get_category(user, category).await
    }

    pub async fn create_category(&self, user: UserId, name: &Name) -> Result<Category, StoreError> {
        self.organise_store().create_category(user, name).await
    }

    /// A filter's category name, checked (`field` names it in the refusal): one of the user's categories.
    pub(crate) async fn users_category(
        &self,
        field: &'static str,
        user: UserId,
        name: &str,
    ) -> Result<String, EngineError> {
        let (name, _) = self.checked_category(field, user, name).await?;
        Ok(name.into_string())
    }

    /// The id of the user's category of that name, checked (`field` names it in the refusal): what an event
    /// stream holds, so that it follows the category through a rename and matches nothing once it is deleted.
    pub async fn users_category_id(
        &self,
        field: &'static str,
        user: UserId,
        name: &str,
    ) -> Result<CategoryId, EngineError> {
        let (_, id) = self.checked_category(field, user, name).await?;
        Ok(id)
    }

    async fn checked_category(
        &self,
        field: &'static str,
        user: UserId,
        name: &str,
    ) -> Result<(Name, CategoryId), EngineError> {
        let invalid = |message: String| EngineError::Invalid { field, message };
        let name = Name::category(name).map_err(|error| invalid(error.to_string()))?;
        match self.organise_store().find_category(user, &name).await? {
            Some(id) => Ok((name, id)),
            None => Err(invalid("you have no category of this name".to_owned())),
        }
    }

    /// See [`OrganiseStore::feeds_in_category`](crate::store::OrganiseStore::feeds_in_category).
    pub async fn feeds_in_category(
        &self,
        user: UserId,
        category: CategoryId,
        feeds: &[FeedId],
    ) -> Result<Vec<FeedId>, StoreError> {
        self.organise_store().feeds_in_category(user, category, feeds).await
    }

    pub async fn rename_category(
        &self,
        user: UserId,
        category: CategoryId,
        name: &Name,
    ) -> Result<Category, StoreError> {
        self.organise_store().rename_category(user, category, name).await
    }

    pub async fn delete_category(&self, user: UserId, category: CategoryId) -> Result<(), StoreError> {
        self.organise_store().delete_category(user, category).await
    }

    pub async fn list_tags(&self, user: UserId, limit: u32, after: Option<&str>) -> Result<Vec<TagCount>, StoreError> {
        self.organise_store().list_tags(user, limit, after).await
    }

    /// Marks the selected articles as `marking` asks; answers how many changed state. The cached timeline goes
    /// whatever the outcome, as the read state and stars show on it.
    pub async fn mark_articles(
        &self,
        user: UserId,
        marking: Marking,
        selection: &MarkSelection,
    ) -> Result<u64, StoreError> {
        let marked = self.organise_store().mark_articles(user, marking, selection).await;
        self.timeline().invalidate(user).await;
        marked
    }

    pub async fn counters(&self, user: UserId) -> Result<Counters, StoreError> {
        self.organise_store().counters(user).await
    }
}
