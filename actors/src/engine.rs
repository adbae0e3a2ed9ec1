//! The engine handle: starts the actors and is the one door the API uses to reach them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef};

use crate::actors::feed::{FeedContext, FeedMsg, FeedRules, RefreshOutcome};
use crate::actors::feed_handle::FeedHandle;
use crate::actors::jobs::{JobContext, JobRunner, JobRunnerMsg, JobSettings};
use crate::actors::persistence::{PersistenceActor, PersistenceHandle, PersistenceSettings};
use crate::actors::poll_timers::PollTimers;
use crate::actors::polls_in_progress::PollsInProgress;
use crate::actors::router::{RouterArgs, RouterMsg, SubscriptionRouter};
use crate::actors::snapshot::{ActorListing, ActorOrder, ActorRegistry, ActorSnapshot};
use crate::actors::supervisor::{FeedSupervisor, SupervisorArgs, SupervisorMsg};
use crate::actors::timer_wheel::{Nudge, TimerSettings, TimerWheel, TimerWheelArgs, TimerWheelMsg};
use crate::actors::webhooks::{DeliveryContext, WebhookDeliveries, WebhookSettings};
use crate::cache::timeline::{self, TimelineCache, TimelineSettings};
use crate::cache::FeedCache;
use crate::discovery::{FetchBudget, CANDIDATE_FETCHES_PER_REQUEST};
use crate::domain::FeedStatus;
use crate::domain::{FeedId, UserId};
use crate::events::{EventBus, EventBusSettings};
use crate::feed_url::FeedUrl;
use crate::fetch::{FetchSettings, Fetcher};
use crate::icons::IconFinder;
use crate::instruments;
use crate::network_policy;
use crate::store::{
    ApiStore, EngineStore, EventStore, IconStore, JobStore, OrganiseStore, SessionStore, ShareStore, SocialStore,
    Store, StoreError, TimerStore, WebhookStore,
};

/// How one URL of a subscribe request turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeStatus {
    /// The feed's articles were in the cache and are already on the user's timeline.
    Ready,
    /// The feed is being fetched; articles arrive when its first poll is stored.
    Pending,
    /// The URL was refused; `error` says why.
    Invalid,
}

impl SubscribeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscribeStatus::Ready => "ready",
            SubscribeStatus::Pending => "pending",
            SubscribeStatus::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeOutcome {
    /// The URL as the user sent it.
    pub url: String,
    /// The feed subscribed to: the URL sent (normalised), or the feed its page led to.
    pub feed_url: Option<String>,
    pub feed_id: Option<FeedId>,
    pub status: SubscribeStatus,
    pub error: Option<String>,
}

/// The result of each dependency check; `Err` holds a message safe to show.
#[derive(Debug, Clone)]
pub struct Health {
    pub database: Result<(), String>,
    pub cache: Result<(), String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An actor did not answer in time, is gone, or could not be started; the cause is kept for the logs.
    #[error("the engine is unavailable")]
    Unavailable(#[source] Cause),
    /// The user has as many jobs queued as they may.
    #[error("at most {limit} jobs may be queued at once")]
    TooManyJobs { limit: i64 },
    /// More than `limit` items to answer at once: the caller should ask for a job instead.
    #[error("more than {limit} items to answer at once")]
    TooLarge { limit: usize },
    /// Input the engine refuses; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
}

/// The cause of an error, kept whole (with its own sources) so that a log line shows the chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    pub fetch: FetchSettings,
    pub rules: FeedRules,
    pub persistence: PersistenceSettings,
    pub timeline: TimelineSettings,
    pub events: EventBusSettings,
    pub jobs: JobSettings,
    pub webhooks: WebhookSettings,
    pub timers: TimerSettings,
}

/// How long a request waits for an actor's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Most feeds one refresh-stale request polls; the politeness limits pace the fetches themselves.
const STALE_REFRESH_LIMIT: u32 = 100_000;
/// How long a health check waits for a dependency.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the subscribe-time DNS check may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How many feeds one start-up message to the supervisor carries: between two, it answers other requests.
const START_CHUNK: usize = 10_000;

