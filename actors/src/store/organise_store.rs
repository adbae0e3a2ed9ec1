//! What the API asks of the store to organise a user's subscriptions: their categories and tags, a
//! subscription's own title, category and tags, the unread counters by feed and by category, and saved filters.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{ArticleId, FeedId, Subscription, UserId};
use crate::organise::{Category, CategoryId, Counters, MarkSelection, Marking, Name, SubscriptionPatch, TagCount};
use crate::saved_filter::{FilterQuery, SavedFilter, SavedFilterEdit, SavedFilterId};

#[async_trait]
pub trait OrganiseStore: Send + Sync + 'static {
    /// Applies the patch to one of the user's subscriptions in one transaction and returns it as it is now. A
    /// category named that the user does not have is created. `NotFound` when the user does not follow the feed.
    async fn update_subscription(
        &self,
        user: UserId,
        feed: FeedId,
        patch: &SubscriptionPatch,
    ) -> Result<Subscription, StoreError>;

    /// Up to `limit` of the user's categories named after `after`, in name order, with their counts.
    async fn list_categories(&self, user: UserId, limit: u32, after: Option<&str>)
        -> Result<Vec<Category>, StoreError>;
    /// One of the user's categories with its counts; `NotFound` for another user's.
    async fn get_category(&self, user: UserId, category: CategoryId) -> Result<Category, StoreError>;
    /// The id of the user's category of that name, if they have one.
    async fn find_category(&self, user: UserId, name: &Name) -> Result<Option<CategoryId>, StoreError>;
    /// Which of `feeds` the user has in their category `category`, ascending: none when the category is not (or
    /// no longer) theirs. One statement per 500 feeds.
    async fn feeds_in_category(
        &self,
        user: UserId,
        category: CategoryId,
        feeds: &[FeedId],
    ) -> Result<Vec<FeedId>, StoreError>;
    /// `Conflict { field: "name" }` when the user has a category of that name already.
    async fn create_category(&self, user: UserId, name: &Name) -> Result<Category, StoreError>;
    /// Renames one of the user's categories, and the webhooks' and digests' filters naming it with it, in one
    /// transaction; `Conflict { field: "name" }` when the name is another's.
    async fn rename_category(&self, user: UserId, category: CategoryId, name: &Name) -> Result<Category, StoreError>;
    /// Deletes one of the user's categories; its feeds are left in none.
    async fn delete_category(&self, user: UserId, category: CategoryId) -> Result<(), StoreError>;
    /// Puts each of the user's subscriptions in the category of that name, creating the categories missing, in
    /// one transaction (an OPML import's folders); a feed the user does not follow is skipped.
    async fn set_subscription_categories(&self, user: UserId, categories: &[(FeedId, Name)]) -> Result<(), StoreError>;

    /// Up to `limit` of the user's tags named after `after`, in name order, with how many feeds carry each.
    async fn list_tags(&self, user: UserId, limit: u32, after: Option<&str>) -> Result<Vec<TagCount>, StoreError>;

    /// The unread count of each of the user's feeds and each of their categories.
    async fn counters(&self, user: UserId) -> Result<Counters, StoreError>;

    /// Marks the selected articles read, unread, starred or unstarred as `marking` asks, in one transaction of a
    /// bounded number of set-based statements (`store::bulk_mark`); answers how many articles changed state.
    async fn mark_articles(&self, user: UserId, marking: Marking, selection: &MarkSelection)
        -> Result<u64, StoreError>;

    /// The user's saved filters, in name order (at most [`MAX_SAVED_FILTERS`](crate::saved_filter::MAX_SAVED_FILTERS)).
    async fn list_saved_filters(&self, user: UserId) -> Result<Vec<SavedFilter>, StoreError>;
    /// One of the user's saved filters; `NotFound` for another user's or a deleted one.
    async fn get_saved_filter(&self, user: UserId, filter: SavedFilterId) -> Result<SavedFilter, StoreError>;
    async fn count_saved_filters(&self, user: UserId) -> Result<u64, StoreError>;
    /// `Conflict { field: "name" }` when the user has a saved filter of that name already.
    async fn create_saved_filter(
        &self,
        user: UserId,
        name: &Name,
        query: &FilterQuery,
    ) -> Result<SavedFilter, StoreError>;
    /// Renames one of the user's saved filters and/or changes its query; `NotFound`, or `Conflict { field:
    /// "name" }` when the name is another's.
    async fn update_saved_filter(
        &self,
        user: UserId,
        filter: SavedFilterId,
        edit: &SavedFilterEdit,
    ) -> Result<SavedFilter, StoreError>;
    /// Deletes one of the user's saved filters; what names it then matches nothing.
    async fn delete_saved_filter(&self, user: UserId, filter: SavedFilterId) -> Result<(), StoreError>;
    /// Which of `articles` the user's timeline with the saved filter would list, ascending: none when the
    /// filter is not (or no longer) one of theirs. Two statements per 500 ids, whatever the filter.
    async fn saved_filter_matches(
        &self,
        user: UserId,
        filter: SavedFilterId,
        articles: &[ArticleId],
    ) -> Result<Vec<ArticleId>, StoreError>;
}

