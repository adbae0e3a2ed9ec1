//! Authentication: HS256 access tokens, API keys, and the bearer security scheme. Passwords are in `passwords`.
//!
//! An access token carries its session's id (`sid`), and every request checks that the session is still
//! there: one indexed lookup, which replaces the user lookup each request made before sessions. So revoking a
//! session (logout, a password change, theft detection) stops its access tokens at once, on every engine
//! sharing the database, with no revocation list to keep in step.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::SecurityScheme;
use syndic_actors::domain::UserId;
use syndic_actors::engine::Engine;
use syndic_actors::session::{SessionId, API_KEY_PREFIX};

use crate::error::ApiError;
use crate::failure_counts::retry_after_seconds;
use crate::token_throttle::{Token, TokenThrottle};
use crate::users::client_address;
use crate::ApiConfig;

const INVALID_TOKEN: &str = "the bearer token is missing, invalid or expired";

/// How far the clocks of the issuer and the verifier may disagree, for `exp`, `nbf` and `iat`.
pub const CLOCK_LEEWAY_SECONDS: u64 = 5;

/// The bearer token of a request, checked: an access token of a live session, or an API key. It yields the id of
/// the user it stands for.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearer",
    ty = "bearer",
    bearer_format = "JWT, or an API key starting with syk_",
    checker = "authenticate"
)]
pub struct BearerAuth(pub UserId);

async fn authenticate(request: &Request, bearer: Bearer) -> poem::Result<UserId> {
    check_token(request, &bearer.token).await
}

/// The token in `?access_token=`, for clients that cannot set a header (a browser's `EventSource`); only the
/// event stream accepts it. The request log never records query strings.
#[derive(SecurityScheme)]
#[oai(
    rename = "access_token",
    ty = "api_key",
    key_in = "query",
    key_name = "access_token",
    checker = "authenticate_query"
)]
pub struct QueryTokenAuth(pub UserId);

async fn authenticate_query(request: &Request, key: ApiKey) -> poem::Result<UserId> {
    check_token(request, &key.key).await
}

/// The event stream's authentication: the bearer header, or the query token.
#[derive(SecurityScheme)]
pub enum StreamAuth {
    Bearer(BearerAuth),
    Query(QueryTokenAuth),
}

impl StreamAuth {
    pub fn user(&self) -> UserId {
        match self {
            StreamAuth::Bearer(BearerAuth(user)) | StreamAuth::Query(QueryTokenAuth(user)) => *user,
        }
    }
}

async fn check_token(request: &Request, token: &str) -> poem::Result<UserId> {
    let config = request
        .data::<ApiConfig>()
        .ok_or_else(|| ApiError::Internal("ApiConfig is not attached to the app".into()))?;
    // Without an engine (the routing tests) no handler can run anyway: each asks for the engine and fails.
    let engine = request.data::<Engine>();
    if token.starts_with(API_KEY_PREFIX) {
        return check_api_key(request, config, engine, token).await;
    }
    // A signature check, with no I/O: a flood of made-up tokens costs one HMAC each and touches no store.
    let access = verify_token(&config.jwt_secret, token, chrono::Utc::now().timestamp())?;
    if let Some(engine) = engine {
        // Deleting a user deletes their sessions: this also refuses a deleted user's tokens.
        if !engine
            .session_exists(access.user, access.session)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::Unauthorized("the session has ended: sign in again").into());
        }
    }
    Ok(access.user)
}

