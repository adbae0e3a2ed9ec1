//! What the icon finder and the icon route ask of the store: whether a feed's icon was looked for, recording
//! what was found (or that nothing was), and a subscriber's read of it.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{FeedIcon, FeedId, UserId};

#[async_trait]
pub trait IconStore: Send + Sync + 'static {
    /// Whether the feed's icon was looked for already, found or not.
    async fn icon_looked_for(&self, feed: FeedId) -> Result<bool, StoreError>;
    /// Records the feed's icon, or (`None`) that it has none; replaces what was recorded.
    async fn record_feed_icon(&self, feed: FeedId, icon: Option<&FeedIcon>) -> Result<(), StoreError>;
    /// The icon of a feed the user is subscribed to; `NotFound` when they are not, or it has none.
    async fn feed_icon(&self, user: UserId, feed: FeedId) -> Result<FeedIcon, StoreError>;
}

/// Implements [`IconStore`] for a backend's store by calling its `icons` module, as
/// [`wire_store!`](super::wiring::wire_store) does for the other traits.
#[rustfmt::skip]
macro_rules! wire_icon_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::IconStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(feed_id = feed), err(level = "debug"))]
            async fn icon_looked_for(
                &self,
                feed: $crate::domain::FeedId,
            ) -> Result<bool, $crate::store::StoreError> {
                icons::icon_looked_for(self, feed).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(feed_id = feed, found = icon.is_some()), err(level = "debug"))]
            async fn record_feed_icon(
                &self,
                feed: $crate::domain::FeedId,
                icon: Option<&$crate::domain::FeedIcon>,
            ) -> Result<(), $crate::store::StoreError> {
                icons::record_feed_icon(self, feed, icon).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, feed_id = feed), err(level = "debug"))]
            async fn feed_icon(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
            ) -> Result<$crate::domain::FeedIcon, $crate::store::StoreError> {
                icons::feed_icon(self, user, feed).await
            }
        }
    };
}

pub(super) use wire_icon_store;
