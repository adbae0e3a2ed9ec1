//! The writing against the store: a flush's batches in one transaction and their acks, the one-by-one fallback
//! when the database refuses a flush for its content, the report of a refused batch to its feed actor, and the
//! feed-state updates that carry no entries.

use std::collections::HashSet;
use std::sync::Arc;

use super::plan::{after_failure, AfterFailure};
use super::updates::FeedUpdate;
use super::PendingBatch;
use crate::actors::feed::FeedMsg;
use crate::actors::webhooks::WebhookDeliveries;
use crate::domain::FeedId;
use crate::events::{EventBus, FeedStatusChange};
use crate::instruments;
use crate::store::flush_result::new_articles;
use crate::store::{EngineStore, StoreError, StoredBatch, UnchangedPoll};
use crate::webhook::WebhookId;

/// What a flush did with its batches.
pub struct FlushOutcome {
    /// The feeds whose batches are done with: written and acked, or refused and reported to their actor.
    pub(super) done: Vec<FeedId>,
    /// The batches not written because the database is unavailable, to try again; none of them was acked.
    pub(super) unwritten: Vec<PendingBatch>,
}

/// Writes the batches and acks their feed actors. A batch the database refuses for its content is reported to
/// its own feed actor, so one broken feed never holds the others back.
pub(super) async fn write(
    store: &dyn EngineStore,
    events: &EventBus,
    webhooks: Option<&WebhookDeliveries>,
    waiting: Vec<PendingBatch>,
) -> FlushOutcome {
    let feeds: Vec<FeedId> = waiting.iter().map(PendingBatch::feed_id).collect();
    let (batches, acks): (Vec<_>, Vec<_>) = waiting.into_iter().map(|pending| (pending.batch, pending.ack)).unzip();
    let started = std::time::Instant::now();
    match store.persist_batches(&batches).await {
        Ok(mut stored) => {
            let rows = batches.iter().map(|batch| batch.entries.len()).sum();
            instruments::flushed(rows, started.elapsed());
            tracing::debug!(
                feeds = batches.len(),
                rows,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "flushed"
            );
            announce_new_articles(store, events, webhooks, &mut stored);
            for (ack, result) in acks.into_iter().zip(stored) {
                let _ = ack.reply_to.send_message(FeedMsg::Persisted(result));
            }
            FlushOutcome {
                done: feeds,
                unwritten: Vec::new(),
            }
        }
        Err(error) => {
            let waiting: Vec<PendingBatch> = batches
                .into_iter()
                .zip(acks)
                .map(|(batch, ack)| PendingBatch { batch, ack })
                .collect();
            match after_failure(error.is_transient(), waiting.len()) {
                AfterFailure::Retry => FlushOutcome {
                    done: Vec::new(),
                    unwritten: waiting,
                },
                AfterFailure::Reject => {
                    report_rejected(waiting, error);
                    FlushOutcome {
                        done: feeds,
                        unwritten: Vec::new(),
                    }
                }
                AfterFailure::SplitOneByOne => {
                    tracing::warn!(%error, "batch rejected; writing each feed on its own to find the culprit");
                    write_one_by_one(store, events, webhooks, waiting).await
                }
            }
        }
    }
}

async fn write_one_by_one(
    store: &dyn EngineStore,
    events: &EventBus,
    webhooks: Option<&WebhookDeliveries>,
    waiting: Vec<PendingBatch>,
) -> FlushOutcome {
    let mut outcome = FlushOutcome {
        done: Vec::with_capacity(waiting.len()),
        unwritten: Vec::new(),
    };
    for pending in waiting {
        match store.persist_batches(std::slice::from_ref(&pending.batch)).await {
            Ok(mut stored) => {
                announce_new_articles(store, events, webhooks, &mut stored);
                outcome.done.push(pending.feed_id());
                if let Some(result) = stored.pop() {
                    let _ = pending.ack.reply_to.send_message(FeedMsg::Persisted(result));
                }
            }
            Err(error) if error.is_transient() => outcome.unwritten.push(pending),
            Err(error) => {
                outcome.done.push(pending.feed_id());
                report_rejected(vec![pending], error);
            }
        }
    }
    outcome
}

