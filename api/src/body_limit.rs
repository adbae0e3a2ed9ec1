//! The size cap on request bodies, per route, enforced while the body is read (never after buffering it).
//!
//! poem's `SizeLimit` only checks `Content-Length` and refuses a request without one, which would refuse
//! chunked uploads. Here a declared length over the cap is refused at once, and the body stream itself is
//! counted, so a chunked body fails as soon as it passes the cap. The handler's own read error (whatever it
//! becomes) is then replaced by `413 payload_too_large`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use poem::http::{header, Method};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};

use crate::error::ApiError;

/// The cap for a request body unless its route has its own.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Routes allowed a larger body. `POST /v1/feeds` takes up to 100 URLs of up to 2 KiB each, plus JSON.
/// `POST /v1/opml` takes a document of up to 10,000 feeds, about 300 bytes each in a real export.
const ROUTE_BODY_LIMITS: &[(Method, &str, usize)] = &[
    (Method::POST, "/v1/feeds", 256 * 1024),
    (Method::POST, "/v1/opml", 4 * 1024 * 1024),
];

/// The body cap for one request.
pub fn body_limit_for(method: &Method, path: &str) -> usize {
    ROUTE_BODY_LIMITS
        .iter()
        .find(|(route_method, route_path, _)| route_method == method && *route_path == path)
        .map_or(DEFAULT_BODY_LIMIT, |(.., limit)| *limit)
}

/// Middleware that caps request bodies by `body_limit_for`.
pub struct BodyLimit;

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> Result<Self::Output> {
        let limit = body_limit_for(request.method(), request.uri().path());
        if declared_length(&request).is_some_and(|length| length > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit }.into());
        }
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = request.take_body();
        request.set_body(capped(body, limit, exceeded.clone()));
        let outcome = self.inner.call(request).await;
        if exceeded.load(Ordering::SeqCst) {
            return Err(ApiError::PayloadTooLarge { limit }.into());
        }
        outcome.map(IntoResponse::into_response)
    }
}

/// `Content-Length`, when present and readable; hyper itself refuses a malformed one.
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The body as a stream that fails, and sets `exceeded`, once more than `limit` bytes have come in.
fn capped(body: Body, limit: usize, exceeded: Arc<AtomicBool>) -> Body {
    let mut received = 0usize;
    let stream = body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        received = received.saturating_add(chunk.len());
        if received > limit {
            exceeded.store(true, Ordering::SeqCst);
            return Err(std::io::Error::other(format!(
                "the request body is larger than {limit} bytes"
            )));
        }
        Ok(chunk)
    });
    Body::from_bytes_stream(stream)
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use poem::{handler, EndpointExt, Route};

    use super::*;

    /// Echoes the body's length, reading it the way the JSON extractor does.
    #[handler]
    async fn body_length(body: Body) -> Result<String> {
        Ok(body.into_bytes().await?.len().to_string())
    }

    fn app() -> impl Endpoint {
        Route::new()
            .at("/v1/feeds", poem::post(body_length))
            .at("/v1/auth/register", poem::post(body_length))
            .with(BodyLimit)
            .catch_all_error(crate::error::render)
    }

    /// A body sent in chunks with no `Content-Length`.
    fn chunked(size: usize) -> Body {
        let chunks = futures::stream::iter((0..size.div_ceil(1024)).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1024])));
        Body::from_bytes_stream(chunks)
    }

    async fn send(path: &str, body: Body, length: Option<usize>) -> (StatusCode, String) {
        let mut request = Request::builder().method(Method::POST).uri_str(path);
        if let Some(length) = length {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        let response = app().get_response(request.body(body)).await;
        let status = response.status();
        (status, response.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_413_without_reading() {
        let (status, body) = send("/v1/auth/register", Body::empty(), Some(DEFAULT_BODY_LIMIT + 1)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("\"payload_too_large\""), "{body}");
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_cap_is_413() {
        let (status, body) = send("/v1/auth/register", chunked(DEFAULT_BODY_LIMIT + 1024), None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("\"payload_too_large\""), "{body}");
    }

    #[tokio::test]
    async fn bodies_up_to_the_cap_pass() {
        let (status, body) = send("/v1/auth/register", chunked(DEFAULT_BODY_LIMIT), None).await;
        assert_eq!((status, body), (StatusCode::OK, DEFAULT_BODY_LIMIT.to_string()));
    }

    #[tokio::test]
    async fn subscribing_has_a_larger_cap() {
        let size = 200 * 1024;
        let (status, body) = send("/v1/feeds", chunked(size), None).await;
        assert_eq!((status, body), (StatusCode::OK, size.to_string()));
        let (status, _) = send("/v1/feeds", chunked(300 * 1024), None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