/// An API key costs a store lookup, so an address that keeps presenting bad ones is refused for a while
/// (`token_throttle`) before its next one is looked up; a key that cannot be one of ours is not looked up.
async fn check_api_key(
    request: &Request,
    config: &ApiConfig,
    engine: Option<&Engine>,
    key: &str,
) -> poem::Result<UserId> {
    let throttle = request.data::<TokenThrottle>();
    let address = client_address(request, config.trust_forwarded_for);
    if let Some(throttle) = throttle {
        throttle
            .check(Token::ApiKey, address)
            .map_err(|wait| ApiError::RateLimited {
                message: "too many bad API keys from this address; retry later".to_owned(),
                retry_after_seconds: retry_after_seconds(wait),
            })?;
    }
    let user = match engine {
        Some(engine) if could_be_api_key(key) => engine.api_key_user(key).await.map_err(ApiError::from)?,
        _ => None,
    };
    match user {
        Some(user) => Ok(user),
        None => {
            if let Some(throttle) = throttle {
                throttle.failed(Token::ApiKey, address);
            }
            Err(ApiError::Unauthorized(INVALID_TOKEN).into())
        }
    }
}

/// Whether `key` has the shape of the keys we issue: the prefix, then 43 URL-safe base64 characters.
fn could_be_api_key(key: &str) -> bool {
    key.strip_prefix(API_KEY_PREFIX).is_some_and(|secret| {
        secret.len() == 43
            && secret
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    })
}

/// The session of the request's bearer token, when it is an access token (an API key has none). Call it in a
/// handler that `BearerAuth` already let through.
pub fn current_session(request: &Request, config: &ApiConfig) -> Option<SessionId> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    verify_token(&config.jwt_secret, token.trim(), chrono::Utc::now().timestamp())
        .ok()
        .map(|access| access.session)
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub user: UserId,
    pub session: SessionId,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    /// The session the token was issued for. Tokens from before sessions have none, and are refused.
    sid: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// Issues a token for `user`'s `session`, valid from `issued_at` (Unix seconds) for `ttl`.
pub fn issue_token(
    secret: &str,
    user: UserId,
    session: SessionId,
    issued_at: i64,
    ttl: Duration,
) -> Result<String, ApiError> {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        sub: user.to_string(),
        sid: session.to_string(),
        iat: issued_at,
        nbf: issued_at,
        exp: issued_at.saturating_add(ttl),
    };
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|error| ApiError::Internal(format!("cannot sign a token: {error}").into()))
}

