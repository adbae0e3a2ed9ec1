//! Accounts: `POST /v1/auth/register` and `POST /v1/auth/login`.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::domain::{invite_code_hash, NewUser, Role, User, UserId};
use syndic_actors::engine::Engine;

use crate::error::ApiError;
use crate::error_responses::{Failure, Login, Register};
use crate::failure_counts::retry_after_seconds;
use crate::login_throttle::{Attempt, LoginThrottle};
use crate::passwords::Passwords;
use crate::sessions::{client_info, token_pair};
use crate::validation::{normalize_email, normalize_identifier, normalize_username, validate_password, PASSWORD_MAX};
use crate::{ApiConfig, ApiTags, Registration};

const WRONG_CREDENTIALS: &str = "wrong username or password";

pub struct UsersApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`, unique whatever their case (`Alice` and `alice` are one name).
    #[oai(
        deserialize_with = "crate::strict_json::username",
        validator(min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9_.-]*$")
    )]
    pub username: String,
    /// Private contact data, not an account key: several accounts may give the same address, and an email does not
    /// sign in. Stored NFKC-normalised, trimmed and lowercased; invisible characters and mixed-script look-alikes
    /// are refused.
    #[oai(deserialize_with = "crate::strict_json::email", validator(max_length = 254))]
    pub email: String,
    /// 8–1024 characters.
    #[oai(
        deserialize_with = "crate::strict_json::password",
        validator(min_length = 8, max_length = 1024)
    )]
    pub password: String,
    /// An invite code from `syndic admin invite`: required while registration is closed, spent on use.
    #[oai(
        skip_serializing_if_is_none,
        deserialize_with = "crate::strict_json::invite",
        validator(max_length = 64)
    )]
    #[oai(nullable)]
    pub invite: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    /// The user's username, in any case; no control characters. An email does not sign in: it fails as a wrong
    /// password does.
    #[oai(
        deserialize_with = "crate::strict_json::identifier",
        validator(max_length = 254, pattern = r"^[^\x00-\x1F\x7F]*$")
    )]
    pub identifier: String,
    #[oai(deserialize_with = "crate::strict_json::password", validator(max_length = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "User")]
pub struct UserBody {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub role: RoleBody,
    pub created_at: DateTime<Utc>,
}

/// What the user may do beyond their own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "Role", rename_all = "lowercase")]
pub enum RoleBody {
    User,
    /// May use the `/v1/admin` routes and the dashboard; granted with `syndic admin grant NAME`.
    Admin,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id,
            username: user.username,
            email: user.email,
            role: match user.role {
                Role::User => RoleBody::User,
                Role::Admin => RoleBody::Admin,
            },
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "Token")]
pub struct TokenBody {
    /// A JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    // No doc comment: poem-openapi would wrap the enum's $ref in an allOf to carry it, which generated
    // clients (openapi-python-client) cannot read back; the enum documents itself.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchanges for a new pair at `POST /v1/auth/refresh`, once; keep it secret.
    pub refresh_token: String,
}

/// How to send the token: always `Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TokenType {
    Bearer,
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl UsersApi {
    /// Creates an account. While registration is closed (the default), an `invite` is required. Only a taken
    /// username is a conflict: an email another account gave is accepted like any other, so registering tells
    /// nothing about who has an account.
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: Json<RegisterRequest>,
        config: Data<&ApiConfig>,
        passwords: Data<&Passwords>,
        engine: Data<&Engine>,
    ) -> Result<RegisterResponse, Failure<Register>> {
        let Json(request) = body;
        let username = normalize_username(&request.username)?;
        let email = normalize_email(&request.email)?;
        validate_password(&request.password)?;
        let invite_hash = match (config.registration, request.invite.as_deref().map(str::trim)) {
            (_, Some(code)) if !code.is_empty() => Some(invite_code_hash(code)),
            (Registration::Open, _) => None,
            (Registration::Closed, _) => {
                return Err(ApiError::validation(
                    "invite",
                    "registration is closed: an invite code from an operator is required",
                )
                .into())
            }
        };
        let password_hash = passwords.hash(request.password).await?;
        let new_user = NewUser {
            username,
            email,
            password_hash,
            invite_hash,
        };
        let user = engine.create_user(&new_user).await?;
        Ok(RegisterResponse::Created(Json(user.into())))
    }

    /// Exchanges a username and a password for an access token and a refresh token, starting a
    /// session (a user keeps 5; the oldest goes). Repeated failures are slowed down: a 429 with `Retry-After`
    /// says when the next attempt will be heard.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: Json<LoginRequest>,
        http: &Request,
        config: Data<&ApiConfig>,
        passwords: Data<&Passwords>,
        throttle: Data<&LoginThrottle>,
        engine: Data<&Engine>,
    ) -> Result<Json<TokenBody>, Failure<Login>> {
        let Json(request) = body;
        // No stored password is this long, and hashing it would cost more than it should.
        if request.password.chars().count() > PASSWORD_MAX {
            return Err(ApiError::Unauthorized(WRONG_CREDENTIALS).into());
        }
        let identifier = normalize_identifier(&request.identifier);
        // No account has a name with control characters (and Postgres cannot even compare a NUL): nobody to
        // look up, but the same work is done below, so the answer takes as long as for a wrong password.
        let credentials = if identifier.is_empty() || identifier.chars().any(char::is_control) {
            None
        } else {
            engine.find_credentials(&identifier).await?
        };
        let account = match &credentials {
            Some(found) => found.user.id.to_string(),
            None => format!("name:{}", identifier.to_lowercase()),
        };
        let attempt = Attempt::new(account, client_address(http, config.trust_forwarded_for));
        throttle.begin(&attempt).map_err(|wait| ApiError::RateLimited {
            message: "too many failed sign-ins; retry later".to_owned(),
            retry_after_seconds: retry_after_seconds(wait),
        })?;
        let (user, hash) = match credentials {
            Some(found) => (Some(found.user), Some(found.password_hash)),
            None => (None, None),
        };
        let verified = passwords.verify(request.password, hash).await?;
        let user = match user {
            Some(user) if verified => user,
            _ => return Err(ApiError::Unauthorized(WRONG_CREDENTIALS).into()),
        };
        throttle.succeeded(&attempt);
        let issued = engine
            .start_session(user.id, client_info(http, &config), config.session_ttl)
            .await?;
        Ok(Json(token_pair(&config, issued)?))
    }
}

