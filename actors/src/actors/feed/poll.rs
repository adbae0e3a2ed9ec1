//! The poll cycle: fetch, parse off the async threads, hand the entries to the persistence actor, and on its
//! ack advance the validators, the schedule and the cache; manual refreshes and permanent redirects too.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::report::PollTiming;
use super::{FeedMsg, FeedState, InFlightPoll};
use crate::actors::supervisor::SupervisorMsg;
use crate::cache::CachedFeed;
use crate::discovery::FirstFetch;
use crate::domain::FeedStatus;
use crate::events::FeedStatusChange;
use crate::feed_url::FeedUrl;
use crate::fetch::{FetchError, FetchOutcome, PublisherHints, Validators};
use crate::icons::IconLeads;
use crate::instruments;
use crate::parse::{parse_feed, ParsedFeed};
use crate::schedule::{IntervalReason, PollInterval};
use crate::store::{FeedBatch, FeedMove, PollRecord, StoredBatch, UnchangedPoll};

impl FeedState {
    /// A person's refresh, already admitted and answered by the supervisor.
    pub(super) async fn refresh(&mut self) {
        // A refresh gives a parked feed a fresh start: one failure does not put it straight back.
        if self.status.is_parked() {
            self.consecutive_errors = 0;
        }
        if self.in_flight.is_some() {
            self.poll_requested = true;
        } else {
            self.poll().await;
        }
    }

    pub(super) async fn poll(&mut self) {
        self.cancel_timer();
        let polled_at = Utc::now();
        let started = Instant::now();
        let (outcome, waited) = self.context.fetcher.fetch_timed(&self.url, &self.validators).await;
        self.on_fetched(outcome, polled_at, PollTiming { started, waited })
            .await
    }

    /// A poll whose fetch the subscribe request made, or started, while it looked for the feed: the feed is
    /// fetched once, not twice.
    pub(super) async fn poll_fetched(&mut self, first: FirstFetch) {
        self.cancel_timer();
        let probed = match first {
            FirstFetch::Done(probed) => *probed,
            FirstFetch::Underway(fetch) => match fetch.await {
                Ok(probed) => probed,
                Err(join_error) => {
                    tracing::warn!(feed_id = self.feed_id, %join_error, "the subscribe-time fetch failed; polling");
                    return self.poll().await;
                }
            },
        };
        let timing = PollTiming {
            started: probed.started,
            waited: probed.waited,
        };
        self.on_fetched(probed.outcome, probed.polled_at, timing).await
    }

    async fn on_fetched(
        &mut self,
        outcome: Result<FetchOutcome, FetchError>,
        polled_at: DateTime<Utc>,
        timing: PollTiming,
    ) {
        match outcome {
            Ok(FetchOutcome::NotModified { hints }) => {
                self.note_answer(timing, "not_modified", Some(304));
                self.on_not_modified(polled_at, &hints).await
            }
            Ok(FetchOutcome::Fetched(document)) => {
                let body = document.body;
                let bytes = body.len();
                self.stats.bytes_total += bytes as u64;
                let parsed = match tokio::task::spawn_blocking(move || parse_feed(&body)).await {
                    Ok(parsed) => parsed.map_err(|error| error.to_string()),
                    Err(join_error) => Err(format!("parser task failed: {join_error}")),
                };
                match parsed {
                    Ok(feed) => {
                        self.note_answer(timing, "modified", Some(200));
                        self.stats.entries_total += feed.entries.len() as u64;
                        instruments::fetched(bytes, feed.entries.len());
                        let poll = Fetched {
                            validators: document.validators,
                            hints: document.hints,
                            permanent_redirect: document.permanent_redirect,
                            polled_at,
                        };
                        self.hand_over(feed, poll).await
                    }
                    Err(message) => {
                        self.note_answer(timing, "parse_error", Some(200));
                        self.record_error(&message, None).await
                    }
                }
            }
            Err(FetchError::Gone) => {
                self.note_answer(timing, "gone", Some(410));
                self.consecutive_errors = self.consecutive_errors.saturating_add(1);
                self.park_as_dead("the server answered 410 Gone").await
            }
            Err(error) => {
                let (status, retry_after) = match &error {
                    FetchError::Status { status, retry_after } => (Some(*status), *retry_after),
                    _ => (None, None),
                };
                self.note_answer(timing, error.kind(), status);
                tracing::debug!(feed_id = self.feed_id, url = %self.url, kind = error.kind(), %error, "poll failed");
                self.record_error(&error.to_string(), retry_after).await;
            }
        }
    }

