//! Live event streams: each open stream's bounded buffer, filled from the bus's broadcast by one task, so that a
//! stored event wakes only its user's streams. A stream whose buffer is full is marked behind and gets no more
//! live events: the events are in the durable log already, so the stream reads what it missed from there and
//! then resumes. A slow client therefore never slows the bus or anyone else, and a burst larger than the buffer
//! costs a fast reader a read of the log, not a `resync`. The open streams are counted per user and in all.
//!
//! One more task ticks for all of them: each tick tells every stream that has had no event since the last one
//! to send a heartbeat, so that an idle stream holds no timer of its own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};

use super::Announced;
use crate::domain::UserId;
use crate::instruments;

/// Limits of the live streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Events one stream may have waiting; beyond it the stream reads what it missed from the log.
    pub buffer: usize,
    /// How long a stream may stay behind the live events before it is cut off with `resync`: a client that
    /// does not read for that long is slow.
    pub max_lag: Duration,
    /// Open streams per user.
    pub per_user: usize,
    /// Open streams on this node.
    pub total: usize,
    /// How often a stream with no event since the last tick is told to send a heartbeat, so that proxies keep
    /// it open.
    pub heartbeat: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            buffer: 256,
            max_lag: Duration::from_secs(10),
            per_user: 16,
            total: 20_000,
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    #[error("this user has too many open event streams")]
    TooManyForUser,
    #[error("this server has too many open event streams")]
    TooMany,
    #[error("the server is shutting down")]
    Closing,
}

type StreamId = u64;

/// What the dispatcher and one stream share: the stream's buffer, whether it is behind or closed, and how to wake
/// it. A `VecDeque` under the stream's lock rather than a channel: a tokio channel allocates its cache-padded
/// state and a 32-slot block up front, about 700 bytes that an idle stream would hold for its whole life, while
/// an empty `VecDeque` holds nothing.
#[derive(Default)]
struct StreamShared {
    state: Mutex<SharedState>,
}

#[derive(Default)]
struct SharedState {
    /// Events handed to the stream and not read yet, in store order; at most the limits' `buffer`.
    buffered: VecDeque<Arc<Announced>>,
    /// Since when the stream has been behind (live events are left to the log for it), if it is.
    behind_since: Option<Instant>,
    /// The server is closing the stream: it gets no more events, and ends once it read those it holds.
    closed: bool,
    /// A heartbeat tick came and no event has been read since.
    heartbeat_due: bool,
    /// The task of a stream that found nothing to read, woken by the next event, mark or close. Kept under the
    /// same lock as what it waits for, so no wake-up falls between the check and the wait; a waker rather than
    /// a `Notify`, whose future the stream would have to hold while it waits.
    waiting: Option<Waker>,
}

/// Capacity a drained buffer keeps: a burst's room is given back, a trickle's is reused.
const KEPT_CAPACITY: usize = 8;

impl SharedState {
    /// What the stream reads now, if anything: a buffered event, else whether it is closed or behind, else
    /// whether a heartbeat is due.
    fn ready(&mut self) -> Option<LiveEvent> {
        // Buffered events come first: they are older than any left to the log.
        if let Some(event) = self.buffered.pop_front() {
            if self.buffered.is_empty() {
                self.buffered.shrink_to(KEPT_CAPACITY);
            }
            // The event is traffic enough.
            self.heartbeat_due = false;
            return Some(LiveEvent::Event(event));
        }
        if self.closed {
            return Some(LiveEvent::Closed);
        }
        if let Some(since) = self.behind_since {
            return Some(LiveEvent::Behind { since });
        }
        std::mem::take(&mut self.heartbeat_due).then_some(LiveEvent::Heartbeat)
    }
}

impl StreamShared {
    /// Marks the stream behind; returns whether it was not already.
    fn fall_behind(&self) -> bool {
        let mut state = lock(&self.state);
        if state.behind_since.is_some() {
            return false;
        }
        state.behind_since = Some(Instant::now());
        wake(state);
        true
    }

