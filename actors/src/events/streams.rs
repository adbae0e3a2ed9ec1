//! Live event streams: each open stream's bounded buffer, filled from the bus's broadcast by one task, so that a
//! stored event wakes only its user's streams. A stream whose buffer is full is cut off (it gets `resync`),
//! so a slow client never slows the bus or anyone else. The open streams are counted per user and in all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use super::Event;
use crate::domain::UserId;
use crate::instruments;

/// Limits of the live streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Events one stream may have waiting; one more cuts it off with `resync`.
    pub buffer: usize,
    /// Open streams per user.
    pub per_user: usize,
    /// Open streams on this node.
    pub total: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            buffer: 256,
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

struct Subscriber {
    id: StreamId,
    sender: mpsc::Sender<Arc<Event>>,
    overflowed: Arc<AtomicBool>,
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

/// One open stream's live events, in store order. When it ends, [`LiveEvents::overflowed`] says whether it
/// was cut off for falling behind (else the server is closing it). Dropping it closes the stream.
pub struct LiveEvents {
    receiver: mpsc::Receiver<Arc<Event>>,
    overflowed: Arc<AtomicBool>,
    _slot: StreamSlot,
}

impl LiveEvents {
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.receiver.recv().await
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
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
                    // The dispatcher itself fell behind: every stream may have missed events.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the event stream dispatcher lagged; cutting every stream off");
                        dispatcher.cut_off_all();
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        streams
    }

    /// Opens a stream for `user`, within the limits.
    pub fn open(&self, user: UserId) -> Result<LiveEvents, StreamRefused> {
        let (sender, receiver) = mpsc::channel(self.limits.buffer.max(1));
        let overflowed = Arc::new(AtomicBool::new(false));
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
                overflowed: overflowed.clone(),
            });
            registry.open += 1;
            instruments::event_streams_open(registry.open);
        }
        Ok(LiveEvents {
            receiver,
            overflowed,
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
            }
        }
    }

    fn dispatch(&self, event: Arc<Event>) {
        let mut registry = self.lock();
        let Some(subscribers) = registry.by_user.get_mut(&event.user) else {
            return;
        };
        for subscriber in subscribers.iter_mut() {
            if subscriber.overflowed.load(Ordering::Relaxed) {
                instruments::events_dropped_for_slow_client(1);
                continue;
            }
            if let Err(mpsc::error::TrySendError::Full(_)) = subscriber.sender.try_send(event.clone()) {
                cut_off(subscriber);
            }
        }
    }

    fn cut_off_all(&self) {
        let mut registry = self.lock();
        for subscriber in registry.by_user.values_mut().flatten() {
            cut_off(subscriber);
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
        // The registry holds no invariant a panic midway could break beyond a count; keep serving.
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Marks a stream as cut off and closes its buffer: it reads what it holds, then ends with `resync`.
fn cut_off(subscriber: &mut Subscriber) {
    if subscriber.overflowed.swap(true, Ordering::AcqRel) {
        return;
    }
    instruments::events_dropped_for_slow_client(1);
    let (closed, _) = mpsc::channel(1);
    subscriber.sender = closed;
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::events::EventKind;

    fn event(user: UserId, id: i64) -> Arc<Event> {
        Arc::new(Event {
            id,
            user,
            kind: EventKind::JobDone,
            feed: None,
            data: json!({}),
            at: chrono::Utc::now(),
        })
    }

    fn limits() -> StreamLimits {
        StreamLimits {
            buffer: 2,
            per_user: 1,
            total: 2,
        }
    }

    #[tokio::test]
    async fn streams_are_limited_per_user_and_in_all_and_give_their_place_back() {
        let (_sender, receiver) = broadcast::channel(16);
        let streams = EventStreams::start(limits(), receiver);
        let (alice, bob, carol) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let first = streams.open(alice).expect("alice's first");
        assert_eq!(streams.open(alice).err(), Some(StreamRefused::TooManyForUser));
        let _bob = streams.open(bob).expect("bob's");
        assert_eq!(streams.open(carol).err(), Some(StreamRefused::TooMany));
        drop(first);
        assert_eq!(streams.open_count(), 1);
        let _carol = streams.open(carol).expect("a place was given back");
        streams.close();
        assert_eq!(streams.open(alice).err(), Some(StreamRefused::Closing));
    }

    #[tokio::test]
    async fn a_full_buffer_cuts_only_its_stream_off_after_what_it_holds() {
        let (sender, receiver) = broadcast::channel(16);
        let streams = EventStreams::start(limits(), receiver);
        let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut slow = streams.open(alice).expect("alice's");
        let mut other = streams.open(bob).expect("bob's");
        for id in 1..=3 {
            sender.send(event(alice, id)).unwrap();
        }
        sender.send(event(bob, 1)).unwrap();

        assert_eq!(other.recv().await.map(|event| event.id), Some(1), "bob's stream flows");
        assert_eq!(slow.recv().await.map(|event| event.id), Some(1));
        assert_eq!(slow.recv().await.map(|event| event.id), Some(2));
        assert!(slow.recv().await.is_none(), "the third did not fit: the stream ends");
        assert!(slow.overflowed());
        assert!(!other.overflowed());
    }

    #[tokio::test]
    async fn closing_ends_streams_without_calling_them_slow() {
        let (_sender, receiver) = broadcast::channel(16);
        let streams = EventStreams::start(limits(), receiver);
        let mut stream = streams.open(Uuid::from_u128(1)).expect("opens");
        streams.close();
        assert!(stream.recv().await.is_none());
        assert!(!stream.overflowed());
    }
}
