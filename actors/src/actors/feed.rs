//! The feed actor: one per feed. It owns the poll timer, the conditional-GET validators, the schedule and error
//! backoff, and the feed's cache entry. Network and parse errors are recorded and retried later; after too many
//! in a row (or a 410 Gone) the feed is parked as dead. They never fail the actor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr, RpcReplyPort};
use tokio::task::JoinHandle;

use super::feed_handle::{taken, FeedHandle};
use super::persistence::PersistenceHandle;
use super::snapshot::{ActorRegistry, ActorSnapshot};
use super::supervisor::SupervisorMsg;
use crate::cache::{CachedFeed, FeedCache};
use crate::domain::{Feed, FeedId, FeedStatus};
use crate::feed_url::FeedUrl;
use crate::fetch::{FetchError, FetchOutcome, Fetcher, PublisherHints, Validators};
use crate::instruments;
use crate::parse::{parse_feed, ParsedFeed};
use crate::schedule::{IntervalReason, PollInterval, ScheduleSettings};
use crate::store::{FeedBatch, FeedMove, PollRecord, Store, StoredBatch};

pub enum FeedMsg {
    /// The poll timer fired; the number says which arming of the timer, so a cancelled one is ignored.
    Poll(u64),
    /// Poll as soon as possible: a subscriber is waiting. While a poll is in flight this is dropped: that
    /// poll's flush links its entries to every subscriber there is by then.
    PollNow,
    /// A person asked for a refresh: poll now, at most once a minute, even if the feed is parked.
    Refresh(RpcReplyPort<RefreshOutcome>),
    /// The persistence actor committed this actor's batch.
    Persisted(StoredBatch),
    /// The database refused this actor's batch for its content.
    PersistFailed(String),
    /// Report the actor's live state.
    Inspect(RpcReplyPort<ActorSnapshot>),
}

/// The answer to a manual refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Accepted,
    /// Refreshed less than the minimum gap ago; try again after this long.
    TooSoon {
        retry_after: Duration,
    },
}

/// Engine-wide rules every feed actor follows.
#[derive(Debug, Clone)]
pub struct FeedRules {
    pub schedule: ScheduleSettings,
    /// Consecutive failures after which a feed is parked as dead.
    pub dead_after_errors: u32,
    /// Least time between two manual refreshes of one feed.
    pub refresh_gap: Duration,
}

impl Default for FeedRules {
    fn default() -> Self {
        FeedRules {
            schedule: ScheduleSettings::default(),
            dead_after_errors: 10,
            refresh_gap: Duration::from_secs(60),
        }
    }
}

/// What every feed actor shares.
pub struct FeedContext {
    pub fetcher: Fetcher,
    pub store: Arc<dyn Store>,
    pub cache: FeedCache,
    pub persistence: PersistenceHandle,
    pub rules: FeedRules,
    pub registry: ActorRegistry,
}

pub struct FeedActor;

pub struct FeedArgs {
    pub feed: Feed,
    pub context: Arc<FeedContext>,
    pub supervisor: ActorRef<SupervisorMsg>,
    /// The mailbox counter every sender to this actor increments.
    pub waiting: Arc<AtomicUsize>,
    /// How often this feed's actor was restarted before this one.
    pub restarts: u32,
}

type PollTimer = JoinHandle<Result<(), MessagingErr<FeedMsg>>>;

pub struct FeedState {
    feed_id: FeedId,
    url: FeedUrl,
    status: FeedStatus,
    /// Advanced only once the entries they describe are committed.
    validators: Validators,
    consecutive_errors: u32,
    /// The interval measured from the feed's entries at the last successful poll; hints and backoff start here.
    measured: PollInterval,
    poll_timer: Option<PollTimer>,
    /// Bumped at every arming and cancelling of the timer; a `Poll` with another number is stale.
    timer_generation: u64,
    /// The poll whose batch is with the persistence actor, awaiting its ack.
    in_flight: Option<InFlightPoll>,
    /// A refresh was asked for while a batch was in flight: poll again right after the ack.
    poll_requested: bool,
    last_manual_refresh: Option<Instant>,
    /// The stored `next_poll_at` the actor was started with, used once to resume the schedule.
    resume_at: Option<DateTime<Utc>>,
    /// The interval in force now, and why (hints and backoff included).
    interval: PollInterval,
    next_poll_at: Option<DateTime<Utc>>,
    stats: PollStats,
    restarts: u32,
    /// This actor's own counted address, for its timer and for the persistence actor's ack.
    handle: FeedHandle,
    supervisor: ActorRef<SupervisorMsg>,
    context: Arc<FeedContext>,
}

