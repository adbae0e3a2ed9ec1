//! The feed actor: one per feed. It owns the poll timer, the conditional-GET validators, the error backoff and
//! the feed's cache entry. Network and parse errors are recorded and retried later; they never fail the actor.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr};
use tokio::task::JoinHandle;

use super::persistence::PersistenceHandle;
use crate::cache::{CachedFeed, FeedCache};
use crate::domain::{Feed, FeedId};
use crate::feed_url::FeedUrl;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::parse::{parse_feed, ParsedFeed};
use crate::schedule::{IntervalReason, PollInterval, ScheduleSettings};
use crate::store::{FeedBatch, PollRecord, Store, StoredBatch};

pub enum FeedMsg {
    /// The poll timer fired.
    Poll,
    /// Poll as soon as possible: a subscriber is waiting.
    PollNow,
    /// The persistence actor committed this actor's batch.
    Persisted(StoredBatch),
    /// The database refused this actor's batch for its content.
    PersistFailed(String),
}

/// What every feed actor shares.
pub struct FeedContext {
    pub fetcher: Fetcher,
    pub store: Arc<dyn Store>,
    pub cache: FeedCache,
    pub persistence: PersistenceHandle,
    pub schedule: ScheduleSettings,
}

pub struct FeedActor;

pub struct FeedArgs {
    pub feed: Feed,
    pub context: Arc<FeedContext>,
}

type PollTimer = JoinHandle<Result<(), MessagingErr<FeedMsg>>>;

pub struct FeedState {
    feed_id: FeedId,
    url: FeedUrl,
    /// Advanced only once the entries they describe are committed.
    validators: Validators,
    consecutive_errors: u32,
    /// The interval measured at the last successful poll, and why; errors back off from it.
    interval: PollInterval,
    poll_timer: Option<PollTimer>,
    /// The poll whose batch is with the persistence actor, awaiting its ack.
    in_flight: Option<InFlightPoll>,
    /// A `PollNow` arrived while a batch was in flight: poll again right after the ack.
    poll_requested: bool,
    /// The stored `next_poll_at` the actor was started with, used once to resume the schedule.
    resume_at: Option<DateTime<Utc>>,
    context: Arc<FeedContext>,
}

struct InFlightPoll {
    validators: Validators,
    /// The interval this poll measured; it takes effect with the ack.
    interval: PollInterval,
    /// The delay to the next poll, already recorded with the batch.
    next_delay: std::time::Duration,
}

impl Actor for FeedActor {
    type Msg = FeedMsg;
    type State = FeedState;
    type Arguments = FeedArgs;

    async fn pre_start(&self, _myself: ActorRef<FeedMsg>, args: FeedArgs) -> Result<FeedState, ActorProcessingErr> {
        let url = FeedUrl::parse(&args.feed.url)?;
        Ok(FeedState {
            feed_id: args.feed.id,
            url,
            validators: Validators {
                etag: args.feed.etag.clone(),
                last_modified: args.feed.last_modified.clone(),
            },
            consecutive_errors: args.feed.error_count.max(0) as u32,
            interval: PollInterval {
                interval: args.context.schedule.interval,
                reason: IntervalReason::Default,
            },
            poll_timer: None,
            in_flight: None,
            poll_requested: false,
            resume_at: args.feed.next_poll_at,
            context: args.context,
        })
    }

    async fn post_start(&self, myself: ActorRef<FeedMsg>, state: &mut FeedState) -> Result<(), ActorProcessingErr> {
        // Resume the stored schedule, so a restart neither polls everything at once nor forgets a feed.
        let resume_at = state.resume_at.take();
        let delay = state
            .context
            .schedule
            .delay_at_start(resume_at, Utc::now(), &mut rand::rng());
        state.arm_timer(&myself, delay);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<FeedMsg>,
        message: FeedMsg,
        state: &mut FeedState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            FeedMsg::Poll | FeedMsg::PollNow if state.in_flight.is_some() => state.poll_requested = true,
            FeedMsg::Poll | FeedMsg::PollNow => state.poll(&myself).await,
            FeedMsg::Persisted(stored) => state.on_persisted(&myself, stored).await,
            FeedMsg::PersistFailed(error) => {
                state.in_flight = None;
                state
                    .record_error(&myself, &format!("could not store the entries: {error}"))
                    .await;
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<FeedMsg>, state: &mut FeedState) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.poll_timer.take() {
            timer.abort();
        }
        Ok(())
    }
}

impl FeedState {
    /// Re-arms the single poll timer, cancelling the previous one.
    fn arm_timer(&mut self, myself: &ActorRef<FeedMsg>, delay: std::time::Duration) {
        if let Some(timer) = self.poll_timer.take() {
            timer.abort();
        }
        self.poll_timer = Some(myself.send_after(delay, || FeedMsg::Poll));
    }

