//! Webhook delivery: a dispatcher that supervises one actor per webhook endpoint, spawned when the webhook has
//! due deliveries and stopped when it has none. The outbox in the store is the queue: deliveries are inserted
//! in the transaction of what they announce, and a nudge after the commit (or the dispatcher's timer, armed for
//! the next delivery due, and its periodic sweep) starts the endpoint's actor. A delivery is marked only after
//! its attempt, so one interrupted by a crash is sent again: at least once.

mod endpoint;
mod retry;
mod send;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SupervisionEvent};

use self::endpoint::{EndpointArgs, EndpointMsg, WebhookEndpoint};
use crate::events::EventBus;
use crate::fetch::Fetcher;
use crate::store::Store;
use crate::webhook::WebhookId;

/// How deliveries are sent and retried.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The wait after a first failed attempt; each further one waits four times longer, with jitter.
    pub retry_base: Duration,
    /// Attempts before a delivery is `dead`.
    pub max_attempts: i32,
    /// One attempt's limit, connecting and reading the response included.
    pub timeout: Duration,
    /// The most of a response body read.
    pub max_response_bytes: usize,
    /// The longest the dispatcher goes without looking for due deliveries in the store.
    pub sweep_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_base: Duration::from_secs(15),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            sweep_interval: Duration::from_secs(30),
        }
    }
}

/// What the endpoint actors share.
pub struct DeliveryContext {
    pub store: Arc<dyn Store>,
    pub fetcher: Fetcher,
    pub events: EventBus,
    pub settings: WebhookSettings,
    pub allow_private_networks: bool,
}

pub enum DispatcherMsg {
    /// A webhook has a delivery due now (sent after the commit that inserted it).
    Nudge(WebhookId),
    /// Look in the store for webhooks with deliveries due.
    Sweep,
    /// An endpoint actor found nothing due after handling `handled` of the dispatcher's `Work` messages.
    Idle { webhook: WebhookId, handled: u64 },
}

/// The cheap, fire-and-forget door other actors use: `nudge` after committing a delivery.
#[derive(Clone)]
pub struct WebhookDeliveries {
    dispatcher: ActorRef<DispatcherMsg>,
}

impl WebhookDeliveries {
    /// Starts the dispatcher, which sweeps the store at once: deliveries left by the last run go out.
    pub async fn spawn(context: DeliveryContext) -> Result<WebhookDeliveries, ractor::SpawnErr> {
        let (dispatcher, _) = Actor::spawn(None, WebhookDispatcher, Arc::new(context)).await?;
        Ok(WebhookDeliveries { dispatcher })
    }

    /// Sends the webhook's due deliveries now rather than at the next sweep. Never blocks; a stopped
    /// dispatcher is ignored (the deliveries wait in the store for the next start).
    pub fn nudge(&self, webhook: WebhookId) {
        let _ = self.dispatcher.send_message(DispatcherMsg::Nudge(webhook));
    }

    /// Looks for due deliveries now (after a redelivery, or a commit whose webhooks are not known).
    pub fn sweep(&self) {
        let _ = self.dispatcher.send_message(DispatcherMsg::Sweep);
    }

    pub fn stop(&self) {
        self.dispatcher.stop(None);
    }
}

pub struct WebhookDispatcher;

pub struct DispatcherState {
    context: Arc<DeliveryContext>,
    running: HashMap<WebhookId, Running>,
    timer: Option<JoinHandle<Result<(), ractor::MessagingErr<DispatcherMsg>>>>,
}

struct Running {
    actor: ActorRef<EndpointMsg>,
    /// `Work` messages sent to it.
    sent: u64,
}

/// Webhooks started per sweep; the next sweep follows at once when there were more.
const SWEEP_LIMIT: u32 = 1_000;
/// How long to wait before sweeping again after the store failed or an endpoint actor crashed.
const RETRY_WAIT: Duration = Duration::from_secs(1);

