//! When a poll fails: the error is recorded, the next poll backs off, and after too many failures in a row the
//! feed is parked as dead. A failure is data, never an actor failure.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::FeedState;
use crate::actors::persistence::PollFailure;
use crate::domain::FeedStatus;

impl FeedState {
    pub(super) async fn record_error(&mut self, message: &str, retry_after: Option<Duration>) {
        self.consecutive_errors = self.consecutive_errors.saturating_add(1);
        self.poll_requested = false;
        if self.consecutive_errors >= self.context.rules.dead_after_errors {
            let message = format!("{message} ({} failures in a row)", self.consecutive_errors);
            self.park_as_dead(&message).await;
            return;
        }
        let schedule = &self.context.rules.schedule;
        let backoff = schedule.after_errors(self.measured.interval, self.consecutive_errors, retry_after);
        let delay = schedule.delay(backoff.interval, &mut rand::rng());
        self.interval = backoff;
        let status_changed = std::mem::replace(&mut self.status, FeedStatus::Error) != FeedStatus::Error;
        let next_poll_at = Some(self.next_poll_at(delay));
        self.store_error(message, next_poll_at, status_changed);
        self.arm_timer(delay);
    }

    /// Stops polling until someone refreshes the feed; it stays visible with its status and last error.
    pub(super) async fn park_as_dead(&mut self, message: &str) {
        tracing::info!(feed_id = self.feed_id, url = %self.url, reason = message, "feed is dead");
        self.cancel_timer();
        self.poll_requested = false;
        let status_changed = std::mem::replace(&mut self.status, FeedStatus::Dead) != FeedStatus::Dead;
        self.store_error(message, None, status_changed);
    }

    /// Hands the error to the persistence actor, the one writer of feed state, so that it is ordered with this
    /// feed's batches: a late error never overwrites a newer success, nor a late success a newer error.
    /// `status_changed` says whether the status was another before: subscribers are told once it is written.
    fn store_error(&mut self, message: &str, next_poll_at: Option<DateTime<Utc>>, status_changed: bool) {
        self.stats.last_error = Some(message.to_owned());
        let failure = PollFailure {
            feed_id: self.feed_id,
            message: message.to_owned(),
            status: self.status,
            next_poll_at,
            failed_polls: 1,
            status_changed,
        };
        if let Err(error) = self.context.persistence.record_poll_failed(failure) {
            tracing::warn!(feed_id = self.feed_id, %error, "could not record the poll error");
        }
    }
}
