//! The account: `GET /v1/me`, and, each proved with the current password, `PATCH /v1/me/password` and
//! `DELETE /v1/me`.

use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::domain::UserId;
use syndic_actors::engine::Engine;
use syndic_actors::store::StoreError;

use crate::auth::{current_session, BearerAuth};
use crate::error::ApiError;
use crate::error_responses::{Authenticated, Failure, ProvePassword};
use crate::login_throttle::{Attempt, LoginThrottle};
use crate::passwords::Passwords;
use crate::users::{client_address, UserBody};
use crate::validation::{validate_password, PASSWORD_MAX};
use crate::{ApiConfig, ApiTags};

pub struct AccountApi;

#[derive(Debug, Object)]
pub struct PasswordChangeRequest {
    /// The password in use now.
    #[oai(deserialize_with = "crate::strict_json::old_password", validator(max_length = 1024))]
    pub old_password: String,
    /// 8–1024 characters, as at registration.
    #[oai(
        deserialize_with = "crate::strict_json::new_password",
        validator(min_length = 8, max_length = 1024)
    )]
    pub new_password: String,
}

#[derive(Debug, Object)]
pub struct DeleteAccountRequest {
    /// The account's password.
    #[oai(deserialize_with = "crate::strict_json::password", validator(max_length = 1024))]
    pub password: String,
}

#[derive(ApiResponse)]
pub enum PasswordChangedResponse {
    /// The password is changed, and every other session is revoked.
    #[oai(status = 204)]
    Changed,
}

#[derive(ApiResponse)]
pub enum AccountDeletedResponse {
    /// The account and everything it owned are gone.
    #[oai(status = 204)]
    Deleted,
}

/// What checking a password needs.
struct Proof<'a> {
    request: &'a Request,
    config: &'a ApiConfig,
    passwords: &'a Passwords,
    throttle: &'a LoginThrottle,
    engine: &'a Engine,
}

/// Checks the user's password, slowed down by the login throttle like a sign-in, so a stolen access token
/// cannot be used to guess it. A wrong one is a 422 naming `field`.
async fn prove_password(proof: Proof<'_>, user: UserId, password: String, field: &'static str) -> Result<(), ApiError> {
    let Proof {
        request,
        config,
        passwords,
        throttle,
        engine,
    } = proof;
    if password.chars().count() > PASSWORD_MAX {
        return Err(ApiError::validation(field, "the password is wrong"));
    }
    let account = engine.get_user(user).await?;
    let hash = engine
        .find_credentials(&account.username)
        .await?
        .filter(|found| found.user.id == user)
        .map(|found| found.password_hash);
    let attempt = Attempt::new(user.to_string(), client_address(request, config.trust_forwarded_for));
    throttle.begin(&attempt).map_err(|wait| ApiError::RateLimited {
        message: "too many wrong passwords; retry later".to_owned(),
        retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    })?;
    if !passwords.verify(password, hash).await? {
        return Err(ApiError::validation(field, "the password is wrong"));
    }
    throttle.succeeded(&attempt);
    Ok(())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl AccountApi {
    /// The account the token belongs to.
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn me(&self, auth: BearerAuth, engine: Data<&Engine>) -> Result<Json<UserBody>, Failure<Authenticated>> {
        match engine.get_user(auth.0).await {
            Ok(user) => Ok(Json(user.into())),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized("the token's user no longer exists").into()),
            Err(error) => Err(error.into()),
        }
    }

    /// Changes the password; the old one is required. Every other session is revoked; the one asking stays.
    #[oai(path = "/me/password", method = "patch", operation_id = "change_password")]
    #[allow(clippy::too_many_arguments)]
    async fn change_password(
        &self,
        auth: BearerAuth,
        body: Json<PasswordChangeRequest>,
        http: &Request,
        config: Data<&ApiConfig>,
        passwords: Data<&Passwords>,
        throttle: Data<&LoginThrottle>,
        engine: Data<&Engine>,
    ) -> Result<PasswordChangedResponse, Failure<ProvePassword>> {
        let Json(request) = body;
        validate_password(&request.new_password).map_err(|error| match error {
            ApiError::Validation { message, .. } => ApiError::Validation {
                field: "new_password",
                message,
            },
            other => other,
        })?;
        let user = auth.0;
        let proof = Proof {
            request: http,
            config: &config,
            passwords: &passwords,
            throttle: &throttle,
            engine: &engine,
        };
        prove_password(proof, user, request.old_password, "old_password").await?;
        let hash = passwords.hash(request.new_password).await?;
        engine
            .change_password(user, &hash, current_session(http, &config))
            .await?;
        Ok(PasswordChangedResponse::Changed)
    }

    /// Deletes the account, with the password: subscriptions, read and starred state, webhooks, timers, jobs,
    /// events, sessions and API keys. A feed nobody else follows stops being polled.
    #[oai(path = "/me", method = "delete", operation_id = "delete_account")]
    #[allow(clippy::too_many_arguments)]
    async fn delete_account(
        &self,
        auth: BearerAuth,
        body: Json<DeleteAccountRequest>,
        http: &Request,
        config: Data<&ApiConfig>,
        passwords: Data<&Passwords>,
        throttle: Data<&LoginThrottle>,
        engine: Data<&Engine>,
    ) -> Result<AccountDeletedResponse, Failure<ProvePassword>> {
        let user = auth.0;
        let proof = Proof {
            request: http,
            config: &config,
            passwords: &passwords,
            throttle: &throttle,
            engine: &engine,
        };
        prove_password(proof, user, body.0.password, "password").await?;
        engine.delete_account(user).await?;
        Ok(AccountDeletedResponse::Deleted)
    }
}