impl Actor for WebhookDispatcher {
    type Msg = DispatcherMsg;
    type State = DispatcherState;
    type Arguments = Arc<DeliveryContext>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        context: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_message(DispatcherMsg::Sweep)?;
        Ok(DispatcherState {
            context,
            running: HashMap::new(),
            timer: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            DispatcherMsg::Nudge(webhook) => state.ensure(&myself, webhook).await,
            DispatcherMsg::Sweep => state.sweep(&myself).await,
            DispatcherMsg::Idle { webhook, handled } => {
                if state
                    .running
                    .get(&webhook)
                    .is_some_and(|running| running.sent == handled)
                {
                    if let Some(running) = state.running.remove(&webhook) {
                        running.actor.stop(None);
                    }
                    // Its next retry may be sooner than the timer.
                    state.arm_for_next_due(&myself).await;
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, error) = &event {
            tracing::warn!(%error, "a webhook endpoint actor failed; its deliveries are retried at the next sweep");
            state.forget(cell);
            state.arm(&myself, RETRY_WAIT);
        } else if let SupervisionEvent::ActorTerminated(cell, _, _) = &event {
            state.forget(cell);
        }
        Ok(())
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.timer.take() {
            timer.abort();
        }
        Ok(())
    }
}

impl DispatcherState {
    /// Starts the webhook's actor, or tells the running one there is work.
    async fn ensure(&mut self, myself: &ActorRef<DispatcherMsg>, webhook: WebhookId) {
        if let Some(running) = self.running.get_mut(&webhook) {
            if running.actor.send_message(EndpointMsg::Work).is_ok() {
                running.sent += 1;
                return;
            }
            self.running.remove(&webhook);
        }
        let args = EndpointArgs {
            context: self.context.clone(),
            webhook,
            dispatcher: myself.clone(),
        };
        match Actor::spawn_linked(None, WebhookEndpoint, args, myself.get_cell()).await {
            Ok((actor, _)) if actor.send_message(EndpointMsg::Work).is_ok() => {
                self.running.insert(webhook, Running { actor, sent: 1 });
            }
            Ok((actor, _)) => actor.stop(None),
            Err(error) => {
                tracing::warn!(webhook_id = webhook, %error, "could not start a webhook endpoint actor");
                self.arm(myself, RETRY_WAIT);
            }
        }
    }

    /// Starts an actor for each webhook with a delivery due, then arms the timer for the next one due.
    async fn sweep(&mut self, myself: &ActorRef<DispatcherMsg>) {
        let due = match self.context.store.due_webhooks(Utc::now(), SWEEP_LIMIT).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not find webhooks with due deliveries; trying again shortly");
                self.arm(myself, RETRY_WAIT);
                return;
            }
        };
        for webhook in due {
            if !self.running.contains_key(&webhook) {
                self.ensure(myself, webhook).await;
            }
        }
        self.arm_for_next_due(myself).await;
    }

    /// Arms the timer for the next delivery due of a webhook without a running actor, or the sweep interval.
    async fn arm_for_next_due(&mut self, myself: &ActorRef<DispatcherMsg>) {
        let busy: Vec<WebhookId> = self.running.keys().copied().collect();
        let wait = match self.context.store.next_delivery_due(&busy).await {
            Ok(Some(due)) => (due - Utc::now()).to_std().unwrap_or(Duration::ZERO),
            Ok(None) => self.context.settings.sweep_interval,
            Err(error) => {
                tracing::warn!(%error, "could not find the next webhook delivery due; trying again shortly");
                RETRY_WAIT
            }
        };
        let wait = wait.clamp(Duration::from_millis(10), self.context.settings.sweep_interval);
        self.arm(myself, wait);
    }

    fn forget(&mut self, cell: &ActorCell) {
        self.running
            .retain(|_, running| running.actor.get_id() != cell.get_id());
    }

    fn arm(&mut self, myself: &ActorRef<DispatcherMsg>, wait: Duration) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        self.timer = Some(myself.send_after(wait, || DispatcherMsg::Sweep));
    }
}