/// What operators see of past polls.
#[derive(Debug, Default)]
struct PollStats {
    last_poll_at: Option<DateTime<Utc>>,
    last_poll_duration: Option<Duration>,
    last_status_code: Option<u16>,
    last_error: Option<String>,
    entries_total: u64,
    bytes_total: u64,
    responses_ok: u64,
    responses_not_modified: u64,
}

struct InFlightPoll {
    validators: Validators,
    /// The interval this poll measured; it takes effect with the ack.
    measured: PollInterval,
    /// The delay to the next poll, already recorded with the batch.
    next_delay: Duration,
    /// Where every redirect on the way said, permanently, the feed now lives.
    permanent_redirect: Option<String>,
}

impl Actor for FeedActor {
    type Msg = FeedMsg;
    type State = FeedState;
    type Arguments = FeedArgs;

    async fn pre_start(&self, myself: ActorRef<FeedMsg>, args: FeedArgs) -> Result<FeedState, ActorProcessingErr> {
        let feed = args.feed;
        let measured = PollInterval {
            interval: args.context.rules.schedule.interval,
            reason: IntervalReason::Default,
        };
        Ok(FeedState {
            feed_id: feed.id,
            url: FeedUrl::parse(&feed.url)?,
            status: feed.status,
            validators: Validators {
                etag: feed.etag,
                last_modified: feed.last_modified,
            },
            consecutive_errors: feed.error_count.max(0) as u32,
            measured,
            poll_timer: None,
            timer_generation: 0,
            in_flight: None,
            poll_requested: false,
            last_manual_refresh: None,
            resume_at: feed.next_poll_at,
            interval: measured,
            next_poll_at: feed.next_poll_at,
            stats: PollStats {
                last_poll_at: feed.last_polled_at,
                last_error: feed.last_error,
                ..PollStats::default()
            },
            restarts: args.restarts,
            handle: FeedHandle::new(myself, args.waiting),
            supervisor: args.supervisor,
            context: args.context,
        })
    }

    async fn post_start(&self, myself: ActorRef<FeedMsg>, state: &mut FeedState) -> Result<(), ActorProcessingErr> {
        // A parked feed waits for a refresh; the others resume their stored schedule, so a restart neither
        // polls everything at once nor forgets a feed.
        if !state.status.is_parked() {
            let resume_at = state.resume_at.take();
            let delay = state
                .context
                .rules
                .schedule
                .delay_at_start(resume_at, Utc::now(), &mut rand::rng());
            state.arm_timer(&myself, delay);
        }
        state.publish();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<FeedMsg>,
        message: FeedMsg,
        state: &mut FeedState,
    ) -> Result<(), ActorProcessingErr> {
        taken(&state.handle_waiting());
        match message {
            FeedMsg::Inspect(reply) => {
                let _ = reply.send(state.snapshot());
                return Ok(());
            }
            FeedMsg::Poll(generation) if generation != state.timer_generation => {}
            FeedMsg::Poll(_) | FeedMsg::PollNow if state.in_flight.is_some() => {}
            // The work is boxed: an idle actor's task is as large as the largest future it could await, and
            // with 100k actors an inline fetch future in every one of them costs gigabytes.
            FeedMsg::Poll(_) | FeedMsg::PollNow => Box::pin(state.poll(&myself)).await,
            FeedMsg::Refresh(reply) => Box::pin(state.refresh(&myself, reply)).await,
            FeedMsg::Persisted(stored) => Box::pin(state.on_persisted(&myself, stored)).await,
            FeedMsg::PersistFailed(error) => {
                state.in_flight = None;
                let message = format!("could not store the entries: {error}");
                Box::pin(state.record_error(&myself, &message, None)).await;
            }
        }
        state.publish();
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<FeedMsg>, state: &mut FeedState) -> Result<(), ActorProcessingErr> {
        state.cancel_timer();
        state.context.registry.remove(state.feed_id);
        Ok(())
    }
}

