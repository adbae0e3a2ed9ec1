//! What operators see of a feed actor: its poll statistics, its snapshot in the registry, and its metrics.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::FeedState;
use crate::actors::snapshot::ActorSnapshot;
use crate::instruments;

/// What operators see of past polls.
#[derive(Debug, Default)]
pub(super) struct PollStats {
    pub(super) last_poll_at: Option<DateTime<Utc>>,
    /// The last poll's own time, without its wait for politeness slots.
    pub(super) last_poll_duration: Option<Duration>,
    /// How long the last poll waited for politeness slots before its requests.
    pub(super) last_poll_wait: Option<Duration>,
    pub(super) last_status_code: Option<u16>,
    pub(super) last_error: Option<String>,
    pub(super) entries_total: u64,
    pub(super) bytes_total: u64,
    pub(super) responses_ok: u64,
    pub(super) responses_not_modified: u64,
}

impl FeedState {
    pub(super) fn snapshot(&self) -> ActorSnapshot {
        ActorSnapshot {
            feed_id: self.feed_id,
            url: self.url.to_string(),
            status: self.status,
            last_poll_at: self.stats.last_poll_at,
            next_poll_at: self.next_poll_at.filter(|_| !self.status.is_parked()),
            last_poll_duration_ms: self
                .stats
                .last_poll_duration
                .map(|duration| duration.as_millis() as u64),
            last_poll_wait_ms: self.stats.last_poll_wait.map(|wait| wait.as_millis() as u64),
            last_status_code: self.stats.last_status_code,
            last_error: self.stats.last_error.clone(),
            consecutive_errors: self.consecutive_errors,
            restarts: self.restarts,
            mailbox_depth: self.handle.mailbox_depth(),
            entries_total: self.stats.entries_total,
            bytes_total: self.stats.bytes_total,
            responses_ok: self.stats.responses_ok,
            responses_not_modified: self.stats.responses_not_modified,
            interval_seconds: self.interval.interval.as_secs(),
            interval_reason: self.interval.reason,
        }
    }

    pub(super) fn publish(&self) {
        self.context.registry.publish(self.snapshot());
    }

    /// Records what a poll's answer was, for operators and metrics.
    pub(super) fn note_answer(&mut self, timing: PollTiming, outcome: &'static str, status: Option<u16>) {
        let elapsed = timing.started.elapsed().saturating_sub(timing.waited);
        self.stats.last_poll_at = Some(Utc::now());
        self.stats.last_poll_duration = Some(elapsed);
        self.stats.last_poll_wait = Some(timing.waited);
        self.stats.last_status_code = status;
        match status {
            Some(304) => self.stats.responses_not_modified += 1,
            Some(200..=299) => self.stats.responses_ok += 1,
            _ => {}
        }
        if let Some(status) = status {
            instruments::http_response(status);
        }
        instruments::poll_finished(outcome, elapsed, timing.waited);
    }
}

/// When a poll started, and how much of its time since went to waiting for politeness slots.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollTiming {
    pub(super) started: Instant,
    pub(super) waited: Duration,
}
