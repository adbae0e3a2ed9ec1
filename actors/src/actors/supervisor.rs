//! The feed supervisor: spawns one linked feed actor per feed, restarts one that fails with backoff, parks a
//! feed whose actor keeps crashing (a meltdown), and tells an actor stopped on purpose (its last subscriber
//! left) apart from one that failed. At engine start it receives the feeds in chunks, so that other requests are
//! answered between two; on shutdown it tells every actor to stop at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::feed::{FeedActor, FeedArgs, FeedContext, FeedMsg, RefreshOutcome};
use super::feed_handle::FeedHandle;
use super::manual_refreshes::ManualRefreshes;
use super::router::StartedFetch;
use crate::domain::{Feed, FeedId};
use crate::instruments;

pub enum SupervisorMsg {
    /// Engine start: start an actor for each of these feeds that has none yet.
    StartFeeds(Vec<Feed>),
    /// Engine start: every feed was handed over, this many since `since`; logs how long starting them took.
    StartFeedsDone { feeds: usize, since: Instant },
    /// Shutdown, once the last flush is written: tell every feed actor to stop, without waiting for them, and
    /// stop.
    StopAll,
    /// Make sure the feed has a running actor, and optionally poll it now.
    Ensure { feed_id: FeedId, poll_now: bool },
    /// A new feed whose first fetch the subscribe request already made: make sure it has a running actor and
    /// hand it that fetch as its first poll.
    FirstPoll {
        feed_id: FeedId,
        fetched: Box<StartedFetch>,
    },
    /// A manual refresh: at most one per feed per gap, answered here at once; an admitted one starts the
    /// feed's actor if it has none (a failed feed gets a fresh start) and passes the request on.
    Refresh {
        feed_id: FeedId,
        reply: RpcReplyPort<RefreshOutcome>,
    },
    /// The feed's last subscriber left: stop its actor on purpose.
    Stop(FeedId),
    /// Restart a failed feed actor, once its backoff has passed.
    Restart(FeedId),
    /// The running feed actor of a feed, if any.
    Lookup(FeedId, RpcReplyPort<Option<FeedHandle>>),
    /// How many feed actors are running.
    Count(RpcReplyPort<usize>),
}

/// How many restarts within the window make a meltdown.
pub const MELTDOWN_RESTARTS: usize = 3;
pub const MELTDOWN_WINDOW: Duration = Duration::from_secs(10 * 60);
const RESTART_MIN_DELAY: Duration = Duration::from_millis(500);
const RESTART_MAX_DELAY: Duration = Duration::from_secs(60);

pub struct FeedSupervisor;

pub struct SupervisorArgs {
    pub context: Arc<FeedContext>,
}

pub struct SupervisorState {
    context: Arc<FeedContext>,
    actors: HashMap<FeedId, FeedHandle>,
    feed_of_actor: HashMap<ActorId, FeedId>,
    /// Actors told to stop on purpose: their exit is not a failure.
    stopping: HashSet<ActorId>,
    /// Recent crashes per feed, within the meltdown window.
    crashes: HashMap<FeedId, VecDeque<Instant>>,
    /// Feeds waiting for their restart after a crash.
    restarting: HashSet<FeedId>,
    /// Restarts per feed since the engine started, for operators.
    restarts: HashMap<FeedId, u32>,
    /// Every actor was told to stop: their exits are neither logged nor restarted.
    shutting_down: bool,
    manual_refreshes: ManualRefreshes,
}

