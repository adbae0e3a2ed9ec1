//! Per-operation error responses: which error statuses each operation documents, all carrying `ErrorBody`.

use std::marker::PhantomData;

use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use syndic_actors::engine::EngineError;
use syndic_actors::store::StoreError;

use crate::error::{ApiError, ErrorBody};

/// The error statuses one operation can return, for the spec.
pub trait ErrorStatuses: Send + Sync + 'static {
    const STATUSES: &'static [u16];
}

/// An `ApiError` returned by an operation whose documented error statuses are `S`.
pub struct Failure<S: ErrorStatuses> {
    error: ApiError,
    statuses: PhantomData<S>,
}

impl<S: ErrorStatuses> From<ApiError> for Failure<S> {
    fn from(error: ApiError) -> Self {
        Failure {
            error,
            statuses: PhantomData,
        }
    }
}

impl<S: ErrorStatuses> From<StoreError> for Failure<S> {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl<S: ErrorStatuses> From<EngineError> for Failure<S> {
    fn from(error: EngineError) -> Self {
        ApiError::from(error).into()
    }
}

/// Carries the `ApiError` itself, so the app's error renderer finds it again.
impl<S: ErrorStatuses> From<Failure<S>> for poem::Error {
    fn from(failure: Failure<S>) -> Self {
        failure.error.into()
    }
}

impl<S: ErrorStatuses> ApiResponse for Failure<S> {
    fn meta() -> MetaResponses {
        let responses = S::STATUSES
            .iter()
            .map(|&status| MetaResponse {
                description: describe(status),
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: ErrorBody::schema_ref(),
                }],
                headers: headers(status),
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// The headers an error status carries: a 429 says when to come back.
fn headers(status: u16) -> Vec<MetaHeader> {
    match status {
        429 => vec![MetaHeader {
            name: "Retry-After".to_owned(),
            description: Some("Seconds to wait before asking again.".to_owned()),
            required: true,
            deprecated: false,
            schema: u64::schema_ref(),
        }],
        _ => Vec::new(),
    }
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => "Malformed request: bad JSON, wrong content type, or a parameter that cannot be parsed (`bad_request`).",
        401 => "Not authenticated: wrong credentials, or a missing, invalid or expired bearer token (`unauthorized`).",
        403 => "Authenticated, but not an operator (`forbidden`).",
        404 => "No such resource for this user (`not_found`).",
        409 => "A unique value is already taken; `field` names it (`conflict`).",
        413 => "The request body is larger than this operation allows (`payload_too_large`).",
        422 => "Well-formed but invalid input; `field` names it (`validation_failed`).",
        429 => "Too many requests (too many failed sign-ins, too many bad refresh tokens or API keys from one address, or too soon again); the `Retry-After` header says when to come back (`rate_limited`).",
        500 => "Unexpected server error; details are logged, not returned (`internal`).",
        503 => "A dependency is unavailable; retry later (`unavailable`).",
        _ => "Error.",
    }
}

macro_rules! error_statuses {
    ($($(#[$doc:meta])* $name:ident => [$($status:literal),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl ErrorStatuses for $name {
                const STATUSES: &'static [u16] = &[$($status),+];
            }
        )+
    };
}

error_statuses! {
    /// `POST /v1/auth/register`.
    Register => [400, 409, 413, 422, 429, 500, 503];
    /// `POST /v1/auth/login`.
    Login => [400, 401, 413, 422, 429, 500, 503];
    /// Authenticated operations without path, query or body input.
    Authenticated => [401, 429, 500, 503];
    /// `POST /v1/feeds`.
    Subscribe => [400, 401, 413, 422, 429, 500, 503];
    /// `POST /v1/discover`.
    Discover => [400, 401, 413, 422, 429, 500, 503];
    /// Authenticated operations on one resource by id.
    ById => [400, 401, 404, 429, 500, 503];
    /// `GET /v1/feeds`.
    ListFeeds => [400, 401, 422, 429, 500, 503];
    /// `GET /v1/articles`.
    ListArticles => [400, 401, 422, 429, 500, 503];
    /// `PATCH /v1/articles/{id}`.
    PatchArticle => [400, 401, 404, 413, 422, 429, 500, 503];
    /// `POST /v1/feeds/{id}/refresh`.
    Refresh => [400, 401, 404, 429, 500, 503];
    /// The operator routes under `/v1/admin`.
    Admin => [400, 401, 403, 422, 429, 500, 503];
    /// Operator routes on one resource by id.
    AdminById => [400, 401, 403, 404, 429, 500, 503];
    /// Starting a job: `POST /v1/opml`, `GET /v1/opml`, `POST /v1/feeds/refresh`.
    StartJob => [400, 401, 413, 422, 429, 500, 503];
    /// Acting on one job: retrying, cancelling, reading its items.
    JobAction => [400, 401, 404, 422, 429, 500, 503];
    /// `GET /v1/events`.
    Events => [400, 401, 422, 429, 500, 503];
    /// `POST /v1/timers`.
    CreateTimer => [400, 401, 413, 422, 429, 500, 503];
    /// `PATCH /v1/timers/{id}`.
    PatchTimer => [400, 401, 404, 413, 422, 429, 500, 503];
    /// `POST /v1/auth/refresh`.
    RefreshSession => [400, 401, 413, 422, 429, 500, 503];
    /// `POST /v1/auth/logout`: an API key has no session (403).
    Logout => [401, 403, 429, 500, 503];
    /// `PATCH /v1/me/password` and `DELETE /v1/me`: a wrong password is a 422, and repeated ones a 429.
    ProvePassword => [400, 401, 413, 422, 429, 500, 503];
    /// `POST /v1/api-keys`.
    CreateApiKey => [400, 401, 413, 422, 429, 500, 503];
    /// `PATCH /v1/feeds/{id}`.
    PatchFeed => [400, 401, 404, 413, 422, 429, 500, 503];
    /// `POST /v1/categories`.
    CreateCategory => [400, 401, 409, 413, 422, 429, 500, 503];
    /// `PATCH /v1/categories/{id}`.
    RenameCategory => [400, 401, 404, 409, 413, 422, 429, 500, 503];
    /// `POST /v1/filters`: a taken name is a 409, a bad query or one filter too many a 422.
    CreateSavedFilter => [400, 401, 409, 413, 422, 429, 500, 503];
    /// `PATCH /v1/filters/{id}`.
    PatchSavedFilter => [400, 401, 404, 409, 413, 422, 429, 500, 503];
    /// `POST /v1/articles/mark`.
    MarkArticles => [400, 401, 413, 422, 429, 500, 503];
    /// `GET /v1/categories`, `GET /v1/tags`, the friend listings and the user search.
    ListNamed => [400, 401, 422, 429, 500, 503];
    /// `POST /v1/friends/requests`: an unknown user is a 404, a request to yourself a 422, a repeated one a 409.
    SendFriendRequest => [400, 401, 404, 409, 413, 422, 429, 500, 503];
    /// `PATCH /v1/me`.
    PatchProfile => [400, 401, 413, 422, 429, 500, 503];
    /// `POST /v1/shares`: an article you cannot see, or a name that is no friend's, is a 422.
    CreateShare => [400, 401, 413, 422, 429, 500, 503];
    /// `POST /v1/notifications/seen`.
    MarkSeen => [400, 401, 413, 422, 429, 500, 503];
}
