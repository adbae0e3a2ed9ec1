//! What the job runner and the API's job routes ask of the store: creating, claiming, stepping and finishing
//! jobs, and a user's view of them. Every change of status names the status it expects, so that a cancelled
//! job's late step or finish changes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::UserId;
use crate::job::{Job, JobId, JobItem, JobStatus, NewJob, RequeuedJob};

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new `pending` job, due at once.
    async fn create_job(&self, job: &NewJob) -> Result<Job, StoreError>;
    /// How many of the user's jobs are pending, running or failed (awaiting a retry).
    async fn count_queued_jobs(&self, user: UserId) -> Result<i64, StoreError>;
    /// One of the user's jobs; `NotFound` for another user's.
    async fn get_job(&self, user: UserId, job: JobId) -> Result<Job, StoreError>;
    /// Up to `limit` of the user's jobs with an id below `before`, newest first.
    async fn list_jobs(&self, user: UserId, limit: u32, before: Option<JobId>) -> Result<Vec<Job>, StoreError>;
    /// The job's input, as stored when it was created.
    async fn job_input(&self, job: JobId) -> Result<String, StoreError>;
    /// The job's output document (an export's OPML), if it has one; `NotFound` for another user's job.
    async fn job_output(&self, user: UserId, job: JobId) -> Result<Option<String>, StoreError>;
    /// Up to `limit` of the job's per-item results after position `after`, in input order.
    async fn job_items(&self, job: JobId, after: Option<i64>, limit: u32) -> Result<Vec<JobItem>, StoreError>;

    /// Takes the oldest job due at `now` (pending, or failed and due for its retry) whose owner is not in
    /// `busy_users`: it becomes `running`, with one more attempt counted.
    async fn claim_job(&self, now: DateTime<Utc>, busy_users: &[UserId]) -> Result<Option<Job>, StoreError>;
    /// When the next job not of `busy_users` is due, if any is waiting.
    async fn next_job_due(&self, busy_users: &[UserId]) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Commits one step of a running job: its per-item results (an item already stored is kept as it is) and
    /// its progress, in one transaction. `false`, and nothing stored, when the job is no longer running.
    async fn record_job_step(&self, job: JobId, done: i64, items: &[JobItem]) -> Result<bool, StoreError>;
    /// A running job finished: `done`, with its summary and output. `false` when it was no longer running.
    async fn finish_job(
        &self,
        job: JobId,
        result: &serde_json::Value,
        output: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// A running job's attempt failed: `failed` and due again at `retry_at`, or `dead` when there is none.
    async fn fail_job_attempt(
        &self,
        job: JobId,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;
    /// After a restart: every job left `running` has failed its attempt. It is due again at `now`, or `dead`
    /// when it has used `max_attempts`, with its `job.done` deliveries in the same transaction. Returns them.
    async fn requeue_running_jobs(&self, now: DateTime<Utc>, max_attempts: i32)
        -> Result<Vec<RequeuedJob>, StoreError>;
    /// Runs a failed or dead job again from where it stopped, with its attempts reset; `Rejected` for a job in
    /// any other status.
    async fn retry_job(&self, user: UserId, job: JobId) -> Result<Job, StoreError>;
    /// Cancels a pending, failed or running job; `Rejected` for one that is over. Returns the job as it was.
    async fn cancel_job(&self, user: UserId, job: JobId) -> Result<Job, StoreError>;
}

/// The statuses [`JobStore::retry_job`] accepts.
pub const RETRIABLE: [JobStatus; 2] = [JobStatus::Failed, JobStatus::Dead];
/// The statuses [`JobStore::cancel_job`] accepts.
pub const CANCELLABLE: [JobStatus; 3] = [JobStatus::Pending, JobStatus::Failed, JobStatus::Running];
