//! One webhook endpoint's actor: sends its due deliveries one at a time, oldest first, records each attempt
//! and its outcome, and tells the dispatcher when it has nothing due, so that it can be stopped. A slow or
//! failing receiver holds up only its own actor.

use std::sync::Arc;

use chrono::Utc;
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::retry;
use super::send::{send, SendLimits, Sent};
use super::{DeliveryContext, DispatcherMsg};
use crate::events::{EventKind, NewEvent};
use crate::instruments;
use crate::webhook::{AttemptOutcome, Delivery, DeliveryAttempt, WebhookId, WebhookTarget};

/// Deliveries read per store query; after a full batch the actor sends itself `Continue`, so that a stop
/// request is not stuck behind a long queue.
const BATCH: u32 = 20;

pub enum EndpointMsg {
    /// From the dispatcher: there may be due work.
    Work,
    /// From itself: the last batch was full.
    Continue,
}

pub struct EndpointArgs {
    pub context: Arc<DeliveryContext>,
    pub webhook: WebhookId,
    pub dispatcher: ActorRef<DispatcherMsg>,
}

pub struct EndpointState {
    args: EndpointArgs,
    /// How many `Work` messages it has handled: the dispatcher stops it only when it has sent no more.
    handled: u64,
}

pub struct WebhookEndpoint;

impl Actor for WebhookEndpoint {
    type Msg = EndpointMsg;
    type State = EndpointState;
    type Arguments = EndpointArgs;

    async fn pre_start(&self, _: ActorRef<Self::Msg>, args: EndpointArgs) -> Result<EndpointState, ActorProcessingErr> {
        Ok(EndpointState { args, handled: 0 })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if matches!(message, EndpointMsg::Work) {
            state.handled += 1;
        }
        let webhook = state.args.webhook;
        let more = state.deliver_batch().await?;
        if more {
            myself.send_message(EndpointMsg::Continue)?;
        } else {
            let _ = state.args.dispatcher.send_message(DispatcherMsg::Idle {
                webhook,
                handled: state.handled,
            });
        }
        Ok(())
    }
}

impl EndpointState {
    /// Sends up to a batch of due deliveries; `true` when the batch was full and more may be due. A store
    /// error fails the actor: the dispatcher restarts the webhook's work at its next sweep.
    async fn deliver_batch(&mut self) -> Result<bool, ActorProcessingErr> {
        let context = &self.args.context;
        let Some(target) = context.store.webhook_target(self.args.webhook).await? else {
            return Ok(false);
        };
        if !target.enabled {
            return Ok(false);
        }
        let due = context.store.due_deliveries(target.id, Utc::now(), BATCH).await?;
        for delivery in &due {
            self.deliver(&target, delivery).await?;
        }
        Ok(due.len() == BATCH as usize)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(webhook_id = target.id, delivery_id = %delivery.id))]
    async fn deliver(&self, target: &WebhookTarget, delivery: &Delivery) -> Result<(), ActorProcessingErr> {
        let context = &self.args.context;
        let limits = SendLimits {
            timeout: context.settings.timeout,
            max_response_bytes: context.settings.max_response_bytes,
            allow_private_networks: context.allow_private_networks,
        };
        let at = Utc::now();
        let sent = send(&context.fetcher, target, delivery, limits).await;
        let outcome = self.outcome(delivery, &sent);
        instruments::webhook_attempt(outcome_label(outcome), sent.latency);
        if let Some(error) = &sent.error {
            tracing::info!(attempt = delivery.attempts + 1, %error, "webhook delivery attempt failed");
        }
        let attempt = DeliveryAttempt {
            delivery: delivery.id,
            webhook: target.id,
            at,
            status_code: sent.status.map(i32::from),
            latency_ms: i64::try_from(sent.latency.as_millis()).unwrap_or(i64::MAX),
            error: sent.error.clone(),
            outcome,
        };
        if let Some(owner) = context.store.record_delivery_attempt(&attempt).await? {
            tracing::warn!(
                webhook_id = target.id,
                "webhook disabled after too many dead deliveries"
            );
            context.events.publish(vec![NewEvent {
                user: owner,
                kind: EventKind::WebhookDisabled,
                feed: None,
                data: serde_json::json!({
                    "webhook_id": target.id,
                    "reason": crate::webhook::DISABLED_FOR_DEAD_DELIVERIES,
                }),
            }]);
        }
        Ok(())
    }

    fn outcome(&self, delivery: &Delivery, sent: &Sent) -> AttemptOutcome {
        let settings = &self.args.context.settings;
        let attempts = delivery.attempts + 1;
        if sent.succeeded() {
            AttemptOutcome::Delivered
        } else if attempts >= settings.max_attempts {
            AttemptOutcome::Dead
        } else {
            let wait = retry::next_wait(settings.retry_base, attempts, sent.retry_after, &mut rand::rng());
            let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            AttemptOutcome::RetryAt(
                Utc::now()
                    .checked_add_signed(wait)
                    .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC),
            )
        }
    }
}

fn outcome_label(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Delivered => "ok",
        AttemptOutcome::RetryAt(_) => "failed",
        AttemptOutcome::Dead => "dead",
    }
}
