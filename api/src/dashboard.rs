//! The operator dashboard at `/admin`: one static page embedded in the binary (no build step, no CDN) that
//! reads the admin API with the operator's token and refreshes itself every few seconds.

use poem::endpoint::make_sync;
use poem::{Endpoint, IntoResponse};

const PAGE: &str = include_str!("../static/admin.html");

pub fn page() -> impl Endpoint {
    make_sync(|_| {
        PAGE.with_content_type("text/html; charset=utf-8")
            .with_header("cache-control", "no-store")
            // The page loads nothing from elsewhere; say so, so an injected script could not either.
            .with_header(
                "content-security-policy",
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            )
            .into_response()
    })
}
