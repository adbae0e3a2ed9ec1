//! The Prometheus endpoint: one recorder for the process, served at `/metrics` on its own listener so that it
//! is never exposed with the API by accident.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::endpoint::make_sync;
use poem::{IntoResponse, Route};
use syndic_actors::instruments;

/// The process-wide recorder. Installing one is global, so every app in a process (tests start many)
/// shares it.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = [
                (instruments::POLL_DURATION, instruments::POLL_DURATION_BUCKETS),
                (instruments::FETCH_WAIT, instruments::FETCH_WAIT_BUCKETS),
                (instruments::FLUSH_DURATION, instruments::FLUSH_DURATION_BUCKETS),
                (instruments::BATCH_ROWS, instruments::BATCH_ROWS_BUCKETS),
                (
                    instruments::WEBHOOK_ATTEMPT_DURATION,
                    instruments::WEBHOOK_ATTEMPT_BUCKETS,
                ),
                (instruments::EVENT_WRITE_DURATION, instruments::EVENT_WRITE_BUCKETS),
                (instruments::EVENT_DELIVERY, instruments::EVENT_DELIVERY_BUCKETS),
            ]
            .into_iter()
            .fold(builder, |builder, (name, buckets)| {
                builder
                    .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
                    .expect("bucket lists are fixed and non-empty")
            });
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

/// `GET /metrics` in the Prometheus text format.
pub fn routes(handle: PrometheusHandle) -> Route {
    Route::new().at(
        "/metrics",
        make_sync(move |_| {
            handle
                .render()
                .with_content_type("text/plain; version=0.0.4; charset=utf-8")
                .into_response()
        }),
    )
}