impl FeedState {
    /// Cancels the timer; a `Poll` it already sent is recognised as stale by its generation.
    fn cancel_timer(&mut self) {
        self.timer_generation = self.timer_generation.wrapping_add(1);
        if let Some(timer) = self.poll_timer.take() {
            timer.abort();
        }
    }

    /// Re-arms the single poll timer, cancelling the previous one.
    fn arm_timer(&mut self, myself: &ActorRef<FeedMsg>, delay: Duration) {
        self.cancel_timer();
        let generation = self.timer_generation;
        let waiting = self.handle_waiting();
        self.next_poll_at = Some(self.next_poll_at(delay));
        self.poll_timer = Some(myself.send_after(delay, move || {
            waiting.fetch_add(1, Ordering::Relaxed);
            FeedMsg::Poll(generation)
        }));
    }

    fn handle_waiting(&self) -> Arc<AtomicUsize> {
        self.handle.waiting()
    }

    fn snapshot(&self) -> ActorSnapshot {
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

    fn publish(&self) {
        self.context.registry.publish(self.snapshot());
    }

    /// Records what a poll's answer was, for operators and metrics.
    fn note_answer(&mut self, started: Instant, outcome: &'static str, status: Option<u16>) {
        let elapsed = started.elapsed();
        self.stats.last_poll_at = Some(Utc::now());
        self.stats.last_poll_duration = Some(elapsed);
        self.stats.last_status_code = status;
        match status {
            Some(304) => self.stats.responses_not_modified += 1,
            Some(200..=299) => self.stats.responses_ok += 1,
            _ => {}
        }
        if let Some(status) = status {
            instruments::http_response(status);
        }
        instruments::poll_finished(outcome, elapsed);
    }

    fn next_poll_at(&self, delay: Duration) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
    }

    async fn refresh(&mut self, myself: &ActorRef<FeedMsg>, reply: RpcReplyPort<RefreshOutcome>) {
        let gap = self.context.rules.refresh_gap;
        if let Some(elapsed) = self
            .last_manual_refresh
            .map(|at| at.elapsed())
            .filter(|elapsed| *elapsed < gap)
        {
            let _ = reply.send(RefreshOutcome::TooSoon {
                retry_after: gap - elapsed,
            });
            return;
        }
        self.last_manual_refresh = Some(Instant::now());
        let _ = reply.send(RefreshOutcome::Accepted);
        // A refresh gives a parked feed a fresh start: one failure does not put it straight back.
        if self.status.is_parked() {
            self.consecutive_errors = 0;
        }
        if self.in_flight.is_some() {
            self.poll_requested = true;
        } else {
            self.poll(myself).await;
        }
    }

