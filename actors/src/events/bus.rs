//! The event bus: it collects events that callers publish after their own transaction committed, numbers and
//! stores them a batch per transaction, and only then broadcasts them, so that nothing on a wire can be undone by
//! a crash. On SQLite a flush stores its `article.new` itself, in its own transaction, and hands them to the bus
//! to broadcast. Each user's ids are committed in order, whoever writes them (SQLite has one writer at a time).
//! The bus also prunes the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr};
use tokio::sync::broadcast;

use super::feed_events::{address, FeedEvent};
use super::streams::{EventStreams, StreamLimits};
use super::{Announced, Event, FeedStatusChange, NewArticles, NewEvent};
use crate::instruments;
use crate::store::EventStore;

/// How the bus keeps the log and paces its work.
#[derive(Debug, Clone)]
pub struct EventBusSettings {
    /// Events older than this are pruned.
    pub retention: Duration,
    /// At most this many events are kept per user; older ones are pruned.
    pub max_per_user: u32,
    /// How often the bus prunes.
    pub prune_interval: Duration,
    /// Most events one prune deletes, so that a tick never holds the database long.
    pub prune_limit: u32,
    /// Events the broadcast keeps for in-process listeners; one that falls further behind is told it lagged.
    pub broadcast_capacity: usize,
    /// Most events waiting for the database; beyond it (the database is down for long) the oldest are dropped.
    pub max_waiting: usize,
    /// The live streams' buffers and how many may be open.
    pub streams: StreamLimits,
}

impl Default for EventBusSettings {
    fn default() -> Self {
        EventBusSettings {
            retention: Duration::from_secs(24 * 60 * 60),
            max_per_user: 10_000,
            prune_interval: Duration::from_secs(60),
            prune_limit: 10_000,
            broadcast_capacity: 4_096,
            max_waiting: 100_000,
            streams: StreamLimits::default(),
        }
    }
}

/// The first retry after a failed write, doubled after each further failure up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

pub(crate) enum EventBusMsg {
    /// Events whose cause has committed: store them, then broadcast them.
    Publish(Vec<NewEvent>),
    /// Events about feeds, for each of their subscribers; their cause has committed.
    AboutFeeds(Vec<FeedEvent>),
    /// Write what is waiting (sent by the bus to itself, after the publishes already queued).
    Flush,
    /// The prune timer fired.
    Prune,
}

/// A cheap handle to the bus, for publishers and in-process listeners.
#[derive(Clone)]
pub struct EventBus {
    actor: ActorRef<EventBusMsg>,
    broadcast: broadcast::Sender<Arc<Announced>>,
    streams: EventStreams,
}

impl EventBus {
    /// Starts the bus actor.
    pub async fn spawn(store: Arc<dyn EventStore>, settings: EventBusSettings) -> Result<EventBus, ractor::SpawnErr> {
        let (broadcast, _) = broadcast::channel(settings.broadcast_capacity.max(1));
        let streams = EventStreams::start(settings.streams, broadcast.subscribe());
        let args = EventBusArgs {
            store,
            settings,
            broadcast: broadcast.clone(),
        };
        let (actor, _) = Actor::spawn(None, EventBusActor, args).await?;
        Ok(EventBus {
            actor,
            broadcast,
            streams,
        })
    }

    /// Hands events over, without waiting. Call it only after the transaction that caused them committed.
    /// Once the engine is stopping, events are dropped (and counted).
    pub fn publish(&self, events: Vec<NewEvent>) {
        if events.is_empty() {
            return;
        }
        let count = events.len();
        if self.actor.send_message(EventBusMsg::Publish(events)).is_err() {
            instruments::events_dropped(count);
            tracing::warn!(events = count, "the event bus has stopped; events dropped");
        }
    }

    /// A flush committed new articles without storing their events: one `article.new` per subscriber per feed.
    pub fn articles_stored(&self, new: Vec<NewArticles>) {
        self.publish_about_feeds(new.into_iter().map(FeedEvent::from).collect());
    }