impl Actor for FeedSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: SupervisorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SupervisorState {
            actors: HashMap::new(),
            feed_of_actor: HashMap::new(),
            stopping: HashSet::new(),
            crashes: HashMap::new(),
            restarting: HashSet::new(),
            restarts: HashMap::new(),
            shutting_down: false,
            manual_refreshes: ManualRefreshes::new(args.context.rules.refresh_gap),
            context: args.context,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::StartFeeds(feeds) => state.spawn_feeds(&myself, feeds).await,
            SupervisorMsg::StartFeedsDone { feeds, since } => {
                tracing::info!(
                    feeds,
                    running = state.actors.len(),
                    elapsed_ms = since.elapsed().as_millis() as u64,
                    "feed actors started"
                );
            }
            SupervisorMsg::StopAll => {
                state.shutting_down = true;
                myself.stop_children(Some("shutdown".to_owned()));
                myself.stop(Some("shutdown".to_owned()));
            }
            SupervisorMsg::Ensure { feed_id, poll_now } => {
                let actor = state.running_or_spawned(&myself, feed_id).await;
                if let (Some(actor), true) = (actor, poll_now) {
                    let _ = actor.send_message(FeedMsg::PollNow);
                }
            }
            SupervisorMsg::FirstPoll { feed_id, fetched } => {
                if let Some(actor) = state.running_or_spawned(&myself, feed_id).await {
                    let _ = actor.send_message(FeedMsg::FirstPoll(fetched));
                }
            }
            SupervisorMsg::Refresh { feed_id, reply } => {
                // Refused once the engine shuts down: the reply is dropped, so the caller sees it unavailable.
                if state.context.polls.is_closed() {
                    return Ok(());
                }
                let outcome = state.manual_refreshes.admit(feed_id, Instant::now());
                if outcome != RefreshOutcome::Accepted {
                    let _ = reply.send(outcome);
                    return Ok(());
                }
                state.crashes.remove(&feed_id);
                let sent = match state.running_or_spawned(&myself, feed_id).await {
                    Some(actor) => actor.send_message(FeedMsg::Refresh).is_ok(),
                    None => false,
                };
                if sent {
                    let _ = reply.send(outcome);
                } else {
                    // The reply port is dropped: the caller sees the actor as unavailable.
                    state.manual_refreshes.forget(feed_id);
                }
            }
            SupervisorMsg::Stop(feed_id) => {
                state.crashes.remove(&feed_id);
                state.restarting.remove(&feed_id);
                if let Some(handle) = state.actors.remove(&feed_id) {
                    state.feed_of_actor.remove(&handle.actor().get_id());
                    state.stopping.insert(handle.actor().get_id());
                    handle.actor().stop(Some("unsubscribed".to_owned()));
                }
            }
            SupervisorMsg::Restart(feed_id) => {
                if state.restarting.remove(&feed_id) && !state.actors.contains_key(&feed_id) && !state.shutting_down {
                    *state.restarts.entry(feed_id).or_default() += 1;
                    instruments::actor_restarted();
                    state.load_and_spawn(&myself, feed_id).await;
                }
            }
            SupervisorMsg::Lookup(feed_id, reply) => {
                let _ = reply.send(state.actors.get(&feed_id).cloned());
            }
            SupervisorMsg::Count(reply) => {
                let _ = reply.send(state.actors.len());
            }
        }
        Ok(())
    }

    /// Overrides ractor's default, which stops the supervisor when any child exits.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            // A million actors exit on shutdown; a line each would keep the supervisor busy for seconds.
            SupervisionEvent::ActorTerminated(cell, _, _) | SupervisionEvent::ActorFailed(cell, _)
                if state.shutting_down =>
            {
                state.forget(&cell);
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                let on_purpose = state.stopping.remove(&cell.get_id());
                if let Some(feed_id) = state.forget(&cell) {
                    tracing::info!(feed_id, ?reason, on_purpose, "feed actor stopped");
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                state.stopping.remove(&cell.get_id());
                if let Some(feed_id) = state.forget(&cell) {
                    state.on_crash(&myself, feed_id, &error.to_string()).await;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl SupervisorState {
    /// Drops the bookkeeping of an exited actor, if it is still the feed's current actor.
    fn forget(&mut self, cell: &ActorCell) -> Option<FeedId> {
        let feed_id = self.feed_of_actor.remove(&cell.get_id())?;
        if self
            .actors
            .get(&feed_id)
            .is_some_and(|handle| handle.actor().get_id() == cell.get_id())
        {
            self.actors.remove(&feed_id);
        }
        Some(feed_id)
    }

    /// Restarts a crashed feed actor with backoff, or parks the feed as `failed` after too many crashes.
    async fn on_crash(&mut self, myself: &ActorRef<SupervisorMsg>, feed_id: FeedId, message: &str) {
        let now = Instant::now();
        let crashes = self.crashes.entry(feed_id).or_default();
        crashes.push_back(now);
        while crashes
            .front()
            .is_some_and(|at| now.duration_since(*at) > MELTDOWN_WINDOW)
        {
            crashes.pop_front();
        }
        let recent = crashes.len();
        if recent > MELTDOWN_RESTARTS {
            tracing::error!(feed_id, crashes = recent, %message, "feed actor meltdown; the feed is parked as failed");
            self.crashes.remove(&feed_id);
            self.restarting.remove(&feed_id);
            let message = format!("the feed's actor crashed {recent} times in 10 minutes: {message}");
            instruments::actor_meltdown();
            self.context.registry.mark_failed(feed_id, &message);
            // Through the persistence actor, the one writer of feed state, so that it lands after any batch of
            // this feed that is still waiting.
            if let Err(error) = self.context.persistence.record_actor_failed(feed_id, message) {
                tracing::warn!(feed_id, %error, "could not record the meltdown");
            }
            return;
        }
        let delay = RESTART_MIN_DELAY
            .saturating_mul(1 << (recent - 1).min(10))
            .min(RESTART_MAX_DELAY);
        tracing::error!(feed_id, %message, restart_in_ms = delay.as_millis() as u64, "feed actor failed; restarting");
        self.restarting.insert(feed_id);
        myself.send_after(delay, move || SupervisorMsg::Restart(feed_id));
    }

    async fn running_or_spawned(&mut self, myself: &ActorRef<SupervisorMsg>, feed_id: FeedId) -> Option<FeedHandle> {
        match self.actors.get(&feed_id) {
            Some(actor) => Some(actor.clone()),
            None => {
                self.restarting.remove(&feed_id);
                self.load_and_spawn(myself, feed_id).await
            }
        }
    }

    async fn load_and_spawn(&mut self, myself: &ActorRef<SupervisorMsg>, feed_id: FeedId) -> Option<FeedHandle> {
        match self.context.store.get_feed(feed_id).await {
            Ok(feed) => self.spawn_feed(myself, feed).await,
            Err(error) => {
                tracing::warn!(feed_id, %error, "could not load the feed to start its actor");
                None
            }
        }
    }

    async fn spawn_feed(&mut self, myself: &ActorRef<SupervisorMsg>, feed: Feed) -> Option<FeedHandle> {
        let (feed_id, handle) = self.start_actor(myself, feed).await?;
        self.record_actor(feed_id, handle.clone());
        Some(handle)
    }

    /// Starts the actors of the feeds that have none, one after the other: starting 512 at once was slower
    /// (BENCHMARKS.md, "A million feeds").
    async fn spawn_feeds(&mut self, myself: &ActorRef<SupervisorMsg>, feeds: Vec<Feed>) {
        for feed in feeds {
            if !self.actors.contains_key(&feed.id) {
                self.spawn_feed(myself, feed).await;
            }
        }
    }

    /// Starts a feed's actor, linked to the supervisor; the caller records it.
    async fn start_actor(&self, myself: &ActorRef<SupervisorMsg>, feed: Feed) -> Option<(FeedId, FeedHandle)> {
        let feed_id = feed.id;
        let waiting = self.context.registry.track_mailbox(feed_id);
        let args = FeedArgs {
            feed,
            context: self.context.clone(),
            supervisor: myself.clone(),
            waiting: waiting.clone(),
            restarts: self.restarts.get(&feed_id).copied().unwrap_or(0),
        };
        match Actor::spawn_linked(None, FeedActor, args, myself.get_cell()).await {
            Ok((actor, _)) => Some((feed_id, FeedHandle::new(actor, waiting))),
            Err(error) => {
                tracing::error!(feed_id, %error, "could not start the feed actor");
                None
            }
        }
    }

    fn record_actor(&mut self, feed_id: FeedId, handle: FeedHandle) {
        self.feed_of_actor.insert(handle.actor().get_id(), feed_id);
        self.actors.insert(feed_id, handle);
    }
}
