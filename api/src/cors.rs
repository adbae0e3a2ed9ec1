//! Cross-origin access for browser clients: off unless origins are listed.
//!
//! A request from a listed origin goes through poem's `Cors` (preflight answered, the allow-origin header
//! set). Any other request, with another `Origin` or none, is served as if CORS did not exist: no CORS header,
//! so the browser refuses it. poem's `Cors` alone would answer an unlisted origin with 403, which would also
//! break same-origin pages such as `/admin` and `/docs` (browsers send `Origin` on their POSTs), and with an
//! empty list it would allow every origin.

use std::collections::HashSet;
use std::sync::Arc;

use poem::http::{header, HeaderValue, Method};
use poem::middleware::{Cors, CorsEndpoint};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The origins allowed to call the API from a browser, e.g. `https://reader.example.com`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins {
    origins: HashSet<HeaderValue>,
}

/// A configured origin that is not `scheme://host[:port]`.
#[derive(Debug, thiserror::Error)]
#[error("{origin:?} is not an origin such as https://reader.example.com (scheme, host and port only)")]
pub struct InvalidOrigin {
    pub origin: String,
}

/// What a preflight may ask for: the API's methods, and its two request headers.
const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PATCH, Method::DELETE];
const REQUEST_HEADERS: [header::HeaderName; 2] = [header::AUTHORIZATION, header::CONTENT_TYPE];
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

impl CorsOrigins {
    /// Parses the configured list; blank entries are skipped, so an empty setting means CORS is off.
    pub fn parse(origins: &[String]) -> Result<CorsOrigins, InvalidOrigin> {
        let mut parsed = HashSet::new();
        for origin in origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
        {
            // Browsers send the origin without a trailing slash.
            let trimmed = origin.strip_suffix('/').unwrap_or(origin);
            let invalid = || InvalidOrigin {
                origin: origin.to_owned(),
            };
            let host = trimmed
                .strip_prefix("https://")
                .or_else(|| trimmed.strip_prefix("http://"))
                .ok_or_else(invalid)?;
            if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
                return Err(invalid());
            }
            parsed.insert(HeaderValue::from_str(trimmed).map_err(|_| invalid())?);
        }
        Ok(CorsOrigins { origins: parsed })
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    fn cors(&self) -> Cors {
        Cors::new()
            .allow_origins(self.origins.iter().cloned())
            .allow_methods(METHODS)
            .allow_headers(REQUEST_HEADERS)
            .expose_header(header::RETRY_AFTER)
            .max_age(PREFLIGHT_MAX_AGE)
    }
}

impl<E: Endpoint + 'static> Middleware<E> for CorsOrigins {
    type Output = ListedOriginsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        let inner = Arc::new(inner);
        ListedOriginsEndpoint {
            origins: self.origins.clone(),
            with_cors: self.cors().transform(inner.clone()),
            without_cors: inner,
        }
    }
}

pub struct ListedOriginsEndpoint<E> {
    origins: HashSet<HeaderValue>,
    with_cors: CorsEndpoint<Arc<E>>,
    without_cors: Arc<E>,
}

impl<E: Endpoint + 'static> Endpoint for ListedOriginsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Self::Output> {
        let listed = request
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|origin| self.origins.contains(origin));
        if listed {
            self.with_cors.call(request).await
        } else {
            self.without_cors.call(request).await.map(IntoResponse::into_response)
        }
    }
}

#[cfg(test)]
#[path = "cors_tests.rs"]
mod tests;