#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    /// The whole store, which the actors share; the API reaches its [`ApiStore`] part only through the
    /// engine's methods (`engine_api.rs`), so no handler can write a batch or import a page.
    store: Arc<dyn Store>,
    cache: FeedCache,
    /// Each user's first timeline pages; every write through the engine that changes them invalidates them.
    timeline: TimelineCache,
    router: ActorRef<RouterMsg>,
    supervisor: ActorRef<SupervisorMsg>,
    persistence: PersistenceHandle,
    events: EventBus,
    webhooks: WebhookDeliveries,
    registry: ActorRegistry,
    polls: PollsInProgress,
    /// The fetcher the feed actors share, which discovery uses too.
    fetcher: Fetcher,
    allow_private_networks: bool,
    /// Set once, right after the engine is built: the runner's workers use the engine itself.
    jobs: std::sync::OnceLock<ActorRef<JobRunnerMsg>>,
    job_settings: JobSettings,
    /// Set once, right after the engine is built, like the job runner.
    timer_wheel: std::sync::OnceLock<ActorRef<TimerWheelMsg>>,
    timer_settings: TimerSettings,
}

/// An actor error as the engine reports it. ractor's errors carry the undelivered message, which need not be
/// `Sync`, so their text is what is kept.
fn unavailable(error: impl std::fmt::Display) -> EngineError {
    EngineError::Unavailable(error.to_string().into())
}

impl Engine {
    /// Starts the persistence actor, the supervisor and the router, and hands the supervisor every subscribed
    /// feed. It returns once the feeds are loaded, while their actors start: requests that need the supervisor
    /// queue behind that start, the others (health, accounts, the timeline) are answered at once.
    pub async fn start(
        settings: EngineSettings,
        store: Arc<dyn Store>,
        cache: FeedCache,
    ) -> Result<Engine, EngineError> {
        let allow_private_networks = settings.fetch.allow_private_networks;
        let fetcher = Fetcher::new(settings.fetch).map_err(unavailable)?;
        let events = EventBus::spawn(store.clone(), settings.events)
            .await
            .map_err(unavailable)?;
        let webhooks = WebhookDeliveries::spawn(DeliveryContext {
            store: store.clone(),
            fetcher: fetcher.clone(),
            events: events.clone(),
            settings: settings.webhooks,
            allow_private_networks,
        })
        .await
        .map_err(unavailable)?;
        let persistence = PersistenceActor::spawn_with_webhooks(
            store.clone(),
            settings.persistence,
            events.clone(),
            Some(webhooks.clone()),
        )
        .await
        .map_err(unavailable)?;
        let registry = ActorRegistry::default();
        let polls = PollsInProgress::default();
        let timeline = TimelineCache::beside(&cache, &settings.timeline);
        tracing::info!(cache = timeline.kind(), "timeline cache chosen");
        // Ends when the bus is dropped with the engine.
        timeline::invalidate_on_new_articles(events.watch(), timeline.clone());
        instruments::describe();
        let context = Arc::new(FeedContext {
            fetcher: fetcher.clone(),
            store: store.clone(),
            cache: cache.clone(),
            persistence: persistence.clone(),
            events: events.clone(),
            rules: settings.rules,
            registry: registry.clone(),
            polls: polls.clone(),
            timers: PollTimers::start(),
            icons: IconFinder::new(fetcher.clone(), store.clone()),
        });
        let (supervisor, _) = Actor::spawn(None, FeedSupervisor, SupervisorArgs { context })
            .await
            .map_err(unavailable)?;
        start_feed_actors(store.as_ref(), &supervisor).await?;
        let router_args = RouterArgs {
            store: store.clone(),
            cache: cache.clone(),
            supervisor: supervisor.clone(),
        };
        let (router, _) = Actor::spawn(None, SubscriptionRouter, router_args)
            .await
            .map_err(unavailable)?;
        let job_settings = settings.jobs;
        let timer_settings = settings.timers;
        let engine = Engine {
            inner: Arc::new(EngineInner {
                store,
                cache,
                timeline,
                router,
                supervisor,
                persistence,
                events,
                webhooks,
                registry,
                polls,
                fetcher,
                allow_private_networks,
                jobs: std::sync::OnceLock::new(),
                job_settings: job_settings.clone(),
                timer_wheel: std::sync::OnceLock::new(),
                timer_settings: timer_settings.clone(),
            }),
        };
        let runner = JobRunner::spawn(JobContext {
            engine: engine.clone(),
            store: engine.inner.store.clone(),
            settings: job_settings,
        })
        .await
        .map_err(unavailable)?;
        let _ = engine.inner.jobs.set(runner);
        let wheel = TimerWheel::spawn(TimerWheelArgs {
            store: engine.inner.store.clone(),
            settings: timer_settings,
            nudge: engine.delivery_nudge(),
        })
        .await
        .map_err(unavailable)?;
        let _ = engine.inner.timer_wheel.set(wheel);
        Ok(engine)
    }