    async fn poll(&mut self, myself: &ActorRef<FeedMsg>) {
        self.cancel_timer();
        let polled_at = Utc::now();
        let started = Instant::now();
        let outcome = self.context.fetcher.fetch(&self.url, &self.validators).await;
        match outcome {
            Ok(FetchOutcome::NotModified { hints }) => {
                self.note_answer(started, "not_modified", Some(304));
                self.on_not_modified(myself, polled_at, &hints).await
            }
            Ok(FetchOutcome::Fetched(document)) => {
                let body = document.body;
                let bytes = body.len();
                self.stats.bytes_total += bytes as u64;
                match tokio::task::spawn_blocking(move || parse_feed(&body)).await {
                    Ok(Ok(feed)) => {
                        self.note_answer(started, "modified", Some(200));
                        self.stats.entries_total += feed.entries.len() as u64;
                        instruments::fetched(bytes, feed.entries.len());
                        let poll = Fetched {
                            validators: document.validators,
                            hints: document.hints,
                            permanent_redirect: document.permanent_redirect,
                            polled_at,
                        };
                        self.hand_over(myself, feed, poll).await
                    }
                    Ok(Err(error)) => {
                        self.note_answer(started, "parse_error", Some(200));
                        self.record_error(myself, &error.to_string(), None).await
                    }
                    Err(join_error) => {
                        self.note_answer(started, "parse_error", Some(200));
                        self.record_error(myself, &format!("parser task failed: {join_error}"), None)
                            .await
                    }
                }
            }
            Err(FetchError::Gone) => {
                self.note_answer(started, "gone", Some(410));
                self.consecutive_errors = self.consecutive_errors.saturating_add(1);
                self.park_as_dead("the server answered 410 Gone").await
            }
            Err(error) => {
                let status = match &error {
                    FetchError::Status { status, .. } => Some(*status),
                    _ => None,
                };
                self.note_answer(started, error.kind(), status);
                tracing::debug!(feed_id = self.feed_id, url = %self.url, kind = error.kind(), %error, "poll failed");
                let retry_after = match &error {
                    FetchError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                self.record_error(myself, &error.to_string(), retry_after).await;
            }
        }
    }

    async fn on_not_modified(&mut self, myself: &ActorRef<FeedMsg>, polled_at: DateTime<Utc>, hints: &PublisherHints) {
        self.consecutive_errors = 0;
        self.status = FeedStatus::Ok;
        self.stats.last_error = None;
        let interval = self
            .context
            .rules
            .schedule
            .with_hints(self.measured, &header_hints(hints));
        self.interval = interval;
        let delay = self.context.rules.schedule.delay(interval.interval, &mut rand::rng());
        let next_poll_at = self.next_poll_at(delay);
        if let Err(error) = self
            .context
            .store
            .record_poll_unchanged(self.feed_id, polled_at, next_poll_at)
            .await
        {
            tracing::warn!(feed_id = self.feed_id, %error, "could not record the poll");
        }
        if let Err(error) = self.context.cache.touch(self.url.as_str()).await {
            tracing::debug!(feed_id = self.feed_id, %error, "cache unavailable");
        }
        self.arm_timer(myself, delay);
    }

    /// Gives the entries to the persistence actor. Nothing about this poll is kept until it acks.
    async fn hand_over(&mut self, myself: &ActorRef<FeedMsg>, feed: ParsedFeed, poll: Fetched) {
        crash_on_test_trigger(&feed);
        let measured = self.measure_interval(&feed, poll.polled_at);
        let interval = self
            .context
            .rules
            .schedule
            .with_hints(measured, &header_hints(&poll.hints));
        let delay = self.context.rules.schedule.delay(interval.interval, &mut rand::rng());
        self.interval = interval;
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
        });
        if let Err(error) = self.context.persistence.submit(batch, self.handle.clone()).await {
            self.in_flight = None;
            self.record_error(myself, &format!("persistence unavailable: {error}"), None)
                .await;
        }
    }

    async fn on_persisted(&mut self, myself: &ActorRef<FeedMsg>, stored: StoredBatch) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        self.validators = in_flight.validators;
        self.measured = in_flight.measured;
        self.consecutive_errors = 0;
        self.status = FeedStatus::Ok;
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
        if let Some(target) = in_flight.permanent_redirect {
            if self.follow_permanent_redirect(myself, &target).await {
                return;
            }
        }
        if std::mem::take(&mut self.poll_requested) {
            let _ = myself.send_message(FeedMsg::PollNow);
        } else {
            self.arm_timer(myself, in_flight.next_delay);
        }
    }

    /// Moves the feed to its new URL. Returns true when this actor is done because another feed already
    /// lives there and took its subscribers.
    async fn follow_permanent_redirect(&mut self, myself: &ActorRef<FeedMsg>, target: &str) -> bool {
        let Ok(target) = FeedUrl::parse(target) else {
            return false;
        };
        if target == self.url {
            return false;
        }
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
                myself.stop(Some(format!("merged into feed {into}")));
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

    async fn record_error(&mut self, myself: &ActorRef<FeedMsg>, message: &str, retry_after: Option<Duration>) {
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
        self.status = FeedStatus::Error;
        let next_poll_at = Some(self.next_poll_at(delay));
        self.store_error(message, next_poll_at).await;
        self.arm_timer(myself, delay);
    }

    /// Stops polling until someone refreshes the feed; it stays visible with its status and last error.
    async fn park_as_dead(&mut self, message: &str) {
        tracing::info!(feed_id = self.feed_id, url = %self.url, reason = message, "feed is dead");
        self.cancel_timer();
        self.poll_requested = false;
        self.status = FeedStatus::Dead;
        self.store_error(message, None).await;
    }

    async fn store_error(&mut self, message: &str, next_poll_at: Option<DateTime<Utc>>) {
        self.stats.last_error = Some(message.to_owned());
        let store = &self.context.store;
        if let Err(error) = store
            .record_poll_error(self.feed_id, message, self.status, next_poll_at)
            .await
        {
            tracing::warn!(feed_id = self.feed_id, %error, "could not record the poll error");
        }
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
