//! The persistence actor, the one writer of feed state: it collects feed actors' batches, writes them in
//! transactions of at most about `max_flush_rows` rows, and acks each feed actor only after its commit. Nothing
//! is acked while the database is down, so no poll state moves forward.
//!
//! A flush runs as its own task, so the actor keeps taking batches meanwhile; as many run at once as the store
//! can write in parallel ([`Store::parallel_flushes`]). A finished flush reports back in a `Flushed` message. A
//! feed has at most one batch in flight, so two flushes never carry batches of one feed.
//!
//! It also collects the feed-state changes that carry no entries: polls that found nothing new (304s), failed
//! polls, and meltdowns. They are written a flush at a time, in order per feed with the batches (`updates`):
//! whatever arrived last for a feed is what its row says. An unchanged poll needs no ack, since losing one only
//! makes a restarted engine poll that feed a little early.
//!
//! This module holds the messages and the actor's flow control; `plan` decides what a flush takes and how it
//! retries, `writer` does the writing.

mod plan;
mod updates;
mod writer;

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use self::plan::{flush_len, FlushRound};
use self::updates::WaitingUpdates;
use self::writer::FlushOutcome;
use super::feed_handle::FeedHandle;
use crate::actors::webhooks::WebhookDeliveries;
use crate::domain::FeedId;
use crate::events::EventBus;
use crate::instruments;
use crate::store::{EngineStore, FeedBatch, UnchangedPoll};

pub use self::plan::PersistenceSettings;
pub use self::updates::{FeedUpdate, PollFailure};

pub enum PersistenceMsg {
    /// A poll's entries and state: write them, then ack the feed actor.
    Store(PendingBatch),
    /// A poll found nothing new; `recovered` when the feed's status was another than ok before it.
    Unchanged { poll: UnchangedPoll, recovered: bool },
    /// A poll failed; the feed actor has already scheduled its retry.
    PollFailed(PollFailure),
    /// A feed's actor crashed too often and the supervisor parked it.
    ActorFailed { feed_id: FeedId, message: String },
    /// The flush timer fired.
    Flush,
    /// A flush task is done: which feeds it finished, and what it could not write.
    Flushed(FlushReport),
}

/// A finished flush, as its task reports it.
pub struct FlushReport {
    flush: FlushId,
    outcome: FlushOutcome,
}

type FlushId = u64;

/// A batch waiting to be written, with the feed actor to ack and the slot it holds.
pub struct PendingBatch {
    batch: FeedBatch,
    ack: Ack,
}

/// Who to tell once a batch is written, and the slot to give back then.
struct Ack {
    reply_to: FeedHandle,
    _slot: OwnedSemaphorePermit,
}

impl PendingBatch {
    fn feed_id(&self) -> FeedId {
        self.batch.feed_id
    }

    /// Rows it counts for against the flush threshold; an empty poll still records its state.
    fn rows(&self) -> usize {
        self.batch.entries.len().max(1)
    }
}

/// The persistence actor has stopped (the engine is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the persistence actor has stopped")]
pub struct PersistenceStopped;

/// What feed actors hold to hand batches over. The semaphore bounds the mailbox: a slow database slows the
/// feed actors down instead of growing memory.
#[derive(Clone)]
pub struct PersistenceHandle {
    actor: ActorRef<PersistenceMsg>,
    slots: Arc<Semaphore>,
}

impl PersistenceHandle {
    pub fn actor(&self) -> &ActorRef<PersistenceMsg> {
        &self.actor
    }