    fn next_poll_at(&self, delay: std::time::Duration) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
    }

    async fn poll(&mut self, myself: &ActorRef<FeedMsg>) {
        if let Some(timer) = self.poll_timer.take() {
            timer.abort();
        }
        let polled_at = Utc::now();
        let outcome = self.context.fetcher.fetch(&self.url, &self.validators).await;
        match outcome {
            Ok(FetchOutcome::NotModified { .. }) => self.on_not_modified(myself, polled_at).await,
            Ok(FetchOutcome::Fetched(document)) => {
                let body = document.body;
                let parsed = tokio::task::spawn_blocking(move || parse_feed(&body)).await;
                match parsed {
                    Ok(Ok(feed)) => self.hand_over(myself, feed, document.validators, polled_at).await,
                    Ok(Err(error)) => self.record_error(myself, &error.to_string()).await,
                    Err(join_error) => {
                        self.record_error(myself, &format!("parser task failed: {join_error}"))
                            .await
                    }
                }
            }
            Err(error) => {
                tracing::debug!(feed_id = self.feed_id, url = %self.url, kind = error.kind(), %error, "poll failed");
                self.record_error(myself, &error.to_string()).await;
            }
        }
    }

    async fn on_not_modified(&mut self, myself: &ActorRef<FeedMsg>, polled_at: DateTime<Utc>) {
        self.consecutive_errors = 0;
        let delay = self.context.schedule.delay(self.interval.interval, &mut rand::rng());
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
    async fn hand_over(
        &mut self,
        myself: &ActorRef<FeedMsg>,
        feed: ParsedFeed,
        validators: Validators,
        polled_at: DateTime<Utc>,
    ) {
        let interval = self.measure_interval(&feed, polled_at);
        let delay = self.context.schedule.delay(interval.interval, &mut rand::rng());
        let batch = FeedBatch {
            feed_id: self.feed_id,
            entries: feed.entries,
            poll: PollRecord {
                title: feed.title,
                site_url: feed.site_url,
                etag: validators.etag.clone(),
                last_modified: validators.last_modified.clone(),
                polled_at,
                next_poll_at: self.next_poll_at(delay),
            },
        };
        self.in_flight = Some(InFlightPoll {
            validators,
            interval,
            next_delay: delay,
        });
        if let Err(error) = self.context.persistence.submit(batch, myself.clone()).await {
            self.in_flight = None;
            self.record_error(myself, &format!("persistence unavailable: {error}"))
                .await;
        }
    }

    async fn on_persisted(&mut self, myself: &ActorRef<FeedMsg>, stored: StoredBatch) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        self.validators = in_flight.validators;
        self.interval = in_flight.interval;
        self.consecutive_errors = 0;
        let cached = CachedFeed {
            feed_id: self.feed_id,
            articles: stored.articles,
        };
        if let Err(error) = self.context.cache.put(self.url.as_str(), &cached).await {
            tracing::debug!(feed_id = self.feed_id, %error, "cache unavailable");
        }
        tracing::debug!(feed_id = self.feed_id, new = stored.new_count, "poll stored");
        if std::mem::take(&mut self.poll_requested) {
            let _ = myself.send_message(FeedMsg::PollNow);
        } else {
            self.arm_timer(myself, in_flight.next_delay);
        }
    }

    /// How often this feed publishes, raised by its RSS `<ttl>`.
    fn measure_interval(&self, feed: &ParsedFeed, now: DateTime<Utc>) -> PollInterval {
        let schedule = &self.context.schedule;
        let published: Vec<DateTime<Utc>> = feed.entries.iter().filter_map(|entry| entry.published_at).collect();
        let measured = schedule.adaptive_interval(&published, now);
        let ttl = feed
            .ttl_minutes
            .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60));
        schedule.with_hints(measured, &[(ttl, IntervalReason::Ttl)])
    }

    async fn record_error(&mut self, myself: &ActorRef<FeedMsg>, message: &str) {
        self.consecutive_errors = self.consecutive_errors.saturating_add(1);
        let schedule = &self.context.schedule;
        let backoff = schedule.after_errors(self.interval.interval, self.consecutive_errors, None);
        let delay = schedule.delay(backoff.interval, &mut rand::rng());
        if let Err(error) = self
            .context
            .store
            .record_poll_error(self.feed_id, message, self.next_poll_at(delay))
            .await
        {
            tracing::warn!(feed_id = self.feed_id, %error, "could not record the poll error");
        }
        self.poll_requested = false;
        self.arm_timer(myself, delay);
    }
}
