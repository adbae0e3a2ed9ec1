//! The job runner: claims due jobs from the store and runs each in a supervised worker actor, a bounded number
//! at a time overall and per user. A worker that fails (an error or a panic) is a failed attempt: the job is
//! retried with backoff, and `dead` after the configured number of attempts. On start, jobs left `running` by an
//! engine that died go back in line with that attempt counted. The store is the queue; one timer, re-armed,
//! wakes the runner when the next retry is due.

mod backoff;
pub(crate) mod steps;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use self::worker::{JobWorker, WorkerArgs};
use crate::domain::UserId;
use crate::engine::Engine;
use crate::events::EventKind;
use crate::job::{Job, JobId, JobStatus};
use crate::store::Store;
use crate::webhook::job_done_data;

/// How the runner paces and bounds jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Attempts before a job is `dead`.
    pub max_attempts: i32,
    /// The wait after a first failed attempt; it doubles with each further one, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Jobs running at once, across users.
    pub concurrency: usize,
    /// Jobs running at once for one user.
    pub per_user_concurrency: usize,
    /// Jobs one user may have pending, running or awaiting a retry.
    pub max_queued_per_user: i64,
    /// Items (feeds) per committed step.
    pub chunk_size: usize,
    /// A pause after each step, so a large import leaves room for other users' subscribes.
    pub step_pause: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_attempts: 5,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(15 * 60),
            concurrency: 4,
            per_user_concurrency: 1,
            max_queued_per_user: 10,
            chunk_size: 100,
            step_pause: Duration::ZERO,
        }
    }
}

/// What a worker needs: the engine (to subscribe and refresh as a request would), the store, the settings.
pub struct JobContext {
    pub engine: Engine,
    pub store: Arc<dyn Store>,
    pub settings: JobSettings,
}

impl JobContext {
    /// Announces a job's progress or end on its owner's event stream, and sends the webhook deliveries the
    /// same commit put in the outbox; called after the commit it reports.
    pub(crate) fn publish(&self, job: &Job, kind: EventKind, data: serde_json::Value) {
        self.engine.job_event_committed(job.user_id, kind, data);
    }

    pub(crate) fn publish_done(&self, job: &Job, status: JobStatus) {
        self.publish(job, EventKind::JobDone, job_done_data(job.id, status));
    }
}

pub enum JobRunnerMsg {
    /// A job was created or retried, a worker ended, or a retry is due: claim what can run now.
    Wake,
    /// Its owner cancelled the job (the store already says so): stop its worker if one runs.
    Cancel(JobId),
}

pub struct JobRunner;

pub struct JobRunnerState {
    context: Arc<JobContext>,
    /// The workers running, by actor.
    running: HashMap<ActorId, RunningJob>,
    /// Workers stopped because their job was cancelled: their exit is no failed attempt.
    cancelled: HashSet<ActorId>,
    /// The one timer that wakes the runner when the next retry is due.
    timer: Option<JoinHandle<Result<(), ractor::MessagingErr<JobRunnerMsg>>>>,
}

struct RunningJob {
    worker: ActorCell,
    job: Job,
}

/// How long to wait before claiming again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);

impl JobRunner {
    pub async fn spawn(context: JobContext) -> Result<ActorRef<JobRunnerMsg>, ractor::SpawnErr> {
        let (runner, _) = Actor::spawn(None, JobRunner, Arc::new(context)).await?;
        Ok(runner)
    }
}

