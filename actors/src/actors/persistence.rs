//! The persistence actor: collects feed actors' batches, writes them in transactions of at most about
//! `max_flush_rows` rows, and acks each feed actor only after its commit. Nothing is acked while the database
//! is down, so no poll state moves forward.
//! A flush runs as its own task, so the actor keeps taking batches meanwhile; as many run at once as the store
//! can write in parallel ([`Store::parallel_flushes`]). A feed has at most one batch in flight, so two
//! flushes never carry batches of one feed.
//! It also collects polls that found nothing new (304s) and records them a flush at a time: they need no ack,
//! since losing one only makes a restarted engine poll that feed a little early.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::feed::FeedMsg;
use super::feed_handle::FeedHandle;
use crate::domain::FeedId;
use crate::instruments;
use crate::store::{FeedBatch, Store, StoreError, UnchangedPoll};

#[derive(Debug, Clone)]
pub struct PersistenceSettings {
    /// Flush as soon as this many entries are waiting.
    pub max_batch_rows: usize,
    /// About the most rows one flush carries, however many wait (a batch larger than this goes alone): it
    /// bounds a transaction's length, and so how long other writers wait behind a flush on SQLite.
    pub max_flush_rows: usize,
    /// Flush at the latest this long after the first entry arrived.
    pub max_batch_delay: Duration,
    /// How many feed batches may wait at once; a feed actor with a batch to hand over waits for a slot.
    pub max_pending_batches: usize,
    pub retry_min_delay: Duration,
    pub retry_max_delay: Duration,
}

impl Default for PersistenceSettings {
    fn default() -> Self {
        PersistenceSettings {
            max_batch_rows: 1000,
            // A bound, not a target: larger flushes write faster per row on SQLite (BENCHMARKS.md), and a
            // 10,000-row one takes under a second there.
            max_flush_rows: 10_000,
            max_batch_delay: Duration::from_millis(50),
            max_pending_batches: 512,
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(10),
        }
    }
}

pub enum PersistenceMsg {
    Store(PendingBatch),
    Unchanged(UnchangedPoll),
    Flush,
    /// A flush task is done; its outcome is in the actor's task set.
    Flushed,
}

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
    /// Rows it counts for against the flush threshold; an empty poll still records its state.
    fn rows(&self) -> usize {
        self.batch.entries.len().max(1)
    }
}

/// How many of the waiting batches, with these rows each, go into one flush: in order, until they reach
/// `max_rows`. At least one, so that a batch larger than `max_rows` is still written.
fn flush_len(rows: impl Iterator<Item = usize>, max_rows: usize) -> usize {
    let mut taken = 0;
    rows.take_while(|rows| {
        let room = taken < max_rows;
        taken += rows;
        room
    })
    .count()
    .max(1)
}

/// Takes the batches out of their acks, so the store can borrow them all without a copy.
fn split(waiting: Vec<PendingBatch>) -> (Vec<FeedBatch>, Vec<Ack>) {
    waiting.into_iter().map(|pending| (pending.batch, pending.ack)).unzip()
}

fn rejoin(batches: Vec<FeedBatch>, acks: Vec<Ack>) -> Vec<PendingBatch> {
    batches
        .into_iter()
        .zip(acks)
        .map(|(batch, ack)| PendingBatch { batch, ack })
        .collect()
}

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
    pub async fn submit(&self, batch: FeedBatch, reply_to: FeedHandle) -> Result<(), String> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|error| error.to_string())?;
        self.actor
            .send_message(PersistenceMsg::Store(PendingBatch {
                batch,
                ack: Ack { reply_to, _slot: slot },
            }))
            .map_err(|error| error.to_string())
    }

    /// Hands over a poll that found nothing new. It takes no slot: each feed has at most one waiting, since a
    /// newer one replaces it.
    pub fn record_unchanged(&self, poll: UnchangedPoll) -> Result<(), String> {
        self.actor
            .send_message(PersistenceMsg::Unchanged(poll))
            .map_err(|error| error.to_string())
    }
}

pub struct PersistenceActor;

pub struct PersistenceArgs {
    pub store: Arc<dyn Store>,
    pub settings: PersistenceSettings,
}

pub struct PersistenceState {
    store: Arc<dyn Store>,
    settings: PersistenceSettings,
    waiting: Vec<PendingBatch>,
    waiting_rows: usize,
    /// The latest unchanged poll of each feed, written with the next flush.
    unchanged: HashMap<FeedId, UnchangedPoll>,
    flush_timer: Option<FlushTimer>,
    /// Failed flushes in a row; while above zero, only the retry timer flushes.
    failed_flushes: u32,
    /// The flushes under way. Each yields the batches it could not write because the database is unavailable.
    flushes: JoinSet<Unwritten>,
    /// How many flushes may run at once.
    parallel_flushes: usize,
}

/// What a flush gives back: nothing, or the batches to try again.
type Unwritten = Result<(), Vec<PendingBatch>>;