    /// The part of the store the API's reads go through (`engine_api.rs`); not for the API crate itself.
    pub(crate) fn api_store(&self) -> &dyn ApiStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn engine_store(&self) -> &dyn EngineStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn webhook_store(&self) -> &dyn WebhookStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn job_store(&self) -> &dyn JobStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn job_runner(&self) -> Option<&ActorRef<JobRunnerMsg>> {
        self.inner.jobs.get()
    }

    pub(crate) fn job_settings(&self) -> &JobSettings {
        &self.inner.job_settings
    }

    pub(crate) fn icon_store(&self) -> &dyn IconStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn timer_store(&self) -> &dyn TimerStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn session_store(&self) -> &dyn SessionStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn organise_store(&self) -> &dyn OrganiseStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn social_store(&self) -> &dyn SocialStore {
        self.inner.store.as_ref()
    }

    pub(crate) fn share_store(&self) -> &dyn ShareStore {
        self.inner.store.as_ref()
    }

    /// The timer wheel, to inspect it (tests, operators); creating or editing timers tells it already.
    pub fn timer_wheel(&self) -> Option<&ActorRef<TimerWheelMsg>> {
        self.inner.timer_wheel.get()
    }

    pub(crate) fn timer_settings(&self) -> &TimerSettings {
        &self.inner.timer_settings
    }

    /// How the timer wheel tells the webhook deliveries that one is due now.
    fn delivery_nudge(&self) -> Nudge {
        let deliveries = self.webhook_deliveries().clone();
        std::sync::Arc::new(move |webhook| deliveries.nudge(webhook))
    }

    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    /// The polls under way, which a shutdown waits for.
    pub(crate) fn polls(&self) -> &PollsInProgress {
        &self.inner.polls
    }

    pub(crate) fn timeline(&self) -> &TimelineCache {
        &self.inner.timeline
    }

    pub(crate) fn event_store(&self) -> &dyn EventStore {
        self.inner.store.as_ref()
    }

    /// The event bus: publish events after a commit, or watch them as they are stored.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Webhook delivery: nudge it after committing a delivery, so that it goes out at once.
    pub fn webhook_deliveries(&self) -> &WebhookDeliveries {
        &self.inner.webhooks
    }