    /// Hands a batch over, waiting for a free slot. The ack arrives later as `FeedMsg::Persisted`.
    pub async fn submit(&self, batch: FeedBatch, reply_to: FeedHandle) -> Result<(), PersistenceStopped> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PersistenceStopped)?;
        self.send(PersistenceMsg::Store(PendingBatch {
            batch,
            ack: Ack { reply_to, _slot: slot },
        }))
    }

    /// Hands over a poll that found nothing new. It takes no slot: each feed has at most one waiting, since a
    /// newer one replaces it.
    pub fn record_unchanged(&self, poll: UnchangedPoll) -> Result<(), PersistenceStopped> {
        self.send(PersistenceMsg::Unchanged { poll, recovered: false })
    }

    /// Hands over a poll that found nothing new after the feed failed: once written, the feed's subscribers
    /// are told it is ok again.
    pub fn record_recovered(&self, poll: UnchangedPoll) -> Result<(), PersistenceStopped> {
        self.send(PersistenceMsg::Unchanged { poll, recovered: true })
    }

    /// Hands over a failed poll. It takes no slot: a feed actor fails a poll at most once per backoff.
    pub fn record_poll_failed(&self, failure: PollFailure) -> Result<(), PersistenceStopped> {
        self.send(PersistenceMsg::PollFailed(failure))
    }

    /// Parks a feed whose actor crashed too often.
    pub fn record_actor_failed(&self, feed_id: FeedId, message: String) -> Result<(), PersistenceStopped> {
        self.send(PersistenceMsg::ActorFailed { feed_id, message })
    }

    fn send(&self, message: PersistenceMsg) -> Result<(), PersistenceStopped> {
        self.actor.send_message(message).map_err(|_| PersistenceStopped)
    }
}

pub struct PersistenceActor;

pub struct PersistenceArgs {
    pub store: Arc<dyn EngineStore>,
    /// Told what each commit changed, for the users' events.
    pub events: EventBus,
    /// Nudged after a commit that put webhook deliveries in the outbox.
    pub webhooks: Option<WebhookDeliveries>,
    pub settings: PersistenceSettings,
}

pub struct PersistenceState {
    store: Arc<dyn EngineStore>,
    events: EventBus,
    webhooks: Option<WebhookDeliveries>,
    /// Feeds whose waiting unchanged poll turns them ok again after failures: announced once it is written.
    recovered: HashSet<FeedId>,
    settings: PersistenceSettings,
    /// Batches waiting for a flush, oldest first.
    waiting: Vec<PendingBatch>,
    /// Feed-state changes without entries, waiting for a flush, in order per feed.
    updates: WaitingUpdates,
    /// Batches waiting or being written, per feed. A feed's updates wait while it has one: they are newer.
    batches_of_feed: HashMap<FeedId, usize>,
    flush_timer: Option<FlushTimer>,
    /// Failed flushes in a row; while above zero, only the retry timer flushes.
    failed_flushes: u32,
    /// The flushes under way. Their outcomes arrive as `Flushed` messages; the tasks are kept so that shutdown
    /// can wait for them.
    flushes: HashMap<FlushId, JoinHandle<Option<FlushReport>>>,
    next_flush: FlushId,
    /// How many flushes may run at once.
    parallel_flushes: usize,
}

impl PersistenceActor {
    pub async fn spawn(
        store: Arc<dyn EngineStore>,
        settings: PersistenceSettings,
        events: EventBus,
    ) -> Result<PersistenceHandle, ractor::SpawnErr> {
        Self::spawn_with_webhooks(store, settings, events, None).await
    }

    /// [`PersistenceActor::spawn`], nudging webhook delivery after each commit that gave webhooks deliveries.
    pub async fn spawn_with_webhooks(
        store: Arc<dyn EngineStore>,
        settings: PersistenceSettings,
        events: EventBus,
        webhooks: Option<WebhookDeliveries>,
    ) -> Result<PersistenceHandle, ractor::SpawnErr> {
        let slots = Arc::new(Semaphore::new(settings.max_pending_batches.max(1)));
        let (actor, _) = Actor::spawn(
            None,
            PersistenceActor,
            PersistenceArgs {
                store,
                events,
                webhooks,
                settings,
            },
        )
        .await?;
        Ok(PersistenceHandle { actor, slots })
    }
}

