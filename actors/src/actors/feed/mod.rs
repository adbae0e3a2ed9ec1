//! The feed actor: one per feed. It owns the poll timer, the conditional-GET validators, the schedule and error
//! backoff, and the feed's cache entry. Network and parse errors are recorded and retried later; after too many
//! in a row (or a 410 Gone) the feed is parked as dead. They never fail the actor.
//!
//! This module holds the messages, the state and the actor's life cycle; `poll` is the poll cycle, `failure`
//! what happens when a poll fails, and `report` what operators see.

mod failure;
mod poll;
mod report;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tracing::Instrument;

use self::report::PollStats;
use super::feed_handle::FeedHandle;
use super::persistence::PersistenceHandle;
use super::poll_timers::PollTimers;
use super::polls_in_progress::PollsInProgress;
use super::router::StartedFetch;
use super::snapshot::{ActorRegistry, ActorSnapshot};
use super::supervisor::SupervisorMsg;
use crate::cache::FeedCache;
use crate::domain::{Feed, FeedId, FeedStatus};
use crate::events::EventBus;
use crate::feed_url::FeedUrl;
use crate::fetch::{Fetcher, Validators};
use crate::icons::{IconFinder, IconLeads};
use crate::schedule::{IntervalReason, PollInterval, ScheduleSettings};
use crate::store::{EngineStore, StoreError, StoredBatch};

pub enum FeedMsg {
    /// The poll timer fired; the number says which arming of the timer, so a cancelled one is ignored.
    Poll(u64),
    /// Poll as soon as possible: a subscriber is waiting. While a poll is in flight this is dropped: that
    /// poll's flush links its entries to every subscriber there is by then.
    PollNow,
    /// The feed's first poll, whose fetch the subscribe request already made while it looked for the feed.
    /// Dropped, like `PollNow`, while a poll is in flight. It carries its own place among the polls under way,
    /// so that a shutdown begun while it was on its way still waits for it.
    FirstPoll(Box<StartedFetch>),
    /// A person's refresh, admitted by the supervisor (at most once a minute): poll now, or right after the poll
    /// in flight, even if the feed is parked.
    Refresh,
    /// The persistence actor committed this actor's batch.
    Persisted(StoredBatch),
    /// The database refused this actor's batch for its content; the error is shared by every feed of the flush.
    PersistFailed(Arc<StoreError>),
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
    pub store: Arc<dyn EngineStore>,
    pub cache: FeedCache,
    pub persistence: PersistenceHandle,
    /// Where a committed status change is announced.
    pub events: EventBus,
    pub rules: FeedRules,
    pub registry: ActorRegistry,
    /// Counts the polls under way, which shutdown waits for.
    pub polls: PollsInProgress,
    /// The one task that keeps every actor's poll timer.
    pub timers: PollTimers,
    /// Looks for a feed's icon after its first successful poll.
    pub icons: IconFinder,
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

pub struct FeedState {
    feed_id: FeedId,
    url: FeedUrl,
    status: FeedStatus,
    /// Advanced only once the entries they describe are committed.
    validators: Validators,
    consecutive_errors: u32,
    /// The interval measured from the feed's entries at the last successful poll; hints and backoff start here.
    measured: PollInterval,
    /// Whether the shared timer task may hold a deadline of this actor.
    timer_armed: bool,
    /// Bumped at every arming and cancelling of the timer; a `Poll` with another number is stale.
    timer_generation: u64,
    /// The poll whose batch is with the persistence actor, awaiting its ack.
    in_flight: Option<InFlightPoll>,
    /// A refresh was asked for while a batch was in flight: poll again right after the ack.
    poll_requested: bool,
    /// Whether this actor asked for the feed's icon yet: once per actor, after its first stored poll; the
    /// finder skips a feed whose icon was looked for before.
    icon_requested: bool,
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

struct InFlightPoll {
    validators: Validators,
    /// The interval this poll measured; it takes effect with the ack.
    measured: PollInterval,
    /// The delay to the next poll, already recorded with the batch.
    next_delay: Duration,
    /// Where every redirect on the way said, permanently, the feed now lives.
    permanent_redirect: Option<String>,
    /// Where the feed's icon may be, when this actor has not asked for it yet.
    icon_leads: Option<IconLeads>,
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
            timer_armed: false,
            timer_generation: 0,
            in_flight: None,
            poll_requested: false,
            icon_requested: false,
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

    async fn post_start(&self, _myself: ActorRef<FeedMsg>, state: &mut FeedState) -> Result<(), ActorProcessingErr> {
        // A parked feed waits for a refresh; the others resume their stored schedule, so a restart neither
        // polls everything at once nor forgets a feed.
        if !state.status.is_parked() {
            let resume_at = state.resume_at.take();
            let delay = state
                .context
                .rules
                .schedule
                .delay_at_start(resume_at, Utc::now(), &mut rand::rng());
            state.arm_timer(delay);
        }
        state.publish();
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<FeedMsg>,
        message: FeedMsg,
        state: &mut FeedState,
    ) -> Result<(), ActorProcessingErr> {
        state.handle.mark_taken();
        // Whatever the fetch, the parser or the store logs while this actor works says which feed it was for.
        let span = tracing::info_span!("feed", feed_id = state.feed_id);
        match message {
            FeedMsg::Inspect(reply) => {
                let _ = reply.send(state.snapshot());
                return Ok(());
            }
            FeedMsg::Poll(generation) if generation != state.timer_generation => {}
            FeedMsg::Poll(_) | FeedMsg::PollNow | FeedMsg::FirstPoll(_) if state.in_flight.is_some() => {}
            // The work is boxed: an idle actor's task is as large as the largest future it could await, and
            // with 100k actors an inline fetch future in every one of them costs gigabytes.
            FeedMsg::Poll(_) | FeedMsg::PollNow => {
                // Refused once the engine shuts down.
                let Some(_poll) = state.context.polls.enter() else {
                    return Ok(());
                };
                Box::pin(state.poll()).instrument(span).await
            }
            FeedMsg::FirstPoll(started) => {
                let StartedFetch { fetch, poll: _poll } = *started;
                Box::pin(state.poll_fetched(fetch)).instrument(span).await
            }
            FeedMsg::Refresh => {
                // Refused once the engine shuts down.
                let Some(_poll) = state.context.polls.enter() else {
                    return Ok(());
                };
                Box::pin(state.refresh()).instrument(span).await
            }
            FeedMsg::Persisted(stored) => Box::pin(state.on_persisted(stored)).instrument(span).await,
            FeedMsg::PersistFailed(error) => {
                state.in_flight = None;
                let message = format!("could not store the entries: {error}");
                Box::pin(state.record_error(&message, None)).instrument(span).await;
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
        if std::mem::take(&mut self.timer_armed) {
            self.context.timers.cancel(self.handle.actor().get_id());
        }
    }

    /// Re-arms the single poll timer; the new deadline replaces the previous one.
    fn arm_timer(&mut self, delay: Duration) {
        self.timer_generation = self.timer_generation.wrapping_add(1);
        self.next_poll_at = Some(self.next_poll_at(delay));
        self.context.timers.arm(&self.handle, delay, self.timer_generation);
        self.timer_armed = true;
    }

    fn next_poll_at(&self, delay: Duration) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
    }
}
