//! The engine's Prometheus metrics: every name and label in one place, and the calls that record them.
//! Labels take a few fixed values only; per-feed detail goes through the admin API, never a label.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

use crate::domain::FeedStatus;

pub const POLL_DURATION: &str = "syndic_poll_duration_seconds";
pub const FETCH_WAIT: &str = "syndic_fetch_wait_seconds";
pub const FLUSH_DURATION: &str = "syndic_persistence_flush_seconds";
pub const BATCH_ROWS: &str = "syndic_persistence_batch_rows";
pub const WEBHOOK_ATTEMPT_DURATION: &str = "syndic_webhook_attempt_seconds";
pub const EVENT_WRITE_DURATION: &str = "syndic_event_write_seconds";
pub const EVENT_DELIVERY: &str = "syndic_event_delivery_seconds";

/// Buckets for the poll duration histogram, in seconds: from a fast 304 to the fetch timeout.
pub const POLL_DURATION_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Buckets for the wait for politeness slots, in seconds: none, a host's gap, or a long queue behind one host.
pub const FETCH_WAIT_BUCKETS: &[f64] = &[0.001, 0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
/// Buckets for the flush latency histogram, in seconds.
pub const FLUSH_DURATION_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Buckets for one webhook delivery attempt, in seconds: up to the 10 s timeout.
pub const WEBHOOK_ATTEMPT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets for one write of the event bus, in seconds: around the 50 ms target from commit to the wire.
pub const EVENT_WRITE_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// Buckets for an event's time from its commit to a stream's connection, in seconds: fine around the 50 ms target.
pub const EVENT_DELIVERY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Buckets for rows per flush.
pub const BATCH_ROWS_BUCKETS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0];

/// Registers descriptions and units, so that /metrics documents itself.
pub fn describe() {
    describe_events();
    describe_webhooks();
    describe_gauge!(
        "syndic_feed_actors",
        "Feed actors by status (failed feeds have no running actor)."
    );
    describe_counter!(
        "syndic_polls_total",
        "Polls by outcome: modified, not_modified, gone, parse_error or the fetch error kind."
    );
    describe_histogram!(
        POLL_DURATION,
        Unit::Seconds,
        "Time from the start of a poll's request to its outcome, parsing included; the wait for politeness \
         slots is not counted (see syndic_fetch_wait_seconds)."
    );
    describe_histogram!(
        FETCH_WAIT,
        Unit::Seconds,
        "Time a poll waited for its politeness slots (global and per host, the per-host gap included)."
    );
    describe_counter!("syndic_http_responses_total", "Feed HTTP responses by status class.");
    describe_counter!(
        "syndic_fetched_bytes_total",
        Unit::Bytes,
        "Feed bytes fetched, decompressed."
    );
    describe_counter!("syndic_entries_parsed_total", "Entries parsed from fetched feeds.");
    describe_counter!("syndic_entries_new_total", "Entries stored for the first time.");
    describe_histogram!(BATCH_ROWS, "Entries per persistence flush.");
    describe_histogram!(
        FLUSH_DURATION,
        Unit::Seconds,
        "Persistence flush latency (one transaction)."
    );
    describe_counter!(
        "syndic_persistence_rows_total",
        "Entries written by the persistence actor; rate() gives rows per second."
    );
    describe_counter!(
        "syndic_persistence_flush_failures_total",
        "Flushes that failed and will be retried."
    );
    describe_gauge!(
        "syndic_persistence_waiting_batches",
        "Feed batches waiting for the persistence actor (its mailbox depth)."
    );
    describe_gauge!("syndic_feed_mailbox_depth_max", "The deepest feed actor mailbox.");
    describe_counter!("syndic_actor_restarts_total", "Feed actors restarted after a crash.");
    describe_counter!(
        "syndic_actor_meltdowns_total",
        "Feeds parked as failed after too many crashes."
    );
    describe_counter!(
        "syndic_cache_lookups_total",
        "Feed cache lookups by result: hit, miss, error."
    );
    describe_counter!(
        "syndic_timeline_cache_hits_total",
        "Timeline first pages served from the timeline cache."
    );
    describe_counter!(
        "syndic_timeline_cache_misses_total",
        "Cacheable timeline first pages read from the database (a miss, or the cache bypassed)."
    );
    describe_counter!(
        "syndic_timeline_cache_errors_total",
        "Timeline cache calls that failed (Redis unreachable or slow); the database answered instead."
    );
    describe_gauge!(
        "syndic_db_pool_connections",
        "Database pool connections by state: in_use, idle."
    );
}

/// A poll's outcome, its own duration and, apart, how long it queued for politeness slots first.
pub fn poll_finished(outcome: &'static str, duration: Duration, waited: Duration) {
    counter!("syndic_polls_total", "outcome" => outcome).increment(1);
    histogram!(POLL_DURATION).record(duration.as_secs_f64());
    histogram!(FETCH_WAIT).record(waited.as_secs_f64());
}

pub fn http_response(status: u16) {
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    };
    counter!("syndic_http_responses_total", "class" => class).increment(1);
}

pub fn fetched(bytes: usize, entries: usize) {
    counter!("syndic_fetched_bytes_total").increment(bytes as u64);
    counter!("syndic_entries_parsed_total").increment(entries as u64);
}

pub fn new_entries(count: usize) {
    counter!("syndic_entries_new_total").increment(count as u64);
}

pub fn flushed(rows: usize, duration: Duration) {
    histogram!(BATCH_ROWS).record(rows as f64);
    histogram!(FLUSH_DURATION).record(duration.as_secs_f64());
    counter!("syndic_persistence_rows_total").increment(rows as u64);
}

pub fn flush_failed() {
    counter!("syndic_persistence_flush_failures_total").increment(1);
}

