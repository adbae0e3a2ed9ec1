//! The account: `GET /v1/me`, the profile's display name and who sees what of it (`PATCH /v1/me`), and, each
//! proved with the current password, `PATCH /v1/me/password` and `DELETE /v1/me`.

use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::domain::UserId;
use syndic_actors::engine::Engine;
use syndic_actors::social::{OwnProfile, ProfilePatch, Visibility};
use syndic_actors::store::StoreError;

use crate::auth::{current_session, BearerAuth};
use crate::error::ApiError;
use crate::error_responses::{Authenticated, Failure, PatchProfile, ProvePassword};
use crate::failure_counts::retry_after_seconds;
use crate::login_throttle::{Attempt, LoginThrottle};
use crate::nullable::Nullable;
use crate::passwords::Passwords;
use crate::users::{client_address, UserBody};
use crate::validation::{validate_password, PASSWORD_MAX};
use crate::{ApiConfig, ApiTags};

const DISPLAY_NAME_MAX: usize = 64;

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

/// Who sees a profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "Visibility", rename_all = "lowercase")]
pub enum VisibilityBody {
    Everyone,
    Friends,
    Nobody,
}

impl From<VisibilityBody> for Visibility {
    fn from(visibility: VisibilityBody) -> Self {
        match visibility {
            VisibilityBody::Everyone => Visibility::Everyone,
            VisibilityBody::Friends => Visibility::Friends,
            VisibilityBody::Nobody => Visibility::Nobody,
        }
    }
}

impl From<Visibility> for VisibilityBody {
    fn from(visibility: Visibility) -> Self {
        match visibility {
            Visibility::Everyone => VisibilityBody::Everyone,
            Visibility::Friends => VisibilityBody::Friends,
            Visibility::Nobody => VisibilityBody::Nobody,
        }
    }
}

/// Who sees each profile field; a field left out keeps its setting.
#[derive(Debug, Object)]
#[oai(rename = "ProfileVisibility")]
pub struct VisibilityRequest {
    /// `everyone` by default.
    #[oai(deserialize_with = "crate::strict_json::visibility_display_name")]
    pub display_name: Option<VisibilityBody>,
    /// `friends` or `nobody` (the default): an email is never shown to everyone.
    #[oai(deserialize_with = "crate::strict_json::visibility_email")]
    pub email: Option<VisibilityBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "ProfilePatch")]
pub struct ProfilePatchRequest {
    /// 1–64 characters, trimmed; `null` clears it.
    #[oai(deserialize_with = "crate::strict_json::display_name", nullable)]
    pub display_name: MaybeUndefined<String>,
    #[oai(deserialize_with = "crate::strict_json::visibility")]
    pub visibility: Option<VisibilityRequest>,
}

/// Your profile settings.
#[derive(Debug, Object)]
#[oai(rename = "OwnProfile")]
pub struct OwnProfileBody {
    pub username: String,
    #[oai(nullable)]
    pub display_name: Nullable<String>,
    pub display_name_visibility: VisibilityBody,
    pub email_visibility: VisibilityBody,
}

impl From<OwnProfile> for OwnProfileBody {
    fn from(profile: OwnProfile) -> Self {
        OwnProfileBody {
            username: profile.username,
            display_name: profile.display_name.into(),
            display_name_visibility: profile.display_name_visibility.into(),
            email_visibility: profile.email_visibility.into(),
        }
    }
}

/// The patch a request asks for, or a 422 naming the field at fault.
fn profile_patch(request: ProfilePatchRequest) -> Result<ProfilePatch, ApiError> {
    let display_name = match request.display_name {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(name) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX || name.chars().any(char::is_control) {
                return Err(ApiError::validation(
                    "display_name",
                    "must be 1–64 characters, with no control characters",
                ));
            }
            Some(Some(name))
        }
    };
    let visibility = request.visibility;
    let email_visibility = visibility.as_ref().and_then(|visibility| visibility.email);
    if email_visibility == Some(VisibilityBody::Everyone) {
        return Err(ApiError::validation(
            "visibility.email",
            "an email is shown to friends at most: use friends or nobody",
        ));
    }
    Ok(ProfilePatch {
        display_name,
        display_name_visibility: visibility
            .as_ref()
            .and_then(|visibility| visibility.display_name)
            .map(Visibility::from),
        email_visibility: email_visibility.map(Visibility::from),
    })
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
        retry_after_seconds: retry_after_seconds(wait),
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

    /// Sets your display name and who sees each profile field.
    #[oai(path = "/me", method = "patch", operation_id = "update_profile")]
    async fn update_profile(
        &self,
        auth: BearerAuth,
        body: Json<ProfilePatchRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<OwnProfileBody>, Failure<PatchProfile>> {
        let patch = profile_patch(body.0)?;
        Ok(Json(engine.update_profile(auth.0, &patch).await?.into()))
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