/// The client's address: the connection's peer, or behind a trusted reverse proxy the last `X-Forwarded-For`
/// entry (the one that proxy appended; earlier ones are whatever the client claimed).
pub(crate) fn client_address(request: &Request, trust_forwarded_for: bool) -> IpAddr {
    let peer = request.remote_addr().as_socket_addr().map(|address| address.ip());
    let forwarded_for = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    pick_client_address(peer, forwarded_for, trust_forwarded_for)
}

fn pick_client_address(peer: Option<IpAddr>, forwarded_for: Option<&str>, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = forwarded_for
        .filter(|_| trust_forwarded_for)
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded.or(peer).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_client_unless_a_proxy_is_trusted() {
        let peer = Some(ip("192.0.2.1"));
        assert_eq!(pick_client_address(peer, Some("203.0.113.9"), false), ip("192.0.2.1"));
        let proxied = pick_client_address(Some(ip("127.0.0.1")), Some("10.9.9.9, 203.0.113.9"), true);
        assert_eq!(proxied, ip("203.0.113.9"));
        let garbage = pick_client_address(Some(ip("127.0.0.1")), Some("not an address"), true);
        assert_eq!(garbage, ip("127.0.0.1"));
        assert_eq!(pick_client_address(None, None, true), ip("0.0.0.0"));
    }
}