impl Actor for PersistenceActor {
    type Msg = PersistenceMsg;
    type State = PersistenceState;
    type Arguments = PersistenceArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: PersistenceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut settings = args.settings;
        if let Some(rows) = args.store.max_flush_rows() {
            settings.max_flush_rows = settings.max_flush_rows.min(rows);
        }
        Ok(PersistenceState {
            parallel_flushes: args.store.parallel_flushes().max(1),
            store: args.store,
            events: args.events,
            webhooks: args.webhooks,
            recovered: HashSet::new(),
            settings,
            waiting: Vec::new(),
            updates: WaitingUpdates::default(),
            batches_of_feed: HashMap::new(),
            flush_timer: None,
            failed_flushes: 0,
            flushes: HashMap::new(),
            next_flush: 0,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PersistenceMsg::Store(pending) => {
                let feed = pending.feed_id();
                state.updates.superseded_by_batch(feed);
                state.recovered.remove(&feed);
                *state.batches_of_feed.entry(feed).or_default() += 1;
                state.waiting.push(pending);
                instruments::persistence_waiting(state.waiting.len());
            }
            PersistenceMsg::Unchanged { poll, recovered } => {
                if recovered {
                    state.recovered.insert(poll.feed_id);
                }
                state.updates.push(FeedUpdate::Unchanged(poll))
            }
            PersistenceMsg::PollFailed(failure) => state.updates.push(FeedUpdate::PollFailed(failure)),
            PersistenceMsg::ActorFailed { feed_id, message } => {
                state.updates.push(FeedUpdate::ActorFailed { feed_id, message })
            }
            PersistenceMsg::Flush => {
                state.flush_timer = None;
                state.flush(&myself).await;
                return Ok(());
            }
            PersistenceMsg::Flushed(report) => {
                state.flushes.remove(&report.flush);
                state.flush_finished(&myself, report.outcome);
            }
        }
        state.flush_when_due(&myself).await;
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        // One last attempt on shutdown; what is not acked here is fetched again after the restart.
        if let Some(timer) = state.flush_timer.take() {
            timer.abort();
        }
        // The flushes under way finish first. Once the actor stopped taking messages, a flush's report comes
        // back through its task instead; what it could not write joins the last flush.
        for (_, task) in std::mem::take(&mut state.flushes) {
            match task.await {
                Ok(Some(report)) => state.waiting.extend(report.outcome.unwritten),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "a flush task failed"),
            }
        }
        let waiting = std::mem::take(&mut state.waiting);
        if !waiting.is_empty() {
            let outcome = writer::write(state.store.as_ref(), &state.events, state.webhooks.as_ref(), waiting).await;
            if !outcome.unwritten.is_empty() {
                tracing::warn!(
                    feeds = outcome.unwritten.len(),
                    "final flush failed; those feeds will be fetched again after restart"
                );
            }
        }
        // The updates last: one that waited for its feed's batch is newer than it.
        let updates = state.updates.take_ready(|_| false);
        let unwritten = writer::write_updates(
            state.store.as_ref(),
            &state.events,
            state.webhooks.as_ref(),
            &mut state.recovered,
            updates,
        )
        .await;
        if !unwritten.is_empty() {
            tracing::warn!(feeds = unwritten.len(), "could not record the last feed states");
        }
        Ok(())
    }
}

type FlushTimer = JoinHandle<Result<(), MessagingErr<PersistenceMsg>>>;

fn send_flush_after(myself: &ActorRef<PersistenceMsg>, delay: Duration) -> FlushTimer {
    myself.send_after(delay, || PersistenceMsg::Flush)
}

impl PersistenceState {
    /// Flushes now when enough rows wait (and the database is not failing), else makes sure a timer will.
    async fn flush_when_due(&mut self, myself: &ActorRef<PersistenceMsg>) {
        let waiting_rows = self.batch_rows() + self.updates.len();
        if waiting_rows == 0 {
            return;
        }
        if self.settings.flush_now(waiting_rows, self.failed_flushes) {
            self.flush(myself).await;
        } else if self.flush_timer.is_none() {
            self.flush_timer = Some(send_flush_after(myself, self.settings.max_batch_delay));
        }
    }

    /// Records the feed-state updates that are not waiting for a batch, and starts flushes of the waiting
    /// batches, unless as many flushes as may run at once are under way: then the first to finish calls again.
    async fn flush(&mut self, myself: &ActorRef<PersistenceMsg>) {
        if let Some(timer) = self.flush_timer.take() {
            timer.abort();
        }
        if self.flushes.len() >= self.parallel_flushes {
            return;
        }
        // Before the batches start: none of these updates' feeds has a batch waiting or being written.
        let updates_written = self.write_ready_updates().await;
        // A flush carries about `max_flush_rows` at most, so that the database's writer (SQLite has one) is
        // free for other requests in between.
        let mut first = true;
        while !self.waiting.is_empty()
            && self.settings.start_another(FlushRound {
                first,
                running: self.flushes.len(),
                parallel: self.parallel_flushes,
                failed_flushes: self.failed_flushes,
                batch_rows: self.batch_rows(),
            })
        {
            first = false;
            let count = flush_len(
                self.waiting.iter().map(PendingBatch::rows),
                self.settings.max_flush_rows,
            );
            let chunk: Vec<PendingBatch> = self.waiting.drain(..count).collect();
            self.start_flush(myself, chunk);
        }
        // What is left goes after the usual delay at the latest; while the database fails, the retry timer
        // sends it.
        if !self.waiting.is_empty() && self.failed_flushes == 0 && self.flush_timer.is_none() {
            self.flush_timer = Some(send_flush_after(myself, self.settings.max_batch_delay));
        }
        match updates_written {
            true if self.flushes.is_empty() => self.failed_flushes = 0,
            true => {}
            false => self.flush_failed(myself, Vec::new()),
        }
        instruments::persistence_waiting(self.waiting.len());
    }

