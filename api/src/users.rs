//! Accounts: `POST /v1/auth/register`, `POST /v1/auth/login` and `GET /v1/me`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::domain::{NewUser, User, UserId};
use syndic_actors::engine::Engine;
use syndic_actors::store::StoreError;

use crate::auth::{hash_password_blocking, issue_token, verify_password_blocking, BearerAuth};
use crate::error::ApiError;
use crate::error_responses::{Authenticated, Failure, Login, Register};
use crate::validation::{normalize_email, validate_password, validate_username, PASSWORD_MAX};
use crate::{ApiConfig, ApiTags};

const WRONG_CREDENTIALS: &str = "wrong username, email or password";

pub struct UsersApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`.
    #[oai(
        deserialize_with = "crate::strict_json::username",
        validator(min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9_.-]*$")
    )]
    pub username: String,
    /// Stored trimmed and lowercased.
    #[oai(deserialize_with = "crate::strict_json::email", validator(max_length = 254))]
    pub email: String,
    /// 8–1024 characters.
    #[oai(
        deserialize_with = "crate::strict_json::password",
        validator(min_length = 8, max_length = 1024)
    )]
    pub password: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    /// The user's email or username; no control characters.
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
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id,
            username: user.username,
            email: user.email,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "Token")]
pub struct TokenBody {
    /// A JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl UsersApi {
    /// Creates an account.
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: Json<RegisterRequest>,
        engine: Data<&Engine>,
    ) -> Result<RegisterResponse, Failure<Register>> {
        let Json(request) = body;
        validate_username(&request.username)?;
        let email = normalize_email(&request.email)?;
        validate_password(&request.password)?;
        let password_hash = hash_password_blocking(request.password).await?;
        let new_user = NewUser {
            username: request.username,
            email,
            password_hash,
        };
        let user = engine.store().create_user(&new_user).await?;
        Ok(RegisterResponse::Created(Json(user.into())))
    }

    /// Exchanges a username or email and a password for an access token.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: Json<LoginRequest>,
        config: Data<&ApiConfig>,
        engine: Data<&Engine>,
    ) -> Result<Json<TokenBody>, Failure<Login>> {
        let Json(request) = body;
        // No stored password is this long, and hashing it would cost more than it should.
        if request.password.chars().count() > PASSWORD_MAX {
            return Err(ApiError::Unauthorized(WRONG_CREDENTIALS).into());
        }
        let credentials = engine.store().find_credentials(request.identifier.trim()).await?;
        let (user, hash) = match credentials {
            Some(found) => (Some(found.user), Some(found.password_hash)),
            None => (None, None),
        };
        let verified = verify_password_blocking(request.password, hash).await?;
        let user = match user {
            Some(user) if verified => user,
            _ => return Err(ApiError::Unauthorized(WRONG_CREDENTIALS).into()),
        };
        let access_token = issue_token(&config.jwt_secret, user.id, Utc::now().timestamp(), config.token_ttl)?;
        Ok(Json(TokenBody {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: config.token_ttl.as_secs(),
        }))
    }

    /// The account the token belongs to.
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn me(&self, auth: BearerAuth, engine: Data<&Engine>) -> Result<Json<UserBody>, Failure<Authenticated>> {
        match engine.store().get_user(auth.0).await {
            Ok(user) => Ok(Json(user.into())),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized("the token's user no longer exists").into()),
            Err(error) => Err(error.into()),
        }
    }
}