    async fn on_not_modified(&mut self, polled_at: DateTime<Utc>, hints: &PublisherHints) {
        self.consecutive_errors = 0;
        let recovered = std::mem::replace(&mut self.status, FeedStatus::Ok) != FeedStatus::Ok;
        self.stats.last_error = None;
        let interval = self
            .context
            .rules
            .schedule
            .with_hints(self.measured, &header_hints(hints));
        self.interval = interval;
        let delay = self.context.rules.schedule.delay(interval.interval, &mut rand::rng());
        let next_poll_at = self.next_poll_at(delay);
        let unchanged = UnchangedPoll {
            feed_id: self.feed_id,
            polled_at,
            next_poll_at,
        };
        let recorded = if recovered {
            self.context.persistence.record_recovered(unchanged)
        } else {
            self.context.persistence.record_unchanged(unchanged)
        };
        if let Err(error) = recorded {
            tracing::warn!(feed_id = self.feed_id, %error, "could not record the poll");
        }
        if let Err(error) = self.context.cache.touch(self.url.as_str()).await {
            tracing::debug!(feed_id = self.feed_id, %error, "cache unavailable");
        }
        self.arm_timer(delay);
    }

    /// Gives the entries to the persistence actor. Nothing about this poll is kept until it acks.
    async fn hand_over(&mut self, feed: ParsedFeed, poll: Fetched) {
        crash_on_test_trigger(&feed);
        let measured = self.measure_interval(&feed, poll.polled_at);
        let interval = self
            .context
            .rules
            .schedule
            .with_hints(measured, &header_hints(&poll.hints));
        let delay = self.context.rules.schedule.delay(interval.interval, &mut rand::rng());
        self.interval = interval;
        let icon_leads = (!self.icon_requested).then(|| IconLeads {
            feed_id: self.feed_id,
            feed_url: self.url.as_url().clone(),
            icon_url: feed.icon_url,
            site_url: feed.site_url.clone(),
        });
        let batch = FeedBatch {
            feed_id: self.feed_id,
            entries: feed.entries,
            poll: PollRecord {
                title: feed.title,
                site_url: feed.site_url,
                etag: poll.validators.etag.clone(),
                last_modified: poll.validators.last_modified.clone(),
                polled_at: poll.polled_at,
                next_poll_at: self.next_poll_at(delay),
            },
        };
        self.in_flight = Some(InFlightPoll {
            validators: poll.validators,
            measured,
            next_delay: delay,
            permanent_redirect: poll.permanent_redirect,
            icon_leads,
        });
        if let Err(error) = self.context.persistence.submit(batch, self.handle.clone()).await {
            self.in_flight = None;
            self.record_error(&format!("persistence unavailable: {error}"), None)
                .await;
        }
    }