impl Actor for JobRunner {
    type Msg = JobRunnerMsg;
    type State = JobRunnerState;
    type Arguments = Arc<JobContext>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        context: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let requeued = context
            .store
            .requeue_running_jobs(Utc::now(), context.settings.max_attempts)
            .await?;
        if !requeued.is_empty() {
            tracing::info!(
                jobs = requeued.len(),
                "jobs interrupted by the last stop go back in line"
            );
        }
        // Those out of attempts ended: their owners' streams hear of it (their webhooks' deliveries were
        // written by the same transaction).
        for dead in requeued.iter().filter(|requeued| requeued.dead) {
            context
                .engine
                .job_event_committed(dead.user, EventKind::JobDone, job_done_data(dead.job, JobStatus::Dead));
        }
        myself.send_message(JobRunnerMsg::Wake)?;
        Ok(JobRunnerState {
            context,
            running: HashMap::new(),
            cancelled: HashSet::new(),
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
            JobRunnerMsg::Wake => state.claim_due(&myself).await,
            JobRunnerMsg::Cancel(job_id) => {
                if let Some(running) = state.running.values().find(|running| running.job.id == job_id) {
                    state.cancelled.insert(running.worker.get_id());
                    running.worker.kill();
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
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.cancelled.remove(&cell.get_id());
                state.running.remove(&cell.get_id());
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let was_cancelled = state.cancelled.remove(&cell.get_id());
                if let Some(running) = state.running.remove(&cell.get_id()) {
                    if !was_cancelled {
                        state.fail_attempt(&running.job, &error.to_string()).await;
                    }
                }
            }
            _ => return Ok(()),
        }
        let _ = myself.send_message(JobRunnerMsg::Wake);
        Ok(())
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.timer.take() {
            timer.abort();
        }
        Ok(())
    }
}

impl JobRunnerState {
    /// Starts workers for due jobs while there is room, then arms the timer for the next one due.
    async fn claim_due(&mut self, myself: &ActorRef<JobRunnerMsg>) {
        let concurrency = self.context.settings.concurrency;
        while self.running.len() < concurrency {
            let busy = self.busy_users();
            let job = match self.context.store.claim_job(Utc::now(), &busy).await {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "could not claim a job; trying again shortly");
                    self.arm(myself, STORE_RETRY);
                    return;
                }
            };
            self.start(myself, job).await;
        }
        if self.running.len() >= concurrency {
            return;
        }
        match self.context.store.next_job_due(&self.busy_users()).await {
            Ok(Some(due)) => {
                let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                self.arm(myself, wait.max(Duration::from_millis(10)));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "could not find the next job due; trying again shortly");
                self.arm(myself, STORE_RETRY);
            }
        }
    }

    async fn start(&mut self, myself: &ActorRef<JobRunnerMsg>, job: Job) {
        tracing::info!(job_id = job.id, user_id = %job.user_id, kind = job.kind.as_str(), attempt = job.attempts, "job started");
        let args = WorkerArgs {
            context: self.context.clone(),
            job: job.clone(),
        };
        match Actor::spawn_linked(None, JobWorker, args, myself.get_cell()).await {
            Ok((worker, _)) => {
                self.running.insert(
                    worker.get_id(),
                    RunningJob {
                        worker: worker.get_cell(),
                        job,
                    },
                );
            }
            // A worker that cannot even start is a failed attempt like any other.
            Err(error) => self.fail_attempt(&job, &error.to_string()).await,
        }
    }

    /// Records a failed attempt: due again after its backoff, or `dead` when out of attempts.
    async fn fail_attempt(&mut self, job: &Job, error: &str) {
        let settings = &self.context.settings;
        let retry_at = (job.attempts < settings.max_attempts).then(|| {
            let wait = backoff::delay(settings.backoff, settings.max_backoff, job.attempts);
            Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
        });
        tracing::warn!(job_id = job.id, attempt = job.attempts, dead = retry_at.is_none(), %error, "job attempt failed");
        match self.context.store.fail_job_attempt(job.id, error, retry_at).await {
            Ok(true) if retry_at.is_none() => self.context.publish_done(job, JobStatus::Dead),
            Ok(_) => {}
            // The job stays `running` in the store; the next start puts it back in line.
            Err(store_error) => tracing::error!(job_id = job.id, %store_error, "could not record a failed job attempt"),
        }
    }

    /// Users already running as many jobs as they may.
    fn busy_users(&self) -> Vec<UserId> {
        let mut counts: HashMap<UserId, usize> = HashMap::new();
        for running in self.running.values() {
            *counts.entry(running.job.user_id).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, count)| *count >= self.context.settings.per_user_concurrency)
            .map(|(user, _)| user)
            .collect()
    }

    fn arm(&mut self, myself: &ActorRef<JobRunnerMsg>, wait: Duration) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        self.timer = Some(myself.send_after(wait, || JobRunnerMsg::Wake));
    }
}