impl PersistenceActor {
    pub async fn spawn(
        store: Arc<dyn Store>,
        settings: PersistenceSettings,
    ) -> Result<PersistenceHandle, ractor::SpawnErr> {
        let slots = Arc::new(Semaphore::new(settings.max_pending_batches.max(1)));
        let (actor, _) = Actor::spawn(None, PersistenceActor, PersistenceArgs { store, settings }).await?;
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
        Ok(PersistenceState {
            parallel_flushes: args.store.parallel_flushes().max(1),
            store: args.store,
            settings: args.settings,
            waiting: Vec::new(),
            waiting_rows: 0,
            unchanged: HashMap::new(),
            flush_timer: None,
            failed_flushes: 0,
            flushes: JoinSet::new(),
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
                state.waiting_rows += pending.rows();
                state.waiting.push(pending);
                instruments::persistence_waiting(state.waiting.len());
                state.flush_when_due(&myself).await;
            }
            PersistenceMsg::Unchanged(poll) => {
                if state.unchanged.insert(poll.feed_id, poll).is_none() {
                    state.waiting_rows += 1;
                }
                state.flush_when_due(&myself).await;
            }
            PersistenceMsg::Flush => {
                state.flush_timer = None;
                state.flush(&myself).await;
            }
            PersistenceMsg::Flushed => {
                // Each flush task sends this once, as its last step: its outcome is ready or about to be. Any
                // finished task's outcome will do, since every one sends its own message.
                if let Some(outcome) = state.flushes.join_next().await {
                    state.flush_finished(&myself, outcome);
                }
                state.flush_when_due(&myself).await;
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        // One last attempt on shutdown; what is not acked here is fetched again after the restart.
        if let Some(timer) = state.flush_timer.take() {
            timer.abort();
        }
        if let Err(unwritten) = state.write_unchanged().await {
            tracing::warn!(feeds = unwritten, "could not record the last unchanged polls");
        }
        // The flushes under way finish first; what they could not write joins the last one.
        let mut waiting = std::mem::take(&mut state.waiting);
        while let Some(outcome) = state.flushes.join_next().await {
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(unwritten)) => waiting.extend(unwritten),
                Err(error) => tracing::error!(%error, "a flush task failed"),
            }
        }
        if !waiting.is_empty() {
            if let Err(unwritten) = write(state.store.as_ref(), waiting).await {
                tracing::warn!(
                    feeds = unwritten.len(),
                    "final flush failed; those feeds will be fetched again after restart"
                );
            }
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
        if self.waiting_rows == 0 {
            return;
        }
        if self.failed_flushes == 0 && self.waiting_rows >= self.settings.max_batch_rows {
            self.flush(myself).await;
        } else if self.flush_timer.is_none() {
            self.flush_timer = Some(send_flush_after(myself, self.settings.max_batch_delay));
        }
    }

    /// Records the unchanged polls and starts a flush of the waiting batches, unless as many flushes as may run
    /// at once are under way: then the first to finish calls again.
    async fn flush(&mut self, myself: &ActorRef<PersistenceMsg>) {
        if let Some(timer) = self.flush_timer.take() {
            timer.abort();
        }
        if self.flushes.len() >= self.parallel_flushes {
            return;
        }
        // Unchanged polls first: a batch in the same flush is from a later poll of its feed.
        let unchanged_result = self.write_unchanged().await;
        // A flush carries about `max_flush_rows` at most, so that the database's writer (SQLite has one) is
        // free for other requests in between. A first flush always starts; more, on a store that writes in
        // parallel, only while at least `max_batch_rows` more wait and the database is not failing.
        let mut first = true;
        while !self.waiting.is_empty()
            && self.flushes.len() < self.parallel_flushes
            && (first || (self.failed_flushes == 0 && self.batch_rows() >= self.settings.max_batch_rows))
        {
            first = false;
            let count = flush_len(
                self.waiting.iter().map(PendingBatch::rows),
                self.settings.max_flush_rows,
            );
            let chunk: Vec<PendingBatch> = self.waiting.drain(..count).collect();
            let store = Arc::clone(&self.store);
            let myself = myself.clone();
            self.flushes.spawn(async move {
                let unwritten = write(store.as_ref(), chunk).await;
                // The actor may have stopped; then post_stop collects this outcome.
                let _ = myself.send_message(PersistenceMsg::Flushed);
                unwritten
            });
        }
        self.waiting_rows = self.unchanged.len() + self.batch_rows();
        // What is left goes after the usual delay at the latest; while the database fails, the retry timer
        // sends it.
        if !self.waiting.is_empty() && self.failed_flushes == 0 && self.flush_timer.is_none() {
            self.flush_timer = Some(send_flush_after(myself, self.settings.max_batch_delay));
        }
        match unchanged_result {
            Ok(()) if self.flushes.is_empty() => self.failed_flushes = 0,
            Ok(()) => {}
            Err(_) => self.flush_failed(myself, Vec::new()),
        }
        instruments::persistence_waiting(self.waiting.len());
    }

    fn flush_finished(
        &mut self,
        myself: &ActorRef<PersistenceMsg>,
        outcome: Result<Unwritten, tokio::task::JoinError>,
    ) {
        match outcome {
            Ok(Ok(())) => self.failed_flushes = 0,
            Ok(Err(unwritten)) => self.flush_failed(myself, unwritten),
            // A panic in the store: those feeds get no ack, and are fetched again after a restart.
            Err(error) => tracing::error!(%error, "a flush task failed"),
        }
        instruments::persistence_waiting(self.waiting.len());
    }

    /// Keeps what could not be written for a retry after a backoff; nothing of it is acked.
    fn flush_failed(&mut self, myself: &ActorRef<PersistenceMsg>, unwritten: Vec<PendingBatch>) {
        self.failed_flushes += 1;
        instruments::flush_failed();
        self.waiting_rows += unwritten.iter().map(PendingBatch::rows).sum::<usize>();
        self.waiting.extend(unwritten);
        let delay = self.retry_delay();
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

    fn retry_delay(&self) -> Duration {
        let doublings = self.failed_flushes.saturating_sub(1).min(16);
        self.settings
            .retry_min_delay
            .saturating_mul(1 << doublings)
            .min(self.settings.retry_max_delay)
    }

    /// Records the waiting unchanged polls. On a transient error they stay for the next flush (a newer poll of
    /// a feed replaces its entry meanwhile); a rejected write drops them, since it would be rejected again.
    /// Returns how many are still waiting on failure.
    async fn write_unchanged(&mut self) -> Result<(), usize> {
        if self.unchanged.is_empty() {
            return Ok(());
        }
        let polls: Vec<UnchangedPoll> = self.unchanged.values().copied().collect();
        match self.store.record_polls_unchanged(&polls).await {
            Ok(()) => {
                self.unchanged.clear();
                Ok(())
            }
            Err(error) if error.is_transient() => Err(polls.len()),
            Err(error) => {
                tracing::warn!(feeds = polls.len(), %error, "the database rejected unchanged polls; dropped");
                self.unchanged.clear();
                Ok(())
            }
        }
    }
}

/// Writes the batches and acks their feed actors. Returns the batches that could not be written because the
/// database is unavailable. A batch the database rejects for its content is reported to its own feed actor, so
/// one broken feed never holds the others back.
async fn write(store: &dyn Store, waiting: Vec<PendingBatch>) -> Unwritten {
    let (batches, acks) = split(waiting);
    let started = std::time::Instant::now();
    match store.persist_batches(&batches).await {
        Ok(stored) => {
            let rows = batches.iter().map(|batch| batch.entries.len()).sum();
            instruments::flushed(rows, started.elapsed());
            tracing::debug!(
                feeds = batches.len(),
                rows,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "flushed"
            );
            for (ack, result) in acks.into_iter().zip(stored) {
                let _ = ack.reply_to.send_message(FeedMsg::Persisted(result));
            }
            Ok(())
        }
        Err(error) if error.is_transient() => Err(rejoin(batches, acks)),
        Err(error) if batches.len() == 1 => {
            report_rejected(rejoin(batches, acks), error);
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "batch rejected; writing each feed on its own to find the culprit");
            write_one_by_one(store, rejoin(batches, acks)).await
        }
    }
}

async fn write_one_by_one(store: &dyn Store, waiting: Vec<PendingBatch>) -> Unwritten {
    let mut unwritten = Vec::new();
    for pending in waiting {
        match store.persist_batches(std::slice::from_ref(&pending.batch)).await {
            Ok(mut stored) => {
                if let Some(result) = stored.pop() {
                    let _ = pending.ack.reply_to.send_message(FeedMsg::Persisted(result));
                }
            }
            Err(error) if error.is_transient() => unwritten.push(pending),
            Err(error) => report_rejected(vec![pending], error),
        }
    }
    if unwritten.is_empty() {
        Ok(())
    } else {
        Err(unwritten)
    }
}

fn report_rejected(waiting: Vec<PendingBatch>, error: StoreError) {
    let error = Arc::new(error);
    for pending in waiting {
        tracing::warn!(feed_id = pending.batch.feed_id, %error, "the database rejected this feed's entries");
        let _ = pending.ack.reply_to.send_message(FeedMsg::PersistFailed(error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::flush_len;

    #[test]
    fn a_flush_takes_batches_until_it_reaches_the_row_limit() {
        assert_eq!(
            flush_len([20, 20, 20, 20].into_iter(), 50),
            3,
            "20 + 20 is under 50, so a third joins"
        );
        assert_eq!(flush_len([25, 25, 25].into_iter(), 50), 2, "25 + 25 reaches 50");
        assert_eq!(flush_len([10, 10].into_iter(), 1000), 2, "everything, when less waits");
    }

    #[test]
    fn a_batch_over_the_limit_is_flushed_on_its_own() {
        assert_eq!(flush_len([5000, 20].into_iter(), 1000), 1);
        assert_eq!(flush_len([20, 5000, 20].into_iter(), 1000), 2);
    }
}