    /// Events that another transaction stored in the log with their cause (a flush's `article.new`), once it
    /// committed: broadcast them now. Two writers' events for one user can reach the broadcast out of id
    /// order; a stream that is handed an id beyond the next one reads the log up to it first.
    pub fn stored(&self, events: Vec<Event>) {
        broadcast_stored(&self.broadcast, events);
    }

    /// Feeds' stored status changed (committed): one `feed.status` per subscriber per feed. Their webhook
    /// deliveries were put in the outbox by the transaction that stored the change.
    pub fn feed_status_changed(&self, changes: Vec<FeedStatusChange>) {
        self.publish_about_feeds(changes.into_iter().map(FeedEvent::from).collect());
    }

    fn publish_about_feeds(&self, events: Vec<FeedEvent>) {
        if events.is_empty() {
            return;
        }
        let count = events.len();
        if self.actor.send_message(EventBusMsg::AboutFeeds(events)).is_err() {
            instruments::events_dropped(count);
            tracing::warn!(events = count, "the event bus has stopped; feed events dropped");
        }
    }

    /// Every event once it is stored, in store order, with the moment its commit returned. A listener that falls
    /// more than the broadcast's capacity behind gets `RecvError::Lagged` and should treat it as a gap.
    pub fn watch(&self) -> broadcast::Receiver<Arc<Announced>> {
        self.broadcast.subscribe()
    }

    /// The live streams, each fed its user's events as they are stored.
    pub fn streams(&self) -> &EventStreams {
        &self.streams
    }

    pub(crate) fn actor(&self) -> &ActorRef<EventBusMsg> {
        &self.actor
    }
}

struct EventBusActor;

struct EventBusArgs {
    store: Arc<dyn EventStore>,
    settings: EventBusSettings,
    broadcast: broadcast::Sender<Arc<Announced>>,
}

struct EventBusState {
    store: Arc<dyn EventStore>,
    settings: EventBusSettings,
    broadcast: broadcast::Sender<Arc<Announced>>,
    /// Published events not yet stored, in publish order.
    waiting: Vec<NewEvent>,
    /// Whether a `Flush` is queued or a retry is armed: at most one at a time.
    flush_queued: bool,
    /// Failed writes in a row; the next retry waits longer for each.
    failed_writes: u32,
    prune_timer: Option<JoinHandle<Result<(), MessagingErr<EventBusMsg>>>>,
}

