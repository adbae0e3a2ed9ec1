//! What sign-in, the session and API key routes and account deletion ask of the store: sessions and the
//! rotation of their refresh tokens, the checks behind every bearer token, API keys, password changes and
//! deleting an account.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::UserId;
use crate::session::{ApiKey, ApiKeyId, NewApiKey, NewSession, Rotation, RotationOutcome, Session, SessionId};

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a session and its first refresh token. In the same transaction, the user's expired sessions go,
    /// and the oldest ones beyond `cap` (the new one counted).
    async fn create_session(&self, session: &NewSession, cap: i64) -> Result<(), StoreError>;
    /// Spends a refresh token for the next one, once: of two refreshes with one token, one rotates and the other
    /// is a reuse. A reuse deletes the session, with every token it handed out.
    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError>;
    /// Whether the user's session is still there: the check behind every access token.
    async fn session_exists(&self, user: UserId, session: SessionId) -> Result<bool, StoreError>;
    /// The user's live sessions, oldest first (at most the cap, so one page).
    async fn list_sessions(&self, user: UserId) -> Result<Vec<Session>, StoreError>;
    /// Deletes one of the user's sessions; `NotFound` when the user has no such session.
    async fn delete_session(&self, user: UserId, session: SessionId) -> Result<(), StoreError>;
    /// Stores a new password hash and, in the same transaction, deletes every session of the user but `keep`.
    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: Option<SessionId>,
    ) -> Result<(), StoreError>;

    /// Stores an API key; `Rejected` naming `name` when the user holds `limit` keys already.
    async fn create_api_key(&self, key: &NewApiKey, limit: i64) -> Result<ApiKey, StoreError>;
    /// Up to `limit` of the user's API keys with an id below `before`, newest first.
    async fn list_api_keys(
        &self,
        user: UserId,
        limit: u32,
        before: Option<ApiKeyId>,
    ) -> Result<Vec<ApiKey>, StoreError>;
    /// Deletes one of the user's API keys; `NotFound` for another user's.
    async fn delete_api_key(&self, user: UserId, key: ApiKeyId) -> Result<(), StoreError>;
    /// The user an API key belongs to, by its hash; records `at` as the key's last use unless the recorded one is
    /// at or after `recorded_since`, so most uses only read.
    async fn use_api_key(
        &self,
        key_hash: &str,
        at: DateTime<Utc>,
        recorded_since: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Deletes the user and, through the schema's cascades, everything they own.
    async fn delete_user(&self, user: UserId) -> Result<(), StoreError>;
}

/// Implements [`SessionStore`] for a backend's store by calling its `sessions` module, as
/// [`wire_store!`](super::wiring::wire_store) does for the other traits.
#[rustfmt::skip]
macro_rules! wire_session_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SessionStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %session.user_id), err(level = "debug"))]
            async fn create_session(
                &self,
                session: &$crate::session::NewSession,
                cap: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sessions::create_session(self, session, cap).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn rotate_refresh_token(
                &self,
                rotation: &$crate::session::Rotation,
            ) -> Result<$crate::session::RotationOutcome, $crate::store::StoreError> {
                sessions::rotate_refresh_token(self, rotation).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn session_exists(
                &self,
                user: $crate::domain::UserId,
                session: $crate::session::SessionId,
            ) -> Result<bool, $crate::store::StoreError> {
                sessions::session_exists(self, user, session).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn list_sessions(
                &self,
                user: $crate::domain::UserId,
            ) -> Result<Vec<$crate::session::Session>, $crate::store::StoreError> {
                sessions::list_sessions(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn delete_session(
                &self,
                user: $crate::domain::UserId,
                session: $crate::session::SessionId,
            ) -> Result<(), $crate::store::StoreError> {
                sessions::delete_session(self, user, session).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn change_password(
                &self,
                user: $crate::domain::UserId,
                password_hash: &str,
                keep: Option<$crate::session::SessionId>,
            ) -> Result<(), $crate::store::StoreError> {
                sessions::change_password(self, user, password_hash, keep).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %key.user_id), err(level = "debug"))]
            async fn create_api_key(
                &self,
                key: &$crate::session::NewApiKey,
                limit: i64,
            ) -> Result<$crate::session::ApiKey, $crate::store::StoreError> {
                sessions::create_api_key(self, key, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_api_keys(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                before: Option<$crate::session::ApiKeyId>,
            ) -> Result<Vec<$crate::session::ApiKey>, $crate::store::StoreError> {
                sessions::list_api_keys(self, user, limit, before).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, api_key_id = key), err(level = "debug"))]
            async fn delete_api_key(
                &self,
                user: $crate::domain::UserId,
                key: $crate::session::ApiKeyId,
            ) -> Result<(), $crate::store::StoreError> {
                sessions::delete_api_key(self, user, key).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn use_api_key(
                &self,
                key_hash: &str,
                at: ::chrono::DateTime<::chrono::Utc>,
                recorded_since: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Option<$crate::domain::UserId>, $crate::store::StoreError> {
                sessions::use_api_key(self, key_hash, at, recorded_since).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn delete_user(&self, user: $crate::domain::UserId) -> Result<(), $crate::store::StoreError> {
                sessions::delete_user(self, user).await
            }
        }
    };
}

pub(super) use wire_session_store;
