//! Authentication: argon2id password hashing, HS256 access tokens, and the bearer security scheme.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use syndic_actors::domain::UserId;

use crate::error::ApiError;
use crate::ApiConfig;

/// An argon2id hash (default parameters) of a random password nobody knows. Login verifies
/// against it when the user does not exist, so that both cases cost the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$16wVbAMYMKtDCxJClAzaxw$FPtTO39C6ka9b6K4ogl6/WnU2MeAwQQl3pduYFm9/fM";

const INVALID_TOKEN: &str = "the bearer token is missing, invalid or expired";

/// The bearer token of a request, checked: it yields the id of the user it was issued to.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", bearer_format = "JWT", checker = "authenticate")]
pub struct BearerAuth(pub UserId);

async fn authenticate(request: &Request, bearer: Bearer) -> poem::Result<UserId> {
    let config = request
        .data::<ApiConfig>()
        .ok_or_else(|| ApiError::Internal("ApiConfig is not attached to the app".to_owned()))?;
    Ok(verify_token(&config.jwt_secret, &bearer.token)?)
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// Issues a token for `user`, valid from `issued_at` (Unix seconds) for `ttl`.
pub fn issue_token(secret: &str, user: UserId, issued_at: i64, ttl: Duration) -> Result<String, ApiError> {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        sub: user.to_string(),
        iat: issued_at,
        exp: issued_at.saturating_add(ttl),
    };
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|error| ApiError::Internal(format!("cannot sign a token: {error}")))
}

/// Checks the signature and expiry of a token and returns the user it was issued to.
pub fn verify_token(secret: &str, token: &str) -> Result<UserId, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let key = DecodingKey::from_secret(secret.as_bytes());
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))?;
    UserId::parse_str(&data.claims.sub).map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call through `hash_password_blocking`.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| ApiError::Internal(format!("cannot encode a salt: {error}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::Internal(format!("cannot hash a password: {error}")))
}

/// Whether `password` matches the stored hash. An unparsable hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash cannot be parsed");
            false
        }
    }
}

pub async fn hash_password_blocking(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| ApiError::Internal(format!("the hashing task failed: {error}")))?
}

/// Verifies against the user's hash, or against the dummy hash when there is no user
/// (then the answer is always `false`, after the same amount of work).
pub async fn verify_password_blocking(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, DUMMY_HASH);
            false
        }
    })
    .await
    .map_err(|error| ApiError::Internal(format!("the verification task failed: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test secret";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_verifies_to_its_user() {
        let user = UserId::new_v4();
        let token = issue_token(SECRET, user, now(), Duration::from_secs(60)).expect("signs");
        assert_eq!(verify_token(SECRET, &token).expect("verifies"), user);
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let user = UserId::new_v4();
        let token = issue_token(SECRET, user, now() - 7200, Duration::from_secs(3600)).expect("signs");
        assert!(matches!(verify_token(SECRET, &token), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_expiring_one_second_ago_is_rejected() {
        let token = issue_token(SECRET, UserId::new_v4(), now() - 61, Duration::from_secs(60)).expect("signs");
        assert!(matches!(verify_token(SECRET, &token), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let token = issue_token("other secret", UserId::new_v4(), now(), Duration::from_secs(60)).expect("signs");
        assert!(matches!(verify_token(SECRET, &token), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(matches!(
            verify_token(SECRET, "not.a.token"),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(verify_token(SECRET, ""), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_token_whose_subject_is_not_a_uuid_is_rejected() {
        let claims = Claims {
            sub: "admin".to_owned(),
            iat: now(),
            exp: now() + 60,
        };
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("signs");
        assert!(matches!(verify_token(SECRET, &token), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
    }

    #[test]
    fn the_same_password_hashes_differently() {
        assert_ne!(
            hash_password("same").expect("hashes"),
            hash_password("same").expect("hashes")
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_default_parameters() {
        let fresh = hash_password("anything").expect("hashes");
        let prefix = |hash: &str| hash.rsplitn(3, '$').last().map(str::to_owned);
        assert_eq!(prefix(DUMMY_HASH), prefix(&fresh));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn an_unparsable_hash_matches_nothing() {
        assert!(!verify_password("", "not a hash"));
    }

    #[tokio::test]
    async fn blocking_verification_without_a_user_is_false() {
        let verified = verify_password_blocking("password".to_owned(), None)
            .await
            .expect("runs");
        assert!(!verified);
    }

    #[tokio::test]
    async fn blocking_hash_then_verify() {
        let hash = hash_password_blocking("password".to_owned()).await.expect("hashes");
        let verified = verify_password_blocking("password".to_owned(), Some(hash))
            .await
            .expect("runs");
        assert!(verified);
    }
}