impl Actor for EventBusActor {
    type Msg = EventBusMsg;
    type State = EventBusState;
    type Arguments = EventBusArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<EventBusMsg>,
        args: EventBusArgs,
    ) -> Result<EventBusState, ActorProcessingErr> {
        let prune_timer = Some(myself.send_after(args.settings.prune_interval, || EventBusMsg::Prune));
        Ok(EventBusState {
            store: args.store,
            settings: args.settings,
            broadcast: args.broadcast,
            waiting: Vec::new(),
            flush_queued: false,
            failed_writes: 0,
            prune_timer,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<EventBusMsg>,
        message: EventBusMsg,
        state: &mut EventBusState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            EventBusMsg::Publish(events) => {
                state.take(events);
                if !state.flush_queued {
                    // Queued behind the publishes already in the mailbox, so one write carries them all.
                    state.flush_queued = myself.send_message(EventBusMsg::Flush).is_ok();
                }
            }
            EventBusMsg::AboutFeeds(events) => {
                let addressed = state.address(events).await;
                state.take(addressed);
                if !state.flush_queued {
                    state.flush_queued = myself.send_message(EventBusMsg::Flush).is_ok();
                }
            }
            EventBusMsg::Flush => {
                state.flush_queued = false;
                if let Err(delay) = state.write().await {
                    myself.send_after(delay, || EventBusMsg::Flush);
                    state.flush_queued = true;
                }
            }
            EventBusMsg::Prune => {
                state.prune().await;
                state.prune_timer = Some(myself.send_after(state.settings.prune_interval, || EventBusMsg::Prune));
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<EventBusMsg>,
        state: &mut EventBusState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.prune_timer.take() {
            timer.abort();
        }
        // A stopping bus takes no more messages: what is waiting is written now, once.
        if !state.waiting.is_empty() && state.write().await.is_err() {
            instruments::events_dropped(state.waiting.len());
            tracing::error!(
                events = state.waiting.len(),
                "the event bus stopped with events it could not store"
            );
        }
        Ok(())
    }
}

impl EventBusState {
    /// Adds published events to the waiting ones, dropping the oldest beyond the bound.
    fn take(&mut self, events: Vec<NewEvent>) {
        self.waiting.extend(events);
        let excess = self.waiting.len().saturating_sub(self.settings.max_waiting);
        if excess > 0 {
            self.waiting.drain(..excess);
            instruments::events_dropped(excess);
            tracing::error!(
                dropped = excess,
                "too many events waiting for the database; the oldest were dropped"
            );
        }
    }

    /// One event per subscriber of each event's feed. Without the subscribers (the database is away) the
    /// events are dropped and counted: the feed's state is in the database for a client that reloads.
    async fn address(&self, events: Vec<FeedEvent>) -> Vec<NewEvent> {
        let mut feeds: Vec<_> = events.iter().map(|event| event.feed).collect();
        feeds.sort_unstable();
        feeds.dedup();
        match self.store.subscribers_of_feeds(&feeds).await {
            Ok(subscribers) => address(events, &subscribers),
            Err(error) => {
                instruments::events_dropped(events.len());
                tracing::warn!(%error, feeds = feeds.len(), "could not look up subscribers; feed events dropped");
                Vec::new()
            }
        }
    }

    /// Stores what is waiting in one transaction and broadcasts it. On a transient failure the events stay
    /// and the answer is how long to wait before retrying; any other failure drops them, so one bad batch
    /// cannot stall the bus.
    async fn write(&mut self) -> Result<(), Duration> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let written = self.store.append_events(&self.waiting).await;
        instruments::event_write(started.elapsed());
        match written {
            Ok(stored) => {
                self.waiting.clear();
                self.failed_writes = 0;
                broadcast_stored(&self.broadcast, stored);
                Ok(())
            }
            Err(error) if error.is_transient() => {
                self.failed_writes += 1;
                let delay = retry_delay(self.failed_writes);
                tracing::warn!(
                    %error,
                    events = self.waiting.len(),
                    retry_in_ms = delay.as_millis() as u64,
                    "could not store events; retrying"
                );
                Err(delay)
            }
            Err(error) => {
                instruments::events_dropped(self.waiting.len());
                tracing::error!(?error, events = self.waiting.len(), "could not store events; dropped");
                self.waiting.clear();
                Ok(())
            }
        }
    }

    async fn prune(&mut self) {
        let older_than =
            chrono::Utc::now() - chrono::Duration::from_std(self.settings.retention).unwrap_or(chrono::Duration::MAX);
        match self
            .store
            .prune_events(older_than, self.settings.max_per_user, self.settings.prune_limit)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned the event log"),
            Err(error) => tracing::warn!(%error, "could not prune the event log"),
        }
    }
}

/// Sends events the log holds to the in-process listeners, in order, and counts them as published. Both callers
/// call it as soon as the commit that stored the events returned: that moment goes with them.
fn broadcast_stored(broadcast: &broadcast::Sender<Arc<Announced>>, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let committed = Instant::now();
    instruments::events_published(events.len());
    for event in events {
        // No listener is not an error: the log has the event for whoever connects.
        let _ = broadcast.send(Arc::new(Announced { event, committed }));
    }
}

fn retry_delay(failed_writes: u32) -> Duration {
    FIRST_RETRY_DELAY
        .saturating_mul(1 << failed_writes.saturating_sub(1).min(16))
        .min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_a_cap() {
        assert_eq!(retry_delay(1), FIRST_RETRY_DELAY);
        assert_eq!(retry_delay(2), FIRST_RETRY_DELAY * 2);
        assert_eq!(retry_delay(40), MAX_RETRY_DELAY);
    }
}
