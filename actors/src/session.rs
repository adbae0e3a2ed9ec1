//! Sessions, refresh tokens and API keys: their values, and the secrets' making and hashing.

use chrono::{DateTime, Utc};
use sha2::Digest;

use crate::domain::UserId;

pub type SessionId = uuid::Uuid;
pub type ApiKeyId = i64;

/// How many sessions a user keeps; a sign-in beyond that ends the oldest.
pub const MAX_SESSIONS_PER_USER: i64 = 5;
/// How many API keys a user may hold.
pub const MAX_API_KEYS_PER_USER: i64 = 50;
/// What every API key starts with, so a bearer token tells a key from a JWT (which starts with `eyJ`).
pub const API_KEY_PREFIX: &str = "syk_";

/// A session as its user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    /// The sign-in or the last refresh: access tokens are checked, not recorded, so this is as fine as their
    /// lifetime.
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Where a sign-in or a refresh came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A session to store, with the hash of its first refresh token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub refresh_hash: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client: ClientInfo,
}

/// A refresh: the presented token's hash, the next token's hash, and until when the session then lasts.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub presented_hash: String,
    pub next_hash: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client: ClientInfo,
}

/// What a refresh came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The token was current: it is spent, and the next one stands for the session.
    Rotated { session: SessionId, user: UserId },
    /// The token had been rotated already: someone kept a copy. The session is revoked.
    Reused,
    /// No live session has this token (never issued, revoked, or expired).
    Unknown,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Its last use, to within [`API_KEY_USE_PRECISION`]; `None` until its first use.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// How stale an API key's recorded last use may be: a use is recorded only when the recorded one is older, so a
/// busy key costs one write per this much time.
pub const API_KEY_USE_PRECISION: chrono::Duration = chrono::Duration::minutes(1);

/// An API key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub user_id: UserId,
    pub name: String,
    pub key_hash: String,
}

/// A new secret: 32 bytes from the operating system's generator, URL-safe base64 without padding.
pub fn new_secret() -> Result<String, rand::rand_core::OsError> {
    use base64::Engine as _;
    use rand::TryRngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new API key: the prefix, then a secret.
pub fn new_api_key() -> Result<String, rand::rand_core::OsError> {
    Ok(format!("{API_KEY_PREFIX}{}", new_secret()?))
}

/// What is stored of a refresh token or an API key. They are random, so a plain SHA-256 is enough: there is
/// nothing to guess that a slow hash would protect, and it is checked on every request.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_url_safe() {
        let first = new_secret().expect("the OS has randomness");
        let second = new_secret().expect("the OS has randomness");
        assert_ne!(first, second);
        assert_eq!(first.len(), 43, "32 bytes in unpadded base64");
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn an_api_key_has_its_prefix_and_its_hash_is_not_the_key() {
        let key = new_api_key().expect("the OS has randomness");
        assert!(key.starts_with(API_KEY_PREFIX));
        let hash = secret_hash(&key);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&key[API_KEY_PREFIX.len()..]));
        assert_eq!(hash, secret_hash(&key), "the same key hashes the same");
    }
}
