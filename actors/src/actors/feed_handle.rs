//! A feed actor's address that counts the messages waiting in its mailbox, which ractor does not report.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, MessagingErr, RpcReplyPort};

use super::feed::FeedMsg;

#[derive(Clone)]
pub struct FeedHandle {
    actor: ActorRef<FeedMsg>,
    waiting: Arc<AtomicUsize>,
}

impl FeedHandle {
    pub fn new(actor: ActorRef<FeedMsg>, waiting: Arc<AtomicUsize>) -> Self {
        FeedHandle { actor, waiting }
    }

    pub fn actor(&self) -> &ActorRef<FeedMsg> {
        &self.actor
    }

    /// The actor took one message from its mailbox.
    pub(super) fn mark_taken(&self) {
        taken(&self.waiting);
    }

    /// Messages sent and not yet taken up by the actor.
    pub fn mailbox_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn send_message(&self, message: FeedMsg) -> Result<(), MessagingErr<FeedMsg>> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.actor.send_message(message).inspect_err(|_| taken(&self.waiting))
    }

    /// Sends a request and waits for the actor's answer.
    pub async fn call<T: Send + 'static>(
        &self,
        message: impl FnOnce(RpcReplyPort<T>) -> FeedMsg,
        timeout: Duration,
    ) -> Result<CallResult<T>, MessagingErr<FeedMsg>> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.actor
            .call(message, Some(timeout))
            .await
            .inspect_err(|_| taken(&self.waiting))
    }
}

/// One message left the mailbox (or never entered it). Never below zero, whoever sent it.
fn taken(waiting: &AtomicUsize) {
    let _ = waiting.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |depth| {
        Some(depth.saturating_sub(1))
    });
}
