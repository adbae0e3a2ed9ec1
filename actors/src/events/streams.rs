//! Live event streams: each open stream's bounded buffer, filled from the bus's broadcast by one task, so that a
//! stored event wakes only its user's streams. A stream whose buffer is full is marked behind and gets no more
//! live events: the events are in the durable log already, so the stream reads what it missed from there and
//! then resumes. A slow client therefore never slows the bus or anyone else, and a burst larger than the buffer
//! costs a fast reader a read of the log, not a `resync`. The open streams are counted per user and in all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, Notify};
use tokio::time::Instant;

use super::Event;
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
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            buffer: 256,
            max_lag: Duration::from_secs(10),
            per_user: 16,
            total: 20_000,
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

/// What the dispatcher and one stream share.
#[derive(Default)]
struct StreamShared {
    /// Since when the stream has been behind (live events are left to the log for it), if it is.
    behind_since: Mutex<Option<Instant>>,
    /// Wakes a stream waiting on an empty buffer when it is marked behind without an event being sent.
    woken: Notify,
}

impl StreamShared {
    fn behind_since(&self) -> Option<Instant> {
        *lock(&self.behind_since)
    }

    /// Marks the stream behind; returns whether it was not already.
    fn fall_behind(&self) -> bool {
        let mut since = lock(&self.behind_since);
        if since.is_some() {
            return false;
        }
        *since = Some(Instant::now());
        drop(since);
        self.woken.notify_one();
        true
    }
}

struct Subscriber {
    id: StreamId,
    sender: mpsc::Sender<Arc<Event>>,
    shared: Arc<StreamShared>,
}

#[derive(Default)]
struct Registry {
    by_user: HashMap<UserId, Vec<Subscriber>>,
    open: usize,
    closing: bool,
}

/// The open streams; cheap to clone.
#[derive(Clone)]
pub struct EventStreams {
    registry: Arc<Mutex<Registry>>,
    next_id: Arc<AtomicU64>,
    limits: StreamLimits,
}

/// What a stream reads next from the live side.
#[derive(Debug)]
pub enum LiveEvent {
    /// The next buffered event, in store order.
    Event(Arc<Event>),
    /// The buffer is drained and events were left to the log since `since`: read them from the log, then call
    /// [`LiveEvents::resume`] and read the log once more.
    Behind { since: Instant },
    /// The server is closing the stream.
    Closed,
}

/// One open stream's live events. Dropping it closes the stream.
pub struct LiveEvents {
    receiver: mpsc::Receiver<Arc<Event>>,
    shared: Arc<StreamShared>,
    max_lag: Duration,
    _slot: StreamSlot,
}

impl LiveEvents {
    /// The next buffered event; once they are drained, whether the stream is behind; else waits.
    pub async fn recv(&mut self) -> LiveEvent {
        loop {
            // Buffered events come first: they are older than any left to the log.
            match self.receiver.try_recv() {
                Ok(event) => return LiveEvent::Event(event),
                Err(mpsc::error::TryRecvError::Disconnected) => return LiveEvent::Closed,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if let Some(since) = self.shared.behind_since() {
                return LiveEvent::Behind { since };
            }
            tokio::select! {
                received = self.receiver.recv() => return match received {
                    Some(event) => LiveEvent::Event(event),
                    None => LiveEvent::Closed,
                },
                () = self.shared.woken.notified() => {}
            }
        }
    }

    /// The next buffered event if one is there now, without waiting: how a stream takes a burst at once.
    pub fn try_recv(&mut self) -> Option<Arc<Event>> {
        self.receiver.try_recv().ok()
    }

    /// Live events flow into the buffer again. Call it after reading the log up to now, then read the log once
    /// more: what was stored between that read and this call went to neither.
    pub fn resume(&self) {
        *lock(&self.shared.behind_since) = None;
    }

    /// How long this stream may stay behind before it is cut off.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }
}

/// Gives the stream's place back when the stream is dropped.
struct StreamSlot {
    streams: EventStreams,
    user: UserId,
    id: StreamId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.streams.remove(self.user, self.id);
    }
}

impl EventStreams {
    /// Starts the task that hands each broadcast event to its user's streams.
    pub(super) fn start(limits: StreamLimits, mut events: broadcast::Receiver<Arc<Event>>) -> EventStreams {
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
        streams
    }

    /// Opens a stream for `user`, within the limits. It starts behind: it reads the log first (what was stored
    /// since the id it starts after), and its buffer fills only once it resumes, so a long replay cannot
    /// overflow it.
    pub fn open(&self, user: UserId) -> Result<LiveEvents, StreamRefused> {
        let (sender, receiver) = mpsc::channel(self.limits.buffer.max(1));
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
                sender,
                shared: shared.clone(),
            });
            registry.open += 1;
            instruments::event_streams_open(registry.open);
        }
        Ok(LiveEvents {
            receiver,
            shared,
            max_lag: self.limits.max_lag,
            _slot: StreamSlot {
                streams: self.clone(),
                user,
                id,
            },
        })
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
        for subscribers in registry.by_user.values_mut() {
            for subscriber in subscribers.iter_mut() {
                let (closed, _) = mpsc::channel(1);
                subscriber.sender = closed;
                subscriber.shared.woken.notify_one();
            }
        }
    }

    fn dispatch(&self, event: Arc<Event>) {
        let mut registry = self.lock();
        let Some(subscribers) = registry.by_user.get_mut(&event.user) else {
            return;
        };
        for subscriber in subscribers.iter_mut() {
            if subscriber.shared.behind_since().is_some() {
                continue;
            }
            if let Err(mpsc::error::TrySendError::Full(_)) = subscriber.sender.try_send(event.clone()) {
                if subscriber.shared.fall_behind() {
                    instruments::event_stream_fell_behind();
                }
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

    fn remove(&self, user: UserId, id: StreamId) {
        let mut registry = self.lock();
        if let Some(subscribers) = registry.by_user.get_mut(&user) {
            subscribers.retain(|subscriber| subscriber.id != id);
            if subscribers.is_empty() {
                registry.by_user.remove(&user);
            }
        }
        registry.open -= 1;
        instruments::event_streams_open(registry.open);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        lock(&self.registry)
    }
}

/// The registry and the marks hold no invariant a panic midway could break beyond a count; keep serving.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[path = "streams_tests.rs"]
mod tests;
