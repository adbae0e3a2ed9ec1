//! What the profile, friend and user search routes ask of the store. Users are named by username, compared
//! folded; an unknown one is `NotFound`.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::UserId;
use crate::social::{FriendRequest, OwnProfile, ProfilePatch, ProfileRecord, RequestDirection, RequestOutcome};

#[async_trait]
pub trait SocialStore: Send + Sync + 'static {
    /// Applies the patch to the user's own profile and returns its settings as they are now.
    async fn update_profile(&self, user: UserId, patch: &ProfilePatch) -> Result<OwnProfile, StoreError>;
    /// The profile of the user named `username`, with where `viewer` stands with them.
    async fn profile(&self, viewer: UserId, username: &str) -> Result<ProfileRecord, StoreError>;
    /// Up to `limit` users other than `viewer` whose username, or display name where `viewer` may see it, holds
    /// `query` (any case): prefixes first, then suffixes, then the rest, each in username order.
    async fn search_users(&self, viewer: UserId, query: &str, limit: u32) -> Result<Vec<ProfileRecord>, StoreError>;

    /// Asks `username` to be the user's friend. When they had asked the user already, both become friends.
    /// `Rejected` naming `username` for the user themself; `Conflict` when they are friends or asked already.
    async fn send_friend_request(&self, user: UserId, username: &str) -> Result<RequestOutcome, StoreError>;
    /// Accepts the request `username` sent the user; `NotFound` when there is none.
    async fn accept_friend_request(&self, user: UserId, username: &str) -> Result<(), StoreError>;
    /// Deletes the pending request between the user and `username`, whichever sent it; `NotFound` when none.
    async fn delete_friend_request(&self, user: UserId, username: &str) -> Result<(), StoreError>;
    /// Ends the friendship with `username`, on both sides; `NotFound` when they are not friends.
    async fn unfriend(&self, user: UserId, username: &str) -> Result<(), StoreError>;
    /// Up to `limit` of the user's pending requests in `direction`, the other sides named after `after`, in
    /// username order.
    async fn list_friend_requests(
        &self,
        user: UserId,
        direction: RequestDirection,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<FriendRequest>, StoreError>;
    /// Up to `limit` of the user's friends named after `after` (folded), in username order.
    async fn list_friends(
        &self,
        user: UserId,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<ProfileRecord>, StoreError>;
    /// The friends the user and `username` have in common, in username order.
    async fn mutual_friends(&self, user: UserId, username: &str) -> Result<Vec<ProfileRecord>, StoreError>;
}

/// Implements [`SocialStore`] for a backend's store by calling its `social` module, as
/// [`wire_store!`](super::wiring::wire_store) does for the other traits.
#[rustfmt::skip]
macro_rules! wire_social_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SocialStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn update_profile(
                &self,
                user: $crate::domain::UserId,
                patch: &$crate::social::ProfilePatch,
            ) -> Result<$crate::social::OwnProfile, $crate::store::StoreError> {
                social::update_profile(self, user, patch).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %viewer), err(level = "debug"))]
            async fn profile(
                &self,
                viewer: $crate::domain::UserId,
                username: &str,
            ) -> Result<$crate::social::ProfileRecord, $crate::store::StoreError> {
                social::profile(self, viewer, username).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %viewer, limit = limit), err(level = "debug"))]
            async fn search_users(
                &self,
                viewer: $crate::domain::UserId,
                query: &str,
                limit: u32,
            ) -> Result<Vec<$crate::social::ProfileRecord>, $crate::store::StoreError> {
                social::search_users(self, viewer, query, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn send_friend_request(
                &self,
                user: $crate::domain::UserId,
                username: &str,
            ) -> Result<$crate::social::RequestOutcome, $crate::store::StoreError> {
                social::send_friend_request(self, user, username).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn accept_friend_request(
                &self,
                user: $crate::domain::UserId,
                username: &str,
            ) -> Result<(), $crate::store::StoreError> {
                social::accept_friend_request(self, user, username).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn delete_friend_request(
                &self,
                user: $crate::domain::UserId,
                username: &str,
            ) -> Result<(), $crate::store::StoreError> {
                social::delete_friend_request(self, user, username).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn unfriend(
                &self,
                user: $crate::domain::UserId,
                username: &str,
            ) -> Result<(), $crate::store::StoreError> {
                social::unfriend(self, user, username).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_friend_requests(
                &self,
                user: $crate::domain::UserId,
                direction: $crate::social::RequestDirection,
                limit: u32,
                after: Option<&str>,
            ) -> Result<Vec<$crate::social::FriendRequest>, $crate::store::StoreError> {
                social::list_friend_requests(self, user, direction, limit, after).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_friends(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                after: Option<&str>,
            ) -> Result<Vec<$crate::social::ProfileRecord>, $crate::store::StoreError> {
                social::list_friends(self, user, limit, after).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn mutual_friends(
                &self,
                user: $crate::domain::UserId,
                username: &str,
            ) -> Result<Vec<$crate::social::ProfileRecord>, $crate::store::StoreError> {
                social::mutual_friends(self, user, username).await
            }
        }
    };
}

pub(super) use wire_social_store;