/// Checks a token's signature (HS256 only), `exp`, `nbf` and `iat` against `now` (Unix seconds) with a small
/// leeway, and returns the user and session it was issued to.
pub fn verify_token(secret: &str, token: &str, now: i64) -> Result<Access, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = CLOCK_LEEWAY_SECONDS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub"]);
    let key = DecodingKey::from_secret(secret.as_bytes());
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))?;
    let claims = data.claims;
    let leeway = CLOCK_LEEWAY_SECONDS as i64;
    // jsonwebtoken reads the system clock itself; these also hold against the `now` given, and `iat` has no
    // check of its own there: a token issued in the future was not issued by us.
    if claims.exp < now - leeway || claims.nbf > now + leeway || claims.iat > now + leeway {
        return Err(ApiError::Unauthorized(INVALID_TOKEN));
    }
    let user = UserId::parse_str(&claims.sub).map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))?;
    let session = SessionId::parse_str(&claims.sid).map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))?;
    Ok(Access { user, session })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test secret";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn signed(claims: &serde_json::Value) -> String {
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("signs")
    }

    fn rejected(result: Result<Access, ApiError>) -> bool {
        matches!(result, Err(ApiError::Unauthorized(_)))
    }

    #[test]
    fn a_token_verifies_to_its_user() {
        let user = UserId::new_v4();
        let session = SessionId::new_v4();
        let token = issue_token(SECRET, user, session, now(), Duration::from_secs(60)).expect("signs");
        assert_eq!(
            verify_token(SECRET, &token, now()).expect("verifies"),
            Access { user, session }
        );
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let token = issue_token(
            SECRET,
            UserId::new_v4(),
            SessionId::new_v4(),
            now() - 7200,
            Duration::from_secs(3600),
        )
        .expect("signs");
        assert!(rejected(verify_token(SECRET, &token, now())));
    }

    #[test]
    fn expiry_has_a_small_leeway_and_no_more() {
        let token = issue_token(
            SECRET,
            UserId::new_v4(),
            SessionId::new_v4(),
            now() - 62,
            Duration::from_secs(60),
        )
        .expect("signs");
        assert!(
            verify_token(SECRET, &token, now()).is_ok(),
            "2 s past exp is within the leeway"
        );
        let token = issue_token(
            SECRET,
            UserId::new_v4(),
            SessionId::new_v4(),
            now() - 70,
            Duration::from_secs(60),
        )
        .expect("signs");
        assert!(rejected(verify_token(SECRET, &token, now())), "10 s past exp is not");
    }

    #[test]
    fn a_token_not_valid_yet_is_rejected() {
        let user = UserId::new_v4();
        let claims = serde_json::json!({"sub": user.to_string(), "sid": SessionId::new_v4().to_string(), "iat": now(), "nbf": now() + 60, "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&claims), now())));
        let claims = serde_json::json!({"sub": user.to_string(), "sid": SessionId::new_v4().to_string(), "iat": now(), "nbf": now() + 3, "exp": now() + 600});
        assert!(
            verify_token(SECRET, &signed(&claims), now()).is_ok(),
            "within the leeway"
        );
    }

    #[test]
    fn a_token_issued_in_the_future_is_rejected() {
        let user = UserId::new_v4();
        let claims = serde_json::json!({"sub": user.to_string(), "sid": SessionId::new_v4().to_string(), "iat": now() + 60, "nbf": now(), "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&claims), now())));
    }

    #[test]
    fn a_token_without_nbf_or_iat_is_rejected() {
        let user = UserId::new_v4().to_string();
        let without_nbf =
            serde_json::json!({"sub": user, "sid": SessionId::new_v4().to_string(), "iat": now(), "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&without_nbf), now())));
        let without_iat =
            serde_json::json!({"sub": user, "sid": SessionId::new_v4().to_string(), "nbf": now(), "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&without_iat), now())));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let token = issue_token(
            "other secret",
            UserId::new_v4(),
            SessionId::new_v4(),
            now(),
            Duration::from_secs(60),
        )
        .expect("signs");
        assert!(rejected(verify_token(SECRET, &token, now())));
    }

    #[test]
    fn an_unsigned_token_is_rejected() {
        use base64::Engine as _;
        let encode =
            |value: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
        let user = UserId::new_v4().to_string();
        let header = encode(serde_json::json!({"alg": "none", "typ": "JWT"}));
        let payload = encode(
            serde_json::json!({"sub": user, "sid": SessionId::new_v4().to_string(), "iat": now(), "nbf": now(), "exp": now() + 600}),
        );
        assert!(rejected(verify_token(SECRET, &format!("{header}.{payload}."), now())));
    }

    #[test]
    fn a_token_without_a_session_is_rejected() {
        let user = UserId::new_v4().to_string();
        let before_sessions = serde_json::json!({"sub": user, "iat": now(), "nbf": now(), "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&before_sessions), now())));
        let not_a_session =
            serde_json::json!({"sub": user, "sid": "x", "iat": now(), "nbf": now(), "exp": now() + 600});
        assert!(rejected(verify_token(SECRET, &signed(&not_a_session), now())));
    }

    #[test]
    fn only_keys_of_our_shape_are_looked_up() {
        let key = syndic_actors::session::new_api_key().expect("the OS has randomness");
        assert!(could_be_api_key(&key));
        assert!(!could_be_api_key("syk_"));
        assert!(!could_be_api_key(&format!("{key}x")));
        assert!(!could_be_api_key(&key.replace(&key[10..11], "!")));
        assert!(!could_be_api_key(&"syk_é".repeat(20)));
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(rejected(verify_token(SECRET, "not.a.token", now())));
        assert!(rejected(verify_token(SECRET, "", now())));
    }

    #[test]
    fn a_token_whose_subject_is_not_a_uuid_is_rejected() {
        let claims = serde_json::json!({"sub": "admin", "sid": SessionId::new_v4().to_string(), "iat": now(), "nbf": now(), "exp": now() + 60});
        assert!(rejected(verify_token(SECRET, &signed(&claims), now())));
    }
}
