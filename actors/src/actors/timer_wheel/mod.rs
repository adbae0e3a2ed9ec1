//! The timer wheel: one actor for every timer. It holds the active timers due within the next `window` (loaded
//! from the store, refilled every `refill_every`), keeps ONE `send_after` armed for the earliest, and is told of
//! creates, updates and deletes. When timers come due it commits their firings in one transaction per batch
//! (each timer moves on and its delivery goes into the webhooks' outbox), then nudges the deliveries. It is the
//! one writer of the timers' firing state; an edit made meanwhile wins, as the firing only applies to a timer
//! still due at the instant it was loaded with.

mod firing;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use self::window::DueWindow;
use crate::store::Store;
use crate::timer::{Timer, TimerFiring, TimerId, WebhookId};

/// Where the wheel reads the time: the system clock, or one a test moves.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Tells the delivery side that a timer's webhook has a delivery due now.
pub type Nudge = Arc<dyn Fn(WebhookId) + Send + Sync>;

/// How the wheel paces itself.
#[derive(Clone)]
pub struct TimerSettings {
    /// Timers due within this span are held in memory.
    pub window: Duration,
    /// How often the window is loaded again; shorter than `window`, so no timer is due before it is loaded.
    pub refill_every: Duration,
    /// Most timers one refill loads.
    pub window_limit: u32,
    /// Timers committed per transaction.
    pub batch: usize,
    /// A firing later than this past its instant is `late`.
    pub late_after: Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for TimerSettings {
    fn default() -> Self {
        TimerSettings {
            window: Duration::from_secs(60),
            refill_every: Duration::from_secs(30),
            window_limit: 200_000,
            batch: 500,
            late_after: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for TimerSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TimerSettings")
            .field("window", &self.window)
            .field("refill_every", &self.refill_every)
            .field("late_after", &self.late_after)
            .finish_non_exhaustive()
    }
}

/// What the wheel is told.
pub enum TimerWheelMsg {
    /// The armed instant came; `generation` tells a stale send from the one armed now.
    Tick { generation: u64 },
    /// Load the next window from the store (periodically, and once at start).
    Refill,
    /// A timer was created or changed; the store already says so.
    Upserted(Box<Timer>),
    /// A timer was deleted.
    Removed(TimerId),
    /// How many timers the window holds, and the earliest instant: for tests and operators.
    Inspect(RpcReplyPort<WheelSnapshot>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelSnapshot {
    pub held: usize,
    pub earliest: Option<DateTime<Utc>>,
    pub window_end: DateTime<Utc>,
}

pub struct TimerWheelArgs {
    pub store: Arc<dyn Store>,
    pub settings: TimerSettings,
    pub nudge: Nudge,
}

pub struct TimerWheel;

/// A `send_after` under way.
type SendHandle = JoinHandle<Result<(), ractor::MessagingErr<TimerWheelMsg>>>;

pub struct TimerWheelState {
    store: Arc<dyn Store>,
    settings: TimerSettings,
    nudge: Nudge,
    window: DueWindow,
    /// The one armed send, the instant it is for, and its generation.
    armed: Option<(SendHandle, DateTime<Utc>)>,
    generation: u64,
    refill: Option<SendHandle>,
}

/// How long to wait before trying again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Digests read at once while a batch is prepared.
const DIGEST_READS: usize = 8;

impl TimerWheel {
    pub async fn spawn(args: TimerWheelArgs) -> Result<ActorRef<TimerWheelMsg>, ractor::SpawnErr> {
        let (wheel, _) = Actor::spawn(None, TimerWheel, args).await?;
        Ok(wheel)
    }
}

impl Actor for TimerWheel {
    type Msg = TimerWheelMsg;
    type State = TimerWheelState;
    type Arguments = TimerWheelArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_message(TimerWheelMsg::Refill)?;
        Ok(TimerWheelState {
            store: args.store,
            settings: args.settings,
            nudge: args.nudge,
            window: DueWindow::default(),
            armed: None,
            generation: 0,
            refill: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            TimerWheelMsg::Tick { generation } => {
                if generation == state.generation {
                    state.armed = None;
                    state.fire_due().await;
                }
            }
            TimerWheelMsg::Refill => state.refill(&myself).await,
            TimerWheelMsg::Upserted(timer) => state.window.upsert(*timer),
            TimerWheelMsg::Removed(timer) => state.window.remove(timer),
            TimerWheelMsg::Inspect(reply) => {
                let _ = reply.send(WheelSnapshot {
                    held: state.window.len(),
                    earliest: state.window.earliest(),
                    window_end: state.window.end(),
                });
            }
        }
        state.arm(&myself);
        Ok(())
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some((armed, _)) = state.armed.take() {
            armed.abort();
        }
        if let Some(refill) = state.refill.take() {
            refill.abort();
        }
        Ok(())
    }
}

impl TimerWheelState {
    fn now(&self) -> DateTime<Utc> {
        self.settings.clock.now()
    }

    /// Loads the timers due within the window (overdue ones first: missed while the engine was down), and
    /// schedules the next refill.
    async fn refill(&mut self, myself: &ActorRef<TimerWheelMsg>) {
        let end = self.now() + self.settings.window;
        let wait = match self.store.due_timers(end, self.settings.window_limit).await {
            Ok(timers) => {
                self.window.refill(timers, end, self.settings.window_limit as usize);
                self.settings.refill_every
            }
            Err(error) => {
                tracing::warn!(%error, "loading the due timers failed; trying again");
                STORE_RETRY
            }
        };
        if let Some(refill) = self.refill.take() {
            refill.abort();
        }
        self.refill = Some(myself.send_after(wait, || TimerWheelMsg::Refill));
    }

    /// Keeps the one armed send on the earliest instant held.
    fn arm(&mut self, myself: &ActorRef<TimerWheelMsg>) {
        let Some(earliest) = self.window.earliest() else {
            if let Some((armed, _)) = self.armed.take() {
                armed.abort();
            }
            return;
        };
        if self.armed.as_ref().is_some_and(|(_, instant)| *instant == earliest) {
            return;
        }
        if let Some((armed, _)) = self.armed.take() {
            armed.abort();
        }
        self.generation += 1;
        let generation = self.generation;
        let wait = (earliest - self.now()).to_std().unwrap_or(Duration::ZERO);
        let handle = myself.send_after(wait, move || TimerWheelMsg::Tick { generation });
        self.armed = Some((handle, earliest));
    }

    /// Fires every timer due by now, a batch per transaction.
    async fn fire_due(&mut self) {
        let now = self.now();
        let due = self.window.take_due(now);
        for batch in due.chunks(self.settings.batch) {
            self.fire_batch(batch, now).await;
        }
    }

    async fn fire_batch(&mut self, batch: &[Timer], now: DateTime<Utc>) {
        let late_after = chrono::Duration::from_std(self.settings.late_after).unwrap_or_default();
        let store = self.store.clone();
        let prepared: Vec<_> = stream::iter(batch.to_vec())
            .map(move |timer| {
                let store = store.clone();
                async move { firing::firing(store.as_ref(), &timer, now, late_after).await }
            })
            .buffered(DIGEST_READS)
            .collect()
            .await;
        let mut firings = Vec::with_capacity(batch.len());
        for (timer, prepared) in batch.iter().zip(prepared) {
            match prepared {
                Ok(firing) => firings.push(firing),
                Err(error) => {
                    tracing::warn!(timer_id = timer.id, %error, "a digest could not be read; trying again");
                    self.retry_later(timer.clone(), now);
                }
            }
        }
        match self.store.fire_timers(&firings).await {
            Ok(applied) => self.after_commit(batch, &firings, &applied),
            Err(error) => {
                tracing::warn!(%error, timers = firings.len(), "committing timer firings failed; trying again");
                for timer in batch
                    .iter()
                    .filter(|timer| firings.iter().any(|firing| firing.timer == timer.id))
                {
                    self.retry_later(timer.clone(), now);
                }
            }
        }
    }

    /// Nudges the deliveries committed, and puts each fired timer back at its next instant.
    fn after_commit(&mut self, batch: &[Timer], firings: &[TimerFiring], applied: &[TimerId]) {
        for firing in firings.iter().filter(|firing| applied.contains(&firing.timer)) {
            (self.nudge)(firing.webhook_id);
            let lateness_ms = (firing.fired_at - firing.scheduled_for).num_milliseconds();
            tracing::debug!(timer_id = firing.timer, lateness_ms, "timer fired");
            let Some(timer) = batch.iter().find(|timer| timer.id == firing.timer) else {
                continue;
            };
            let mut timer = timer.clone();
            timer.last_fired_at = Some(firing.fired_at);
            timer.fire_count += 1;
            timer.next_fire_at = firing.next_fire_at;
            if firing.next_fire_at.is_none() {
                timer.status = crate::timer::TimerStatus::Done;
            }
            self.window.upsert(timer);
        }
    }

    /// Holds a timer whose firing failed, to try again after a pause; its stored instant, which the firing's
    /// guard compares with, stays as it is.
    fn retry_later(&mut self, timer: Timer, now: DateTime<Utc>) {
        let retry_at = now + chrono::Duration::from_std(STORE_RETRY).unwrap_or_default();
        self.window.hold(timer, retry_at);
    }
}