/// Implements [`OrganiseStore`] for a backend's store by calling its `organise` module, as
/// [`wire_store!`](super::wiring::wire_store) does for the other traits.
#[rustfmt::skip]
macro_rules! wire_organise_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::OrganiseStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, feed_id = feed), err(level = "debug"))]
            async fn update_subscription(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
                patch: &$crate::organise::SubscriptionPatch,
            ) -> Result<$crate::domain::Subscription, $crate::store::StoreError> {
                organise::update_subscription(self, user, feed, patch).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_categories(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                after: Option<&str>,
            ) -> Result<Vec<$crate::organise::Category>, $crate::store::StoreError> {
                organise::list_categories(self, user, limit, after).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, category_id = category), err(level = "debug"))]
            async fn get_category(
                &self,
                user: $crate::domain::UserId,
                category: $crate::organise::CategoryId,
            ) -> Result<$crate::organise::Category, $crate::store::StoreError> {
                organise::get_category(self, user, category).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn find_category(
                &self,
                user: $crate::domain::UserId,
                name: &$crate::organise::Name,
            ) -> Result<Option<$crate::organise::CategoryId>, $crate::store::StoreError> {
                organise::find_category(self, user, name).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, category_id = category, feeds = feeds.len()), err(level = "debug"))]
            async fn feeds_in_category(
                &self,
                user: $crate::domain::UserId,
                category: $crate::organise::CategoryId,
                feeds: &[$crate::domain::FeedId],
            ) -> Result<Vec<$crate::domain::FeedId>, $crate::store::StoreError> {
                organise::feeds_in_category(self, user, category, feeds).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn create_category(
                &self,
                user: $crate::domain::UserId,
                name: &$crate::organise::Name,
            ) -> Result<$crate::organise::Category, $crate::store::StoreError> {
                organise::create_category(self, user, name).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, category_id = category), err(level = "debug"))]
            async fn rename_category(
                &self,
                user: $crate::domain::UserId,
                category: $crate::organise::CategoryId,
                name: &$crate::organise::Name,
            ) -> Result<$crate::organise::Category, $crate::store::StoreError> {
                organise::rename_category(self, user, category, name).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, category_id = category), err(level = "debug"))]
            async fn delete_category(
                &self,
                user: $crate::domain::UserId,
                category: $crate::organise::CategoryId,
            ) -> Result<(), $crate::store::StoreError> {
                organise::delete_category(self, user, category).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, count = categories.len()), err(level = "debug"))]
            async fn set_subscription_categories(
                &self,
                user: $crate::domain::UserId,
                categories: &[($crate::domain::FeedId, $crate::organise::Name)],
            ) -> Result<(), $crate::store::StoreError> {
                organise::set_subscription_categories(self, user, categories).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_tags(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                after: Option<&str>,
            ) -> Result<Vec<$crate::organise::TagCount>, $crate::store::StoreError> {
                organise::list_tags(self, user, limit, after).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn counters(
                &self,
                user: $crate::domain::UserId,
            ) -> Result<$crate::organise::Counters, $crate::store::StoreError> {
                organise::counters(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, feed_id = ?selection.feed_id), err(level = "debug"))]
            async fn mark_articles(
                &self,
                user: $crate::domain::UserId,
                marking: $crate::organise::Marking,
                selection: &$crate::organise::MarkSelection,
            ) -> Result<u64, $crate::store::StoreError> {
                organise::mark_articles(self, user, marking, selection).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn list_saved_filters(
                &self,
                user: $crate::domain::UserId,
            ) -> Result<Vec<$crate::saved_filter::SavedFilter>, $crate::store::StoreError> {
                saved_filters::list_saved_filters(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, filter_id = filter), err(level = "debug"))]
            async fn get_saved_filter(
                &self,
                user: $crate::domain::UserId,
                filter: $crate::saved_filter::SavedFilterId,
            ) -> Result<$crate::saved_filter::SavedFilter, $crate::store::StoreError> {
                saved_filters::get_saved_filter(self, user, filter).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn count_saved_filters(&self, user: $crate::domain::UserId) -> Result<u64, $crate::store::StoreError> {
                saved_filters::count_saved_filters(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn create_saved_filter(
                &self,
                user: $crate::domain::UserId,
                name: &$crate::organise::Name,
                query: &$crate::saved_filter::FilterQuery,
            ) -> Result<$crate::saved_filter::SavedFilter, $crate::store::StoreError> {
                saved_filters::create_saved_filter(self, user, name, query).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, filter_id = filter), err(level = "debug"))]
            async fn update_saved_filter(
                &self,
                user: $crate::domain::UserId,
                filter: $crate::saved_filter::SavedFilterId,
                edit: &$crate::saved_filter::SavedFilterEdit,
            ) -> Result<$crate::saved_filter::SavedFilter, $crate::store::StoreError> {
                saved_filters::update_saved_filter(self, user, filter, edit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, filter_id = filter), err(level = "debug"))]
            async fn delete_saved_filter(
                &self,
                user: $crate::domain::UserId,
                filter: $crate::saved_filter::SavedFilterId,
            ) -> Result<(), $crate::store::StoreError> {
                saved_filters::delete_saved_filter(self, user, filter).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, filter_id = filter, articles = articles.len()), err(level = "debug"))]
            async fn saved_filter_matches(
                &self,
                user: $crate::domain::UserId,
                filter: $crate::saved_filter::SavedFilterId,
                articles: &[$crate::domain::ArticleId],
            ) -> Result<Vec<$crate::domain::ArticleId>, $crate::store::StoreError> {
                saved_filters::saved_filter_matches(self, user, filter, articles).await
            }
        }
    };
}

pub(super) use wire_organise_store;
