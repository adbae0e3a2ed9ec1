//! The engine's door for sessions and account security: signing in and refreshing, the checks behind bearer
//! tokens and API keys, listing and revoking sessions, changing a password, API keys, and deleting an account.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::{SubscriptionCursor, UserId};
use crate::engine::{Engine, EngineError};
use crate::session::{
    new_api_key, new_secret, secret_hash, ApiKey, ApiKeyId, ClientInfo, NewApiKey, NewSession, Rotation,
    RotationOutcome, Session, SessionId, API_KEY_USE_PRECISION, MAX_API_KEYS_PER_USER, MAX_SESSIONS_PER_USER,
};
use crate::store::StoreError;

/// How many subscriptions account deletion reads at once.
const DELETION_PAGE: u32 = 200;

/// A session just started or refreshed: its id, its user, and the refresh token to hand to the client.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub session: SessionId,
    pub user: UserId,
    pub refresh_token: String,
}

/// An API key just created: what is listed, and the key itself, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

fn no_randomness(error: rand::rand_core::OsError) -> EngineError {
    EngineError::Unavailable(Box::new(error))
}

fn until(now: DateTime<Utc>, lifetime: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::days(3650))
}

impl Engine {
    /// Starts a session for a user who just proved their password; the user's oldest sessions beyond the cap end.
    pub async fn start_session(
        &self,
        user: UserId,
        client: ClientInfo,
        lifetime: Duration,
    ) -> Result<IssuedSession, EngineError> {
        let refresh_token = new_secret().map_err(no_randomness)?;
        let now = Utc::now();
        let session = NewSession {
            id: SessionId::new_v4(),
            user_id: user,
            refresh_hash: secret_hash(&refresh_token),
            now,
            expires_at: until(now, lifetime),
            client,
        };
        self.session_store()
            .create_session(&session, MAX_SESSIONS_PER_USER)
            .await?;
        Ok(IssuedSession {
            session: session.id,
            user,
            refresh_token,
        })
    }

    /// Exchanges a refresh token for the next one. `None` when the token stands for no live session; a token
    /// that was rotated already ends its session too, since someone else holds a copy.
    pub async fn refresh_session(
        &self,
        refresh_token: &str,
        client: ClientInfo,
        lifetime: Duration,
    ) -> Result<Option<IssuedSession>, EngineError> {
        let next = new_secret().map_err(no_randomness)?;
        let now = Utc::now();
        let rotation = Rotation {
            presented_hash: secret_hash(refresh_token),
            next_hash: secret_hash(&next),
            now,
            expires_at: until(now, lifetime),
            client,
        };
        match self.session_store().rotate_refresh_token(&rotation).await? {
            RotationOutcome::Rotated { session, user } => Ok(Some(IssuedSession {
                session,
                user,
                refresh_token: next,
            })),
            RotationOutcome::Reused => {
                tracing::warn!("a rotated refresh token was presented again: its session is revoked");
                Ok(None)
            }
            RotationOutcome::Unknown => Ok(None),
        }
    }

    /// Whether the user's session is still live: the check behind every access token.
    pub async fn session_exists(&self, user: UserId, session: SessionId) -> Result<bool, StoreError> {
        self.session_store().session_exists(user, session).await
    }

    /// The user's live sessions, oldest first.
    pub async fn list_sessions(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.session_store().list_sessions(user).await
    }

    /// Ends one of the user's sessions: its refresh token stops at once, its access tokens at their next request.
    pub async fn revoke_session(&self, user: UserId, session: SessionId) -> Result<(), StoreError> {
        self.session_store().delete_session(user, session).await
    }

    /// Stores a new password hash and ends every session of the user but `keep`.
    pub async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: Option<SessionId>,
    ) -> Result<(), StoreError> {
        self.session_store().change_password(user, password_hash, keep).await
    }

    /// Creates a named API key for the user.
    pub async fn create_api_key(&self, user: UserId, name: String) -> Result<CreatedApiKey, EngineError> {
        let secret = new_api_key().map_err(no_randomness)?;
        let key = NewApiKey {
            user_id: user,
            name,
            key_hash: secret_hash(&secret),
        };
        let key = self.session_store().create_api_key(&key, MAX_API_KEYS_PER_USER).await?;
        Ok(CreatedApiKey { key, secret })
    }

    pub async fn list_api_keys(
        &self,
        user: UserId,
        limit: u32,
        before: Option<ApiKeyId>,
    ) -> Result<Vec<ApiKey>, StoreError> {
        self.session_store().list_api_keys(user, limit, before).await
    }

    pub async fn delete_api_key(&self, user: UserId, key: ApiKeyId) -> Result<(), StoreError> {
        self.session_store().delete_api_key(user, key).await
    }

    /// The user an API key belongs to, if it is one.
    pub async fn api_key_user(&self, secret: &str) -> Result<Option<UserId>, StoreError> {
        let now = Utc::now();
        self.session_store()
            .use_api_key(&secret_hash(secret), now, now - API_KEY_USE_PRECISION)
            .await
    }

    /// Deletes an account: first each subscription, through the router as an unsubscribe would, so that a feed
    /// left with no subscriber stops its actor; then the user, whose rows go with it by the schema's cascades.
    pub async fn delete_account(&self, user: UserId) -> Result<(), EngineError> {
        let mut after: Option<SubscriptionCursor> = None;
        loop {
            let page = self.list_subscriptions(user, DELETION_PAGE, after).await?;
            for subscription in &page.subscriptions {
                match self.unsubscribe(user, subscription.feed.id).await {
                    Ok(()) | Err(EngineError::Store(StoreError::NotFound)) => {}
                    Err(error) => return Err(error),
                }
            }
            match page.next_cursor {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        self.session_store().delete_user(user).await?;
        self.timeline().invalidate(user).await;
        Ok(())
    }
}
