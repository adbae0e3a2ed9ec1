//! Sessions: `POST /v1/auth/refresh`, `POST /v1/auth/logout`, `GET /v1/sessions`, `DELETE /v1/sessions/{id}`,
//! and the token pair that login and refresh hand out.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::engine_sessions::IssuedSession;
use syndic_actors::session::{ClientInfo, Session, SessionId};

use crate::auth::{current_session, issue_token, BearerAuth};
use crate::error::ApiError;
use crate::error_responses::{Authenticated, ById, Failure, Logout, RefreshSession};
use crate::failure_counts::retry_after_seconds;
use crate::token_throttle::{Token, TokenThrottle};
use crate::users::{client_address, TokenBody, TokenType};
use crate::{ApiConfig, ApiTags};

/// The longest user agent kept with a session.
const USER_AGENT_MAX: usize = 256;

pub struct SessionsApi;

#[derive(Debug, Object)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh; each works once.
    #[oai(deserialize_with = "crate::strict_json::refresh_token", validator(max_length = 256))]
    pub refresh_token: String,
}

#[derive(Debug, Object)]
#[oai(rename = "Session")]
pub struct SessionBody {
    pub id: SessionId,
    pub created_at: DateTime<Utc>,
    /// The sign-in or the last refresh (every 15 minutes or so while the client is active).
    pub last_used_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub user_agent: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub ip: Option<String>,
    /// Whether this is the session of the token that asked.
    pub current: bool,
}

#[derive(Debug, Object)]
#[oai(rename = "Sessions")]
pub struct SessionsBody {
    /// Oldest first; at most 5, so there is no next page.
    pub sessions: Vec<SessionBody>,
}

#[derive(ApiResponse)]
pub enum RevokedResponse {
    /// The session is revoked: its refresh token and its access tokens no longer work.
    #[oai(status = 204)]
    Revoked,
}

/// Where a sign-in or refresh comes from, as the session list shows it.
pub(crate) fn client_info(request: &Request, config: &ApiConfig) -> ClientInfo {
    let user_agent = request
        .headers()
        .get("user-agent")
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(USER_AGENT_MAX).collect::<String>());
    ClientInfo {
        user_agent,
        ip: Some(client_address(request, config.trust_forwarded_for).to_string()),
    }
}

/// The access token for a session, with its refresh token.
pub(crate) fn token_pair(config: &ApiConfig, issued: IssuedSession) -> Result<TokenBody, ApiError> {
    let access_token = issue_token(
        &config.jwt_secret,
        issued.user,
        issued.session,
        Utc::now().timestamp(),
        config.token_ttl,
    )?;
    Ok(TokenBody {
        access_token,
        token_type: TokenType::Bearer,
        expires_in: config.token_ttl.as_secs(),
        refresh_token: issued.refresh_token,
    })
}

fn session_body(session: Session, current: Option<SessionId>) -> SessionBody {
    SessionBody {
        current: current == Some(session.id),
        id: session.id,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        user_agent: session.user_agent,
        ip: session.ip,
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl SessionsApi {
    /// Exchanges a refresh token for a new access token and a new refresh token. Each refresh token works once:
    /// presenting one again revokes its whole session, as only a stolen copy would be presented twice. An
    /// address that keeps presenting refresh tokens that do not work gets a 429 with `Retry-After` for a while.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh_session")]
    async fn refresh(
        &self,
        body: Json<RefreshRequest>,
        http: &Request,
        config: Data<&ApiConfig>,
        throttle: Data<&TokenThrottle>,
        engine: Data<&Engine>,
    ) -> Result<Json<TokenBody>, Failure<RefreshSession>> {
        let address = client_address(http, config.trust_forwarded_for);
        throttle
            .check(Token::RefreshToken, address)
            .map_err(|wait| ApiError::RateLimited {
                message: "too many bad refresh tokens from this address; retry later".to_owned(),
                retry_after_seconds: retry_after_seconds(wait),
            })?;
        let client = client_info(http, &config);
        match engine
            .refresh_session(&body.0.refresh_token, client, config.session_ttl)
            .await?
        {
            Some(issued) => Ok(Json(token_pair(&config, issued)?)),
            None => {
                throttle.failed(Token::RefreshToken, address);
                Err(ApiError::Unauthorized("the refresh token is invalid, expired or already used").into())
            }
        }
    }

    /// Revokes the session of the access token that asks. An API key has no session: delete the key instead.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        auth: BearerAuth,
        http: &Request,
        config: Data<&ApiConfig>,
        engine: Data<&Engine>,
    ) -> Result<RevokedResponse, Failure<Logout>> {
        let Some(session) = current_session(http, &config) else {
            return Err(ApiError::Forbidden("an API key has no session to log out of: delete the key instead").into());
        };
        engine.revoke_session(auth.0, session).await?;
        Ok(RevokedResponse::Revoked)
    }

    /// The user's sessions: when each started and was last refreshed, and from where.
    #[oai(path = "/sessions", method = "get", operation_id = "list_sessions")]
    async fn list(
        &self,
        auth: BearerAuth,
        http: &Request,
        config: Data<&ApiConfig>,
        engine: Data<&Engine>,
    ) -> Result<Json<SessionsBody>, Failure<Authenticated>> {
        let current = current_session(http, &config);
        let sessions = engine.list_sessions(auth.0).await?;
        Ok(Json(SessionsBody {
            sessions: sessions
                .into_iter()
                .map(|session| session_body(session, current))
                .collect(),
        }))
    }

    /// Revokes one of the user's sessions, the current one included.
    #[oai(path = "/sessions/:id", method = "delete", operation_id = "revoke_session")]
    async fn revoke(
        &self,
        auth: BearerAuth,
        /// The session's id.
        id: Path<SessionId>,
        engine: Data<&Engine>,
    ) -> Result<RevokedResponse, Failure<ById>> {
        engine.revoke_session(auth.0, id.0).await?;
        Ok(RevokedResponse::Revoked)
    }
}