    /// Subscribes a user to each URL; one bad URL does not fail the others. A URL that is not a known feed is
    /// fetched here: an HTML page is replaced by the first feed it leads to (`engine_discovery.rs`), and a
    /// feed's fetch becomes its first poll.
    pub async fn subscribe(&self, user: UserId, urls: Vec<String>) -> Result<Vec<SubscribeOutcome>, EngineError> {
        let budget = FetchBudget::new(CANDIDATE_FETCHES_PER_REQUEST);
        let found = futures::future::join_all(urls.into_iter().map(|url| self.subscribe_target(url, &budget))).await;
        let mut outcomes: Vec<Option<SubscribeOutcome>> = Vec::with_capacity(found.len());
        let mut accepted = Vec::new();
        let mut positions = Vec::new();
        for (index, target) in found.into_iter().enumerate() {
            match target? {
                Ok(target) => {
                    accepted.push(target);
                    positions.push(index);
                    outcomes.push(None);
                }
                Err(refused) => outcomes.push(Some(refused)),
            }
        }
        if !accepted.is_empty() {
            let routed = self
                .call_router(|reply| RouterMsg::Subscribe {
                    user,
                    targets: accepted,
                    reply,
                })
                .await;
            // Whatever the answer: the router may have shown the user articles before failing.
            self.inner.timeline.invalidate(user).await;
            let routed = routed??;
            for (index, outcome) in positions.into_iter().zip(routed) {
                outcomes[index] = Some(outcome);
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Unsubscribes a user; `Err(Store(NotFound))` when the user was not subscribed.
    pub async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<(), EngineError> {
        let unsubscribed = self
            .call_router(|reply| RouterMsg::Unsubscribe { user, feed, reply })
            .await;
        self.inner.timeline.invalidate(user).await;
        unsubscribed?
    }

    pub async fn health(&self) -> Health {
        let (database, cache) = tokio::join!(
            tokio::time::timeout(HEALTH_TIMEOUT, self.inner.store.ping()),
            tokio::time::timeout(HEALTH_TIMEOUT, self.inner.cache.ping()),
        );
        Health {
            database: flatten_check(database.map(|result| result.map_err(|error| error.to_string()))),
            cache: flatten_check(cache.map(|result| result.map_err(|error| error.to_string()))),
        }
    }

    /// A user's manual refresh of one of their feeds: polls it now, at most once a minute, even if it is
    /// parked as dead or failed. `Err(Store(NotFound))` when the user is not subscribed to it.
    pub async fn refresh(&self, user: UserId, feed: FeedId) -> Result<RefreshOutcome, EngineError> {
        self.inner.store.get_subscription(user, feed).await?;
        call(&self.inner.supervisor, |reply| SupervisorMsg::Refresh {
            feed_id: feed,
            reply,
        })
        .await
    }

    /// Polls every feed with a subscriber that was not polled since `polled_before`. Returns how many.
    /// This replaces the refresh cron of classic feed readers; operators call it, so it has no rate limit.
    pub async fn refresh_stale(&self, polled_before: chrono::DateTime<chrono::Utc>) -> Result<usize, EngineError> {
        let stale = self.inner.store.stale_feeds(polled_before, STALE_REFRESH_LIMIT).await?;
        for feed in &stale {
            self.inner
                .supervisor
                .send_message(SupervisorMsg::Ensure {
                    feed_id: feed.id,
                    poll_now: true,
                })
                .map_err(unavailable)?;
        }
        Ok(stale.len())
    }

    /// The running actor of a feed, if it has one.
    pub async fn feed_actor(&self, feed: FeedId) -> Result<Option<FeedHandle>, EngineError> {
        call(&self.inner.supervisor, |reply| SupervisorMsg::Lookup(feed, reply)).await
    }

    /// The first `limit` feed actors in `order`, optionally of one status, from the snapshots the actors
    /// publish: no round trip to any actor, so it stays fast with 100k of them.
    pub fn actors(&self, order: ActorOrder, status: Option<FeedStatus>, limit: usize) -> ActorListing {
        self.inner.registry.list(order, status, limit)
    }

    /// One feed actor's live state, answered by the actor itself; `None` when the feed has no actor.
    pub async fn inspect_actor(&self, feed: FeedId) -> Result<Option<ActorSnapshot>, EngineError> {
        let Some(handle) = self.feed_actor(feed).await? else {
            return Ok(None);
        };
        match handle.call(FeedMsg::Inspect, CALL_TIMEOUT).await.map_err(unavailable)? {
            CallResult::Success(snapshot) => Ok(Some(snapshot)),
            CallResult::Timeout => Err(EngineError::Unavailable("the feed actor did not answer in time".into())),
            // The actor stopped between the lookup and the question.
            CallResult::SenderError => Ok(None),
        }
    }

    /// Sets the gauges that are sampled rather than counted: actors by status, the deepest mailbox, the pool.
    pub fn record_gauges(&self) {
        instruments::feed_actors(
            &self.inner.registry.count_by_status(),
            self.inner.registry.deepest_mailbox(),
        );
        let pool = self.inner.store.pool_state();
        instruments::database_pool(pool.size.saturating_sub(pool.idle), pool.idle);
    }

    /// How many feed actors are running.
    pub async fn running_feed_actors(&self) -> Result<usize, EngineError> {
        call(&self.inner.supervisor, SupervisorMsg::Count).await
    }

    /// Stops the router, refuses new polls and waits (within `timeout`) for the polls under way to hand their
    /// batches over, writes what the persistence actor holds (within `timeout` again), and only then tells
    /// the feed actors to stop, without waiting for them.
    ///
    /// With a million actors, stopping them first woke each one before the last flush could run, and waiting
    /// on each exit took half a minute (BENCHMARKS.md, "A million feeds").
    pub async fn shutdown(&self, timeout: Duration) {
        let started = Instant::now();
        self.inner.router.stop(None);
        // A job stopped here is `running` in the store; the next start puts it back in line.
        if let Some(runner) = self.inner.jobs.get() {
            runner.stop(None);
        }
        // A firing under way commits or not as a whole; an uncommitted one fires on the next start.
        if let Some(wheel) = self.inner.timer_wheel.get() {
            wheel.stop(None);
        }
        self.inner.polls.close();
        let polls_at_signal = self.inner.polls.running();
        let settled = self.inner.polls.settled(timeout).await;
        let polls_done = started.elapsed();
        let _ = self.inner.persistence.actor().drain_and_wait(Some(timeout)).await;
        let flushed = started.elapsed();
        // After the last flush, whose events it then stores.
        let _ = self.inner.events.actor().drain_and_wait(Some(timeout)).await;
        let _ = self.inner.supervisor.send_message(SupervisorMsg::StopAll);
        // A delivery cut off here is still due in the store: the next start sends it again.
        self.inner.webhooks.stop();
        tracing::info!(
            polls_at_signal,
            polls_settled = settled,
            polls_ms = polls_done.as_millis() as u64,
            flushed_ms = flushed.as_millis() as u64,
            "engine stopped"
        );
    }

    async fn call_router<T, F>(&self, message: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(ractor::RpcReplyPort<T>) -> RouterMsg,
    {
        call(&self.inner.router, message).await
    }

    /// Parses and normalises a URL and, unless private networks are allowed, refuses one that can only reach
    /// private addresses. A name that does not resolve right now is accepted: DNS failures are often
    /// transient, so the feed's actor records the error and retries, as for any failed poll. The fetcher
    /// checks every connection again; this check gives the user a clear answer.
    pub(crate) async fn check_url(&self, url: &str) -> Result<FeedUrl, String> {
        let url = FeedUrl::parse(url).map_err(|error| error.to_string())?;
        if self.inner.allow_private_networks {
            return Ok(url);
        }
        url.check_literal_address()
            .map_err(|error| network_policy::refusal(&error.to_string()))?;
        let port = url.as_url().port_or_known_default().unwrap_or(80);
        let host = url.host().to_owned();
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), port))).await;
        let addresses: Vec<_> = match lookup {
            Ok(Ok(addresses)) => addresses.collect(),
            Ok(Err(error)) => {
                tracing::debug!(%host, %error, "the host does not resolve yet; its feed actor will retry");
                return Ok(url);
            }
            Err(_) => {
                tracing::debug!(%host, "the host did not resolve in time; its feed actor will retry");
                return Ok(url);
            }
        };
        // As the fetcher does: a name with any public address is fetched from those addresses only.
        if !addresses.is_empty() && !addresses.iter().any(|address| network_policy::is_public(address.ip())) {
            return Err(network_policy::refusal(&format!(
                "{host} resolves only to private or reserved addresses, which this server does not fetch"
            )));
        }
        Ok(url)
    }
}

