//! The layer's one error type, `ApiError`: its status, its JSON body, and how store, engine and poem errors map to it.

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
use poem_openapi::Object;
use syndic_actors::engine::{Cause, EngineError};
use syndic_actors::store::StoreError;

use crate::parse_errors;

/// Every failure the HTTP layer reports. 5xx details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read: bad JSON, wrong content type, an unparsable parameter.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule; `field` names the input.
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    /// A parameter or body field poem-openapi could not read (wrong type, missing); `field` names it.
    #[error("{message}")]
    MalformedField { field: String, message: String },
    /// A parameter or body field that breaks a rule the contract states (length, bounds, pattern).
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated, but not allowed (the admin routes).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    /// Asked again too soon; `Retry-After` says when to come back.
    #[error("{message}")]
    RateLimited { message: String, retry_after_seconds: u64 },
    /// The request body is larger than its route allows.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A unique value is already taken.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// Any other client error poem reports itself (e.g. 405), kept with its status.
    #[error("{message}")]
    Http { status: StatusCode, message: String },
    /// A dependency is down; the cause is logged, with its chain, and never sent.
    #[error("unavailable")]
    Unavailable(#[source] Cause),
    /// A bug or an unexpected database error; the cause is logged, with its chain, and never sent.
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize)]
pub struct ErrorDetail {
    /// A stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// The input at fault, for `validation_failed` and `conflict`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } | ApiError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedField { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Http { status, .. } => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body the client sees: server-side details are replaced by a generic message.
    pub fn body(&self) -> ErrorBody {
        let (code, message, field) = match self {
            ApiError::BadRequest(message) => ("bad_request".to_owned(), message.clone(), None),
            ApiError::Validation { field, message } => ("validation_failed".to_owned(), message.clone(), Some(*field)),
            ApiError::MalformedField { field, message } => {
                ("bad_request".to_owned(), message.clone(), Some(field.as_str()))
            }
            ApiError::InvalidField { field, message } => {
                ("validation_failed".to_owned(), message.clone(), Some(field.as_str()))
            }
            ApiError::Unauthorized(message) => ("unauthorized".to_owned(), (*message).to_owned(), None),
            ApiError::Forbidden(message) => ("forbidden".to_owned(), (*message).to_owned(), None),
            ApiError::NotFound(message) => ("not_found".to_owned(), message.clone(), None),
            ApiError::RateLimited { message, .. } => ("rate_limited".to_owned(), message.clone(), None),
            ApiError::Conflict { field } => ("conflict".to_owned(), self.to_string(), Some(*field)),
            ApiError::PayloadTooLarge { .. } => ("payload_too_large".to_owned(), self.to_string(), None),
            ApiError::Http { status, message } => (code_for(*status), message.clone(), None),
            ApiError::Unavailable(_) => (
                "unavailable".to_owned(),
                "the service is temporarily unavailable, retry later".to_owned(),
                None,
            ),
            ApiError::Internal(_) => ("internal".to_owned(), "an internal error occurred".to_owned(), None),
        };
        ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field: field.map(str::to_owned),
            },
        }
    }

    /// Turns any error poem or poem-openapi produced (or one of ours it carries) into an `ApiError`.
    pub fn from_poem(error: poem::Error) -> Self {
        let error = match error.downcast::<ApiError>() {
            Ok(ours) => return ours,
            Err(other) => other,
        };
        if let Some(param) = error.downcast_ref::<ParseParamError>() {
            return parse_errors::from_param(param);
        }
        if let Some(path) = error.downcast_ref::<ParsePathError>() {
            return parse_errors::from_path(path);
        }
        if let Some(payload) = error.downcast_ref::<ParseRequestPayloadError>() {
            return parse_errors::from_payload(payload);
        }
        let status = error.status();
        let message = error.to_string();
        match status {
            // A wrong or missing content type is a malformed request too.
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadRequest(message),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized("a valid bearer token is required"),
            StatusCode::NOT_FOUND => ApiError::NotFound("no such route".to_owned()),
            status if status.is_server_error() => ApiError::Internal(message.into()),
            status => ApiError::Http { status, message },
        }
    }
}

/// An error and every cause under it, for the logs: `internal error: database error: connection reset`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `405 Method Not Allowed` becomes `method_not_allowed`.
fn code_for(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        let status = ApiError::status(self);
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = %chain(self), "request failed");
        }
        let mut response = poem::web::Json(self.body()).with_status(status).into_response();
        if let ApiError::RateLimited {
            retry_after_seconds, ..
        } = self
        {
            response
                .headers_mut()
                .insert(poem::http::header::RETRY_AFTER, (*retry_after_seconds).into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("no such resource".to_owned()),
            StoreError::Conflict { field } => ApiError::Conflict { field },
            StoreError::Rejected { field, reason } => ApiError::validation(field, reason),
            unavailable @ StoreError::Unavailable(_) => ApiError::Unavailable(Box::new(unavailable)),
            other @ (StoreError::Database(_) | StoreError::UnsupportedUrl(_)) => ApiError::Internal(Box::new(other)),
        }
    }
}

/// When a user with a full job queue is told to come back.
const JOBS_RETRY_AFTER_SECONDS: u64 = 30;

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Store(store) => store.into(),
            unavailable @ EngineError::Unavailable(_) => ApiError::Unavailable(Box::new(unavailable)),
            EngineError::TooManyJobs { limit } => ApiError::RateLimited {
                message: format!("at most {limit} jobs may be queued at once; wait for one to finish"),
                retry_after_seconds: JOBS_RETRY_AFTER_SECONDS,
            },
            EngineError::TooLarge { limit } => ApiError::validation(
                "async",
                format!("more than {limit} items: ask for a job with async=true"),
            ),
            EngineError::Invalid { field, message } => ApiError::validation(field, message),
        }
    }
}