    /// Writes a chunk in a task of its own, which reports back in a `Flushed` message.
    fn start_flush(&mut self, myself: &ActorRef<PersistenceMsg>, chunk: Vec<PendingBatch>) {
        let flush = self.next_flush;
        self.next_flush += 1;
        let store = Arc::clone(&self.store);
        let events = self.events.clone();
        let webhooks = self.webhooks.clone();
        let myself = myself.clone();
        let task = tokio::spawn(async move {
            let feeds: Vec<FeedId> = chunk.iter().map(PendingBatch::feed_id).collect();
            let outcome = match AssertUnwindSafe(writer::write(store.as_ref(), &events, webhooks.as_ref(), chunk))
                .catch_unwind()
                .await
            {
                Ok(outcome) => outcome,
                // A panic in the store: those feeds get no ack, and are fetched again after a restart.
                Err(_) => {
                    tracing::error!(feeds = feeds.len(), "a flush task panicked; its batches are dropped");
                    FlushOutcome {
                        done: feeds,
                        unwritten: Vec::new(),
                    }
                }
            };
            // A stopping actor takes no more messages; then the report is the task's result, for post_stop.
            match myself.send_message(PersistenceMsg::Flushed(FlushReport { flush, outcome })) {
                Err(MessagingErr::SendErr(PersistenceMsg::Flushed(report))) => Some(report),
                _ => None,
            }
        });
        self.flushes.insert(flush, task);
    }

    fn flush_finished(&mut self, myself: &ActorRef<PersistenceMsg>, outcome: FlushOutcome) {
        for feed in outcome.done {
            if let Some(batches) = self.batches_of_feed.get_mut(&feed) {
                *batches -= 1;
                if *batches == 0 {
                    self.batches_of_feed.remove(&feed);
                }
            }
        }
        if outcome.unwritten.is_empty() {
            self.failed_flushes = 0;
        } else {
            self.flush_failed(myself, outcome.unwritten);
        }
        instruments::persistence_waiting(self.waiting.len());
    }

    /// Keeps what could not be written for a retry after a backoff; nothing of it is acked.
    fn flush_failed(&mut self, myself: &ActorRef<PersistenceMsg>, unwritten: Vec<PendingBatch>) {
        self.failed_flushes += 1;
        instruments::flush_failed();
        self.waiting.extend(unwritten);
        let delay = self.settings.retry_delay(self.failed_flushes);
        tracing::warn!(
            attempt = self.failed_flushes,
            retry_in_ms = delay.as_millis() as u64,
            "database unavailable; batches kept, nothing acked"
        );
        if let Some(timer) = self.flush_timer.replace(send_flush_after(myself, delay)) {
            timer.abort();
        }
    }

    /// Rows of the batches waiting for a flush.
    fn batch_rows(&self) -> usize {
        self.waiting.iter().map(PendingBatch::rows).sum()
    }

    /// Writes the updates of feeds with no batch waiting or being written. On a transient error they stay for
    /// the next flush, before any newer ones; returns false then.
    async fn write_ready_updates(&mut self) -> bool {
        if self.updates.is_empty() {
            return true;
        }
        let batches_of_feed = &self.batches_of_feed;
        let ready = self.updates.take_ready(|feed| batches_of_feed.contains_key(&feed));
        if ready.is_empty() {
            return true;
        }
        let unwritten = writer::write_updates(
            self.store.as_ref(),
            &self.events,
            self.webhooks.as_ref(),
            &mut self.recovered,
            ready,
        )
        .await;
        let written = unwritten.is_empty();
        self.updates.put_back(unwritten);
        written
    }
}