    /// Hands `event` to the stream, unless it is behind or closed; a full buffer puts it behind. Returns whether
    /// the stream fell behind now.
    fn offer(&self, event: &Arc<Announced>, capacity: usize) -> bool {
        let mut state = lock(&self.state);
        if state.behind_since.is_some() || state.closed {
            return false;
        }
        if state.buffered.len() >= capacity {
            state.behind_since = Some(Instant::now());
        } else {
            state.buffered.push_back(event.clone());
        }
        let fell_behind = state.behind_since.is_some();
        wake(state);
        fell_behind
    }

    fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        wake(state);
    }

    fn heartbeat(&self) {
        let mut state = lock(&self.state);
        state.heartbeat_due = true;
        wake(state);
    }

    fn ready_now(&self) -> Option<LiveEvent> {
        lock(&self.state).ready()
    }

    /// What the stream reads now; when there is nothing, `waker` is woken once there is.
    fn poll_ready(&self, waker: &Waker) -> Poll<LiveEvent> {
        let mut state = lock(&self.state);
        match state.ready() {
            Some(live) => Poll::Ready(live),
            None => {
                if !state.waiting.as_ref().is_some_and(|waiting| waiting.will_wake(waker)) {
                    state.waiting = Some(waker.clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Wakes the stream's task if it waits, after letting go of the lock it would take first.
fn wake(mut state: std::sync::MutexGuard<'_, SharedState>) {
    let waiting = state.waiting.take();
    drop(state);
    if let Some(waiting) = waiting {
        waiting.wake();
    }
}

struct Subscriber {
    id: StreamId,
    shared: Arc<StreamShared>,
}

#[derive(Default)]
struct Registry {
    by_user: HashMap<UserId, Vec<Subscriber>>,
    open: usize,
    closing: bool,
}

type SharedRegistry = Arc<Mutex<Registry>>;

/// The open streams; cheap to clone.
#[derive(Clone)]
pub struct EventStreams {
    registry: SharedRegistry,
    next_id: Arc<AtomicU64>,
    limits: StreamLimits,
}

/// What a stream reads next from the live side.
#[derive(Debug)]
pub enum LiveEvent {
    /// The next buffered event, in store order.
    Event(Arc<Announced>),
    /// The buffer is drained and events were left to the log since `since`: read them from the log, then call
    /// [`LiveEvents::resume`] and read the log once more.
    Behind { since: Instant },
    /// The server is closing the stream.
    Closed,
    /// No event came since the last heartbeat tick: send something, so that proxies keep the stream open.
    Heartbeat,
}

/// One open stream's live events. Dropping it closes the stream. Every idle stream holds one, so it keeps
/// nothing that all streams share (the limits are [`EventStreams`]').
pub struct LiveEvents {
    shared: Arc<StreamShared>,
    slot: StreamSlot,
}

impl LiveEvents {
    /// The next buffered event; once they are drained, whether the stream is closed or behind, or a heartbeat is
    /// due. When there is nothing yet, the task is woken once there is: a stream waiting this way holds no future
    /// of its own while it is idle.
    pub fn poll_recv(&mut self, context: &mut Context<'_>) -> Poll<LiveEvent> {
        self.shared.poll_ready(context.waker())
    }

    /// The next buffered event if one is there now, without waiting: how a stream takes a burst at once. A
    /// heartbeat due meanwhile is dropped: the burst is traffic.
    pub fn try_recv(&mut self) -> Option<Arc<Announced>> {
        match self.shared.ready_now() {
            Some(LiveEvent::Event(event)) => Some(event),
            _ => None,
        }
    }

    /// What [`LiveEvents::poll_recv`] would return now, if anything, without waiting to be woken.
    pub fn ready_now(&mut self) -> Option<LiveEvent> {
        self.shared.ready_now()
    }

    /// Live events flow into the buffer again. Call it after reading the log up to now, then read the log once
    /// more: what was stored between that read and this call went to neither.
    pub fn resume(&self) {
        lock(&self.shared.state).behind_since = None;
    }

    /// The user whose events these are.
    pub fn user(&self) -> UserId {
        self.slot.user
    }
}

/// Gives the stream's place back when the stream is dropped. It holds the registry alone, not a clone of
/// [`EventStreams`]: every idle stream keeps one.
struct StreamSlot {
    registry: SharedRegistry,
    user: UserId,
    id: StreamId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut registry = lock(&self.registry);
        if let Some(subscribers) = registry.by_user.get_mut(&self.user) {
            subscribers.retain(|subscriber| subscriber.id != self.id);
            if subscribers.is_empty() {
                registry.by_user.remove(&self.user);
            }
        }
        registry.open -= 1;
        instruments::event_streams_open(registry.open);
    }
}

impl EventStreams {
    /// Starts the task that hands each broadcast event to its user's streams, and the heartbeat ticker.
    pub(super) fn start(limits: StreamLimits, mut events: broadcast::Receiver<Arc<Announced>>) -> EventStreams {
        let streams = EventStreams {
            registry: Arc::default(),
            next_id: Arc::default(),
            limits,
        };
        let dispatcher = streams.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => dispatcher.dispatch(event),
                    // The dispatcher itself fell behind: every stream may have missed events, all in the log.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the event stream dispatcher lagged; every stream reads the log");
                        dispatcher.all_fall_behind();
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        tokio::spawn(tick_heartbeats(Arc::downgrade(&streams.registry), limits.heartbeat));
        streams
    }

    /// Opens a stream for `user`, within the limits. It starts behind: it reads the log first (what was stored
    /// since the id it starts after), and its buffer fills only once it resumes, so a long replay cannot
    /// overflow it.
    pub fn open(&self, user: UserId) -> Result<LiveEvents, StreamRefused> {
        let shared = StreamShared::default();
        shared.fall_behind();
        let shared = Arc::new(shared);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut registry = self.lock();
            if registry.closing {
                return Err(StreamRefused::Closing);
            }
            if registry.open >= self.limits.total {
                return Err(StreamRefused::TooMany);
            }
            let of_user = registry.by_user.entry(user).or_default();
            if of_user.len() >= self.limits.per_user {
                return Err(StreamRefused::TooManyForUser);
            }
            of_user.push(Subscriber {
                id,
                shared: shared.clone(),
            });
            registry.open += 1;
            instruments::event_streams_open(registry.open);
        }
        Ok(LiveEvents {
            shared,
            slot: StreamSlot {
                registry: self.registry.clone(),
                user,
                id,
            },
        })
    }

    /// How long a stream may stay behind before it is cut off.
    pub fn max_lag(&self) -> Duration {
        self.limits.max_lag
    }

    /// How many streams are open.
    pub fn open_count(&self) -> usize {
        self.lock().open
    }

    /// Ends every stream (they drain what they hold first) and refuses new ones: the server is stopping.
    pub fn close(&self) {
        let mut registry = self.lock();
        registry.closing = true;
        // The slots still count them until each stream is dropped.
        for subscriber in registry.by_user.values().flatten() {
            subscriber.shared.close();
        }
    }

    fn dispatch(&self, event: Arc<Announced>) {
        let registry = self.lock();
        let Some(subscribers) = registry.by_user.get(&event.user) else {
            return;
        };
        let capacity = self.limits.buffer.max(1);
        for subscriber in subscribers {
            if subscriber.shared.offer(&event, capacity) {
                instruments::event_stream_fell_behind();
            }
        }
    }

    fn all_fall_behind(&self) {
        let registry = self.lock();
        for subscriber in registry.by_user.values().flatten() {
            if subscriber.shared.fall_behind() {
                instruments::event_stream_fell_behind();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        lock(&self.registry)
    }
}

/// Every `period`, tells each open stream that a heartbeat is due: it sends one unless it reads an event first.
/// Ends with the registry.
async fn tick_heartbeats(registry: Weak<Mutex<Registry>>, period: Duration) {
    let period = period.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let registry = lock(&registry);
        for subscriber in registry.by_user.values().flatten() {
            subscriber.shared.heartbeat();
        }
    }
}

/// The registry and the marks hold no invariant a panic midway could break beyond a count; keep serving.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[path = "streams_tests.rs"]
mod tests;