/// The app's last stop: every error leaving the router is rendered in the JSON error shape.
pub async fn render(error: poem::Error) -> Response {
    ApiError::from_poem(error).as_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    async fn rendered(error: poem::Error) -> (StatusCode, Value) {
        let response = render(error).await;
        let status = response.status();
        let text = response.into_body().into_string().await.expect("body is text");
        (status, serde_json::from_str(&text).expect("body is JSON"))
    }

    async fn rendered_api(error: ApiError) -> (StatusCode, Value) {
        rendered(error.into()).await
    }

    #[tokio::test]
    async fn validation_names_the_field() {
        let (status, body) = rendered_api(ApiError::validation("username", "too short")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({"error": {"code": "validation_failed", "message": "too short", "field": "username"}})
        );
    }

    #[tokio::test]
    async fn rate_limited_is_429_with_retry_after() {
        let error = ApiError::RateLimited {
            message: "refreshed less than a minute ago".into(),
            retry_after_seconds: 42,
        };
        let response = render(error.into()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get("retry-after").unwrap(), "42");
        let text = response.into_body().into_string().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
    }

    #[tokio::test]
    async fn forbidden_is_403() {
        let (status, body) = rendered_api(ApiError::Forbidden("operators only")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body,
            json!({"error": {"code": "forbidden", "message": "operators only"}})
        );
    }

    #[tokio::test]
    async fn store_conflict_is_409_naming_the_field() {
        let (status, body) = rendered_api(StoreError::Conflict { field: "username" }.into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body,
            json!({"error": {"code": "conflict", "message": "username is already taken", "field": "username"}})
        );
    }

    #[tokio::test]
    async fn payload_too_large_is_413_naming_the_limit() {
        let (status, body) = rendered_api(ApiError::PayloadTooLarge { limit: 65536 }).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            body,
            json!({"error": {"code": "payload_too_large", "message": "the request body is larger than 65536 bytes"}})
        );
    }

    #[tokio::test]
    async fn store_not_found_is_404() {
        let (status, body) = rendered_api(StoreError::NotFound.into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no such resource"}})
        );
    }

    #[tokio::test]
    async fn unauthorized_is_401() {
        let (status, body) = rendered_api(ApiError::Unauthorized("nope")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, json!({"error": {"code": "unauthorized", "message": "nope"}}));
    }

    #[tokio::test]
    async fn database_error_is_500_and_hides_the_detail() {
        let error = StoreError::Database(sqlx::Error::Protocol("secret detail".into()));
        let (status, body) = rendered_api(error.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"error": {"code": "internal", "message": "an internal error occurred"}})
        );
    }

    #[tokio::test]
    async fn unavailable_store_and_engine_are_503_and_hide_the_detail() {
        let expected =
            json!({"error": {"code": "unavailable", "message": "the service is temporarily unavailable, retry later"}});
        let from_store: ApiError = StoreError::Unavailable(sqlx::Error::PoolTimedOut).into();
        let from_engine: ApiError = EngineError::Unavailable("actor gone".into()).into();
        for error in [from_store, from_engine] {
            let (status, body) = rendered_api(error).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body, expected);
        }
    }

    #[test]
    fn a_server_error_keeps_its_cause_for_the_logs() {
        let error: ApiError = StoreError::Database(sqlx::Error::Protocol("connection reset".into())).into();
        let logged = chain(&error);
        assert!(logged.starts_with("internal error: database error: "), "{logged}");
        assert!(logged.contains("connection reset"), "{logged}");
        let error: ApiError = EngineError::Unavailable("the actor dropped the request".into()).into();
        assert_eq!(
            chain(&error),
            "unavailable: the engine is unavailable: the actor dropped the request"
        );
    }

    #[tokio::test]
    async fn engine_store_errors_map_like_store_errors() {
        let (status, _) = rendered_api(EngineError::Store(StoreError::NotFound).into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn unknown_route_is_404_not_found() {
        let (status, body) = rendered(poem::error::NotFoundError.into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no such route"}})
        );
    }

    #[tokio::test]
    async fn wrong_method_is_405() {
        let (status, body) = rendered(poem::error::MethodNotAllowedError.into()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn unparsable_parameter_is_400_naming_it() {
        let error = poem_openapi::error::ParseParamError {
            name: "status",
            reason: r#"failed to parse "ReadStatus": Expect a valid enumeration value."#.to_owned(),
        };
        let (status, body) = rendered(error.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"error": {"code": "bad_request", "message": "status is not one of the allowed values", "field": "status"}})
        );
    }

    #[tokio::test]
    async fn wrong_content_type_is_400() {
        let error = poem_openapi::error::ContentTypeError::ExpectContentType;
        let (status, body) = rendered(error.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "bad_request");
    }

    #[tokio::test]
    async fn missing_authorization_is_401() {
        let (status, body) = rendered(poem_openapi::error::AuthorizationError.into()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"error": {"code": "unauthorized", "message": "a valid bearer token is required"}})
        );
    }

    #[tokio::test]
    async fn poem_server_errors_hide_the_detail() {
        let error = poem::Error::from_string("secret", StatusCode::BAD_GATEWAY);
        let (status, body) = rendered(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
    }
}
