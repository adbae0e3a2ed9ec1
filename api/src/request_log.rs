//! Request logging: one line per request with its method, path, status and latency, and a span around the
//! request, so that whatever the handler logs (a 5xx's cause, for one) says which request it came from.
//!
//! Only the path is logged, never the query string or headers, which can carry credentials.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

/// Runs `endpoint` for `request` inside a `request` span, and logs the outcome: 5xx as errors, 4xx at debug
/// level (clients' mistakes are not the operator's), the rest at info.
pub async fn log_request<E: Endpoint>(endpoint: E, request: Request) -> poem::Result<Response> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", %method, path = %path);
    let started = Instant::now();
    let response = async {
        match endpoint.call(request).await {
            Ok(output) => output.into_response(),
            Err(error) => error.into_response(),
        }
    }
    .instrument(span.clone())
    .await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match status {
        500.. => tracing::error!(status, latency_ms, "request failed"),
        400..=499 => tracing::debug!(status, latency_ms, "request refused"),
        _ => tracing::info!(status, latency_ms, "request"),
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use poem::http::StatusCode;
    use poem::{handler, EndpointExt, Route};

    use super::*;
    use crate::error::{self, ApiError};

    /// Captures what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[handler]
    fn fails() -> poem::Result<()> {
        Err(ApiError::Internal("the cause".into()).into())
    }

    #[handler]
    fn works() -> &'static str {
        "ok"
    }

    #[tokio::test]
    async fn each_request_is_logged_and_a_5xx_cause_says_which_request() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = Route::new()
            .at("/boom/:id", fails)
            .at("/fine", works)
            .catch_all_error(error::render)
            .around(log_request);
        let failed = app
            .get_response(Request::builder().uri_str("/boom/7?access_token=secret").finish())
            .await;
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fine = app.get_response(Request::builder().uri_str("/fine").finish()).await;
        assert_eq!(fine.status(), StatusCode::OK);

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = logs.lines().collect();
        let cause = lines
            .iter()
            .find(|line| line.contains("the cause"))
            .expect("the cause is logged");
        assert!(
            cause.contains("method=GET") && cause.contains("path=/boom/7"),
            "{cause}"
        );
        let outcome = lines
            .iter()
            .find(|line| line.contains("request failed") && line.contains("latency_ms"))
            .expect("the failed request is logged");
        assert!(
            outcome.contains("status=500") && outcome.contains("path=/boom/7"),
            "{outcome}"
        );
        assert!(
            lines
                .iter()
                .any(|line| line.contains("path=/fine") && line.contains("status=200")),
            "{logs}"
        );
        assert!(!logs.contains("secret"), "the query string is never logged: {logs}");
    }
}