/// After the commit: broadcasts the `article.new` events the flush stored (taking them out of the answers), or,
/// where the flush does not store them, tells the bus which feeds gained which articles; and nudges the webhooks
/// the commit gave `article.new` deliveries.
fn announce_new_articles(
    store: &dyn EngineStore,
    events: &EventBus,
    webhooks: Option<&WebhookDeliveries>,
    stored: &mut [StoredBatch],
) {
    if let Some(webhooks) = webhooks {
        let nudged: HashSet<_> = stored.iter().flat_map(|batch| batch.webhooks.iter().copied()).collect();
        for webhook in nudged {
            webhooks.nudge(webhook);
        }
    }
    if store.flush_stores_article_new() {
        events.stored(
            stored
                .iter_mut()
                .flat_map(|batch| std::mem::take(&mut batch.events))
                .collect(),
        );
    } else {
        events.articles_stored(new_articles(stored));
    }
}

fn report_rejected(waiting: Vec<PendingBatch>, error: StoreError) {
    let error = Arc::new(error);
    for pending in waiting {
        tracing::warn!(feed_id = pending.batch.feed_id, %error, "the database rejected this feed's entries");
        let _ = pending.ack.reply_to.send_message(FeedMsg::PersistFailed(error.clone()));
    }
}

/// Writes feed-state updates, each feed's in the order given: the unchanged polls in one statement first (per
/// feed, one can only come first), then the errors and failures one by one. The store puts each status change's
/// `feed.status` deliveries in the outbox in the same transaction; they are nudged after the commit, and the
/// change goes to the event bus. Returns those not written because the database is unavailable, in order; an
/// update the database refuses is dropped, since it would be refused again.
pub(super) async fn write_updates(
    store: &dyn EngineStore,
    events: &EventBus,
    webhooks: Option<&WebhookDeliveries>,
    recovered: &mut HashSet<FeedId>,
    updates: Vec<FeedUpdate>,
) -> Vec<FeedUpdate> {
    let nudge = |nudged: Vec<WebhookId>| {
        if let Some(webhooks) = webhooks {
            nudged.into_iter().for_each(|webhook| webhooks.nudge(webhook));
        }
    };
    let unchanged: Vec<UnchangedPoll> = updates
        .iter()
        .filter_map(|update| match update {
            FeedUpdate::Unchanged(poll) => Some(*poll),
            _ => None,
        })
        .collect();
    if !unchanged.is_empty() {
        match store.record_polls_unchanged(&unchanged).await {
            Ok(nudged) => {
                nudge(nudged);
                let back_to_ok: Vec<FeedStatusChange> = unchanged
                    .iter()
                    .filter(|poll| recovered.remove(&poll.feed_id))
                    .map(|poll| FeedStatusChange::ok(poll.feed_id))
                    .collect();
                events.feed_status_changed(back_to_ok);
            }
            Err(error) if error.is_transient() => return updates,
            Err(error) => {
                tracing::warn!(feeds = unchanged.len(), %error, "the database rejected unchanged polls; dropped")
            }
        }
    }
    let mut rest = updates
        .into_iter()
        .filter(|update| !matches!(update, FeedUpdate::Unchanged(_)));
    while let Some(update) = rest.next() {
        let written = match &update {
            FeedUpdate::Unchanged(_) => Ok(Vec::new()),
            FeedUpdate::PollFailed(failure) => {
                store
                    .record_poll_errors(
                        failure.feed_id,
                        &failure.message,
                        failure.status,
                        failure.next_poll_at,
                        failure.failed_polls,
                    )
                    .await
            }
            FeedUpdate::ActorFailed { feed_id, message } => store.record_feed_failed(*feed_id, message).await,
        };
        match written {
            Ok(nudged) => {
                nudge(nudged);
                if let Some(change) = update.status_change() {
                    events.feed_status_changed(vec![change]);
                }
            }
            Err(error) if error.is_transient() => return std::iter::once(update).chain(rest).collect(),
            Err(error) => {
                tracing::warn!(feed_id = update.feed_id(), %error, "the database rejected a feed state; dropped")
            }
        }
    }
    Vec::new()
}