    pub(super) async fn on_persisted(&mut self, stored: StoredBatch) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        self.validators = in_flight.validators;
        self.measured = in_flight.measured;
        self.consecutive_errors = 0;
        if std::mem::replace(&mut self.status, FeedStatus::Ok) != FeedStatus::Ok {
            // The batch's commit, which this ack follows, set the status to ok.
            self.context.events.feed_status_changed(vec![FeedStatusChange {
                feed: self.feed_id,
                status: FeedStatus::Ok,
                error: None,
            }]);
        }
        self.stats.last_error = None;
        instruments::new_entries(stored.new_count);
        let cached = CachedFeed {
            feed_id: self.feed_id,
            articles: stored.articles,
        };
        if let Err(error) = self.context.cache.put(self.url.as_str(), &cached).await {
            tracing::debug!(feed_id = self.feed_id, %error, "cache unavailable");
        }
        tracing::debug!(feed_id = self.feed_id, new = stored.new_count, "poll stored");
        if let Some(leads) = in_flight.icon_leads {
            self.icon_requested = true;
            self.context.icons.look_for(leads);
        }
        if let Some(target) = in_flight.permanent_redirect {
            if self.follow_permanent_redirect(&target).await {
                return;
            }
        }
        if std::mem::take(&mut self.poll_requested) {
            // Through the handle, which counts the mailbox; every message taken is counted out.
            let _ = self.handle.send_message(FeedMsg::PollNow);
        } else {
            self.arm_timer(in_flight.next_delay);
        }
    }

    /// Moves the feed to its new URL. Returns true when this actor is done because another feed already
    /// lives there and took its subscribers.
    async fn follow_permanent_redirect(&mut self, target: &str) -> bool {
        let Ok(target) = FeedUrl::parse(target) else {
            return false;
        };
        if target == self.url {
            return false;
        }
        // Not through the persistence actor, the writer of feed state: the answer decides whether this actor
        // goes on (renamed) or stops (merged), so it must come now, and it changes the feed's URL and
        // subscriptions, not its poll state. It runs after this feed's batch is committed and before its next
        // poll, so no write of this feed's poll state is in flight meanwhile.
        match self.context.store.move_feed(self.feed_id, target.as_str()).await {
            Ok(FeedMove::Renamed) => {
                tracing::info!(feed_id = self.feed_id, from = %self.url, to = %target, "feed moved permanently");
                self.url = target;
                false
            }
            Ok(FeedMove::Merged { into }) => {
                tracing::info!(feed_id = self.feed_id, into, to = %target, "feed moved to a known feed; merged");
                let _ = self.supervisor.send_message(SupervisorMsg::Ensure {
                    feed_id: into,
                    poll_now: false,
                });
                self.handle.actor().stop(Some(format!("merged into feed {into}")));
                true
            }
            Err(error) => {
                tracing::warn!(feed_id = self.feed_id, %error, "could not record the new URL; will try again");
                false
            }
        }
    }

    /// How often this feed publishes, raised by its RSS `<ttl>`.
    fn measure_interval(&self, feed: &ParsedFeed, now: DateTime<Utc>) -> PollInterval {
        let schedule = &self.context.rules.schedule;
        let published: Vec<DateTime<Utc>> = feed.entries.iter().filter_map(|entry| entry.published_at).collect();
        let measured = schedule.adaptive_interval(&published, now);
        let ttl = feed
            .ttl_minutes
            .map(|minutes| Duration::from_secs(u64::from(minutes) * 60));
        schedule.with_hints(measured, &[(ttl, IntervalReason::Ttl)])
    }
}

/// A successful fetch, before its entries are stored.
struct Fetched {
    validators: Validators,
    hints: PublisherHints,
    permanent_redirect: Option<String>,
    polled_at: DateTime<Utc>,
}

fn header_hints(hints: &PublisherHints) -> [(Option<Duration>, IntervalReason); 2] {
    [
        (hints.max_age, IntervalReason::MaxAge),
        (hints.expires_in, IntervalReason::Expires),
    ]
}

/// Test builds only: a feed titled `syndic-test-panic` crashes its actor, so supervision can be tested on a
/// real crash. Release builds do not contain this path.
#[cfg(feature = "test-panic")]
fn crash_on_test_trigger(feed: &ParsedFeed) {
    if feed.title.as_deref() == Some("syndic-test-panic") {
        panic!("deliberate test panic on a feed titled syndic-test-panic");
    }
}

#[cfg(not(feature = "test-panic"))]
fn crash_on_test_trigger(_feed: &ParsedFeed) {}