pub fn persistence_waiting(batches: usize) {
    gauge!("syndic_persistence_waiting_batches").set(batches as f64);
}

pub fn actor_restarted() {
    counter!("syndic_actor_restarts_total").increment(1);
}

pub fn actor_meltdown() {
    counter!("syndic_actor_meltdowns_total").increment(1);
}

pub fn cache_lookup(result: &'static str) {
    counter!("syndic_cache_lookups_total", "result" => result).increment(1);
}

pub fn timeline_cache_lookup(hit: bool) {
    if hit {
        counter!("syndic_timeline_cache_hits_total").increment(1);
    } else {
        counter!("syndic_timeline_cache_misses_total").increment(1);
    }
}

pub fn timeline_cache_error() {
    counter!("syndic_timeline_cache_errors_total").increment(1);
}

pub fn feed_actors(by_status: &[(FeedStatus, usize)], deepest_mailbox: usize) {
    for (status, count) in by_status {
        gauge!("syndic_feed_actors", "status" => status.as_str()).set(*count as f64);
    }
    gauge!("syndic_feed_mailbox_depth_max").set(deepest_mailbox as f64);
}

pub fn database_pool(in_use: u32, idle: u32) {
    gauge!("syndic_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    gauge!("syndic_db_pool_connections", "state" => "idle").set(f64::from(idle));
}

fn describe_events() {
    describe_counter!(
        "syndic_events_published_total",
        "Events stored in the event log and announced."
    );
    describe_counter!(
        "syndic_events_dropped_total",
        "Events lost by the bus (reason bus: it had stopped, or the database was down too long)."
    );
    describe_counter!(
        "syndic_event_stream_catch_ups_total",
        "Times an event stream's buffer was full, so that the stream read what it missed from the event log."
    );
    describe_counter!(
        "syndic_event_stream_reorders_total",
        "Times an event stream was handed an event before one it follows (a flush and the bus broadcast a \
         user's events), so that it read the events between from the event log."
    );
    describe_counter!(
        "syndic_event_streams_cut_off_total",
        "Event streams ended with resync: reason slow_client (behind for longer than the allowed lag), gap \
         (the events missed were no longer kept) or unavailable (the log could not be read)."
    );
    describe_gauge!("syndic_event_streams_open", "Open event streams (GET /v1/events).");
    describe_histogram!(
        EVENT_WRITE_DURATION,
        Unit::Seconds,
        "Time the event bus took to store a batch of events in the log, its commit included; its events reach \
         the streams after it. Failed writes are counted too. (SQLite's flushes store their article.new \
         themselves, in syndic_persistence_flush_seconds.)"
    );
    describe_histogram!(
        EVENT_DELIVERY,
        Unit::Seconds,
        "Time from the commit that stored an event to its message being handed to a stream's connection, per \
         message sent. timed_from=commit: the event came from the live broadcast, timed from the moment its \
         commit returned. timed_from=stored_at: the stream took it from a page (read from the log after falling \
         behind, or matched against a saved filter or category), timed from its `at`, stamped before the \
         commit: an upper bound. Events stored before the stream opened (a replay after Last-Event-ID) are not \
         counted."
    );
}

pub fn events_published(count: usize) {
    counter!("syndic_events_published_total").increment(count as u64);
}

/// One write of the event bus, whether it stored its batch or not.
pub fn event_write(duration: Duration) {
    histogram!(EVENT_WRITE_DURATION).record(duration.as_secs_f64());
}

/// Which clock an event's delivery is timed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryTimedFrom {
    /// The moment the commit that stored it returned.
    Commit,
    /// Its `at`, stamped before that commit.
    StoredAt,
}

/// A stream handed an event's message to its connection, `latency` after the event's commit.
pub fn event_delivered(timed_from: DeliveryTimedFrom, latency: Duration) {
    let label = match timed_from {
        DeliveryTimedFrom::Commit => "commit",
        DeliveryTimedFrom::StoredAt => "stored_at",
    };
    histogram!(EVENT_DELIVERY, "timed_from" => label).record(latency.as_secs_f64());
}

/// Events the bus could not store.
pub fn events_dropped(count: usize) {
    counter!("syndic_events_dropped_total", "reason" => "bus").increment(count as u64);
}

/// A stream's buffer was full: it reads what it missed from the log.
pub fn event_stream_fell_behind() {
    counter!("syndic_event_stream_catch_ups_total").increment(1);
}

/// A stream was handed an event before one it follows (two writers broadcast a user's events): it read the log
/// up to it.
pub fn event_stream_read_out_of_order() {
    counter!("syndic_event_stream_reorders_total").increment(1);
}

/// A stream was ended with `resync`, for `reason`.
pub fn event_stream_cut_off(reason: &'static str) {
    counter!("syndic_event_streams_cut_off_total", "reason" => reason).increment(1);
}

pub fn event_streams_open(open: usize) {
    gauge!("syndic_event_streams_open").set(open as f64);
}

fn describe_webhooks() {
    describe_counter!(
        "syndic_webhook_attempts_total",
        "Webhook delivery attempts by outcome: ok, failed (to be retried) or dead (the last attempt failed)."
    );
    describe_histogram!(
        WEBHOOK_ATTEMPT_DURATION,
        Unit::Seconds,
        "Time of one webhook delivery attempt, from the request to the end of the capped response body."
    );
}

/// One webhook delivery attempt and its outcome.
pub fn webhook_attempt(outcome: &'static str, latency: Duration) {
    counter!("syndic_webhook_attempts_total", "outcome" => outcome).increment(1);
    histogram!(WEBHOOK_ATTEMPT_DURATION).record(latency.as_secs_f64());
}