/// Hands every feed with a subscriber to the supervisor, in chunks, and does not wait for their actors.
async fn start_feed_actors(store: &dyn Store, supervisor: &ActorRef<SupervisorMsg>) -> Result<(), EngineError> {
    let since = Instant::now();
    let feeds = store.feeds_with_subscribers().await?;
    let count = feeds.len();
    tracing::info!(
        feeds = count,
        elapsed_ms = since.elapsed().as_millis() as u64,
        "feeds loaded"
    );
    let mut feeds = feeds.into_iter();
    loop {
        let chunk: Vec<_> = feeds.by_ref().take(START_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        supervisor
            .send_message(SupervisorMsg::StartFeeds(chunk))
            .map_err(unavailable)?;
    }
    supervisor
        .send_message(SupervisorMsg::StartFeedsDone { feeds: count, since })
        .map_err(unavailable)
}

fn flatten_check(result: Result<Result<(), String>, tokio::time::error::Elapsed>) -> Result<(), String> {
    result.unwrap_or_else(|_| Err("timed out".to_owned()))
}

async fn call<M, T, F>(actor: &ActorRef<M>, message: F) -> Result<T, EngineError>
where
    M: ractor::Message,
    T: Send + 'static,
    F: FnOnce(ractor::RpcReplyPort<T>) -> M,
{
    match actor.call(message, Some(CALL_TIMEOUT)).await.map_err(unavailable)? {
        CallResult::Success(value) => Ok(value),
        CallResult::Timeout => Err(EngineError::Unavailable("the actor did not answer in time".into())),
        CallResult::SenderError => Err(EngineError::Unavailable("the actor dropped the request".into())),
    }
}
