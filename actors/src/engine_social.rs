//! The engine's door for profiles, friends and user search.

use crate::domain::UserId;
use crate::engine::Engine;
use crate::social::{
    FriendRequest, OwnProfile, Profile, ProfilePatch, ProfileRecord, RequestDirection, RequestOutcome,
};
use crate::store::StoreError;

fn as_seen(records: Vec<ProfileRecord>) -> Vec<Profile> {
    records.into_iter().map(ProfileRecord::as_seen).collect()
}

impl Engine {
    pub async fn update_profile(&self, user: UserId, patch: &ProfilePatch) -> Result<OwnProfile, StoreError> {
        self.social_store().update_profile(user, patch).await
    }

    /// The profile of the user named `username`, as `viewer` may see it.
    pub async fn profile(&self, viewer: UserId, username: &str) -> Result<Profile, StoreError> {
        Ok(self.social_store().profile(viewer, username).await?.as_seen())
    }

    /// Users whose username or visible display name holds `query`, best matches first, as `viewer` may see them.
    pub async fn search_users(&self, viewer: UserId, query: &str, limit: u32) -> Result<Vec<Profile>, StoreError> {
        Ok(as_seen(self.social_store().search_users(viewer, query, limit).await?))
    }

    pub async fn send_friend_request(&self, user: UserId, username: &str) -> Result<RequestOutcome, StoreError> {
        self.social_store().send_friend_request(user, username).await
    }

    pub async fn accept_friend_request(&self, user: UserId, username: &str) -> Result<(), StoreError> {
        self.social_store().accept_friend_request(user, username).await
    }

    pub async fn delete_friend_request(&self, user: UserId, username: &str) -> Result<(), StoreError> {
        self.social_store().delete_friend_request(user, username).await
    }

    pub async fn unfriend(&self, user: UserId, username: &str) -> Result<(), StoreError> {
        self.social_store().unfriend(user, username).await
    }

    /// The user's pending requests in `direction`, each with the other side's profile as the user may see it.
    pub async fn list_friend_requests(
        &self,
        user: UserId,
        direction: RequestDirection,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<(Profile, chrono::DateTime<chrono::Utc>)>, StoreError> {
        let requests = self
            .social_store()
            .list_friend_requests(user, direction, limit, after)
            .await?;
        Ok(requests
            .into_iter()
            .map(|FriendRequest { profile, created_at }| (profile.as_seen(), created_at))
            .collect())
    }

    pub async fn list_friends(
        &self,
        user: UserId,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Vec<Profile>, StoreError> {
        Ok(as_seen(self.social_store().list_friends(user, limit, after).await?))
    }

    pub async fn mutual_friends(&self, user: UserId, username: &str) -> Result<Vec<Profile>, StoreError> {
        Ok(as_seen(self.social_store().mutual_friends(user, username).await?))
    }
}
