//! A job row as both backends read it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{decode_error, optional, Decoded};
use super::StoreError;
use crate::job::{Job, JobKind, JobStatus};

/// The columns a [`JobRow`] reads, from `jobs`.
pub(super) const JOB_COLUMNS: &str =
    "id, user_id, kind, status, done, total, result, output IS NOT NULL AS has_output, \
     error, attempts, next_attempt_at, created_at, updated_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
pub(super) struct JobRow<Id, Time> {
    id: i64,
    user_id: Id,
    kind: String,
    status: String,
    done: i64,
    total: i64,
    result: Option<String>,
    has_output: bool,
    error: Option<String>,
    attempts: i32,
    next_attempt_at: Time,
    created_at: Time,
    updated_at: Time,
    started_at: Option<Time>,
    finished_at: Option<Time>,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>> JobRow<Id, Time> {
    pub(super) fn into_job(self) -> Result<Job, StoreError> {
        let kind =
            JobKind::parse(&self.kind).ok_or_else(|| decode_error(format!("unknown job kind {:?}", self.kind)))?;
        let status = JobStatus::parse(&self.status)
            .ok_or_else(|| decode_error(format!("unknown job status {:?}", self.status)))?;
        let result = self
            .result
            .map(|text| serde_json::from_str(&text).map_err(|error| decode_error(format!("job result: {error}"))))
            .transpose()?;
        Ok(Job {
            id: self.id,
            user_id: self.user_id.decoded()?,
            kind,
            status,
            done: self.done,
            total: self.total,
            result,
            has_output: self.has_output,
            error: self.error,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.decoded()?,
            created_at: self.created_at.decoded()?,
            updated_at: self.updated_at.decoded()?,
            started_at: optional(self.started_at)?,
            finished_at: optional(self.finished_at)?,
        })
    }
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn jobs<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>>(
    rows: Vec<JobRow<Id, Time>>,
) -> Result<Vec<Job>, StoreError> {
    rows.into_iter().map(JobRow::into_job).collect()
}
