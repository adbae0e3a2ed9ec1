//! Jobs on SQLite: creating, claiming, stepping and finishing them, and a user's view of them; and the folders
//! an OPML import puts subscriptions in. The one writer makes a claim atomic without row locks.

use chrono::{DateTime, Utc};

use sqlx::SqliteConnection;
use uuid::fmt::Hyphenated;

use super::rows::{micros, now_micros, JobRow};
use super::webhooks::insert_user_event_deliveries;
use super::SqliteStore;
use crate::domain::UserId;
use crate::job::{Job, JobId, JobItem, JobStatus, NewJob, RequeuedJob};
use crate::store::error::sqlite_error;
use crate::store::job_rows::{self, JOB_COLUMNS};
use crate::store::job_store::{CANCELLABLE, RETRIABLE};
use crate::store::StoreError;
use crate::webhook::{job_done_data, job_progress_data};

/// Inside the transaction that ended a job (`owner` is `None` when it was no longer running): its `job.done`
/// deliveries. Returns whether the job ended.
async fn ended(
    conn: &mut SqliteConnection,
    job: JobId,
    owner: Option<Hyphenated>,
    status: JobStatus,
) -> Result<bool, StoreError> {
    let Some(owner) = owner else {
        return Ok(false);
    };
    insert_user_event_deliveries(conn, owner.into_uuid(), "job.done", &job_done_data(job, status)).await?;
    Ok(true)
}

/// The users as a JSON array, which `json_each` reads as a set.
fn user_set(users: &[UserId]) -> String {
    serde_json::to_string(
        &users
            .iter()
            .map(|user| user.hyphenated().to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|_| "[]".to_owned())
}

pub(super) async fn create_job(store: &SqliteStore, job: &NewJob) -> Result<Job, StoreError> {
    let now = now_micros();
    let row: JobRow = sqlx::query_as(&format!(
        "INSERT INTO jobs (user_id, kind, input, total, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $5) RETURNING {JOB_COLUMNS}"
    ))
    .bind(job.user_id.hyphenated())
    .bind(job.kind.as_str())
    .bind(&job.input)
    .bind(job.total)
    .bind(now)
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.into_job()
}

pub(super) async fn count_queued_jobs(store: &SqliteStore, user: UserId) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE user_id = $1 AND status IN ('pending', 'running', 'failed')")
        .bind(user.hyphenated())
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)
}

pub(super) async fn get_job(store: &SqliteStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let row: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND user_id = $2"
    ))
    .bind(job)
    .bind(user.hyphenated())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.into_job()
}

pub(super) async fn list_jobs(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    before: Option<JobId>,
) -> Result<Vec<Job>, StoreError> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user.hyphenated())
    .bind(before.unwrap_or(JobId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    job_rows::jobs(rows)
}

pub(super) async fn job_input(store: &SqliteStore, job: JobId) -> Result<String, StoreError> {
    sqlx::query_scalar("SELECT input FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)
}

pub(super) async fn job_output(store: &SqliteStore, user: UserId, job: JobId) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT output FROM jobs WHERE id = $1 AND user_id = $2")
        .bind(job)
        .bind(user.hyphenated())
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)
}

pub(super) async fn job_items(
    store: &SqliteStore,
    job: JobId,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<JobItem>, StoreError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT position, data FROM job_items WHERE job_id = $1 AND position > $2 ORDER BY position LIMIT $3",
    )
    .bind(job)
    .bind(after.unwrap_or(-1))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(rows
        .into_iter()
        .map(|(position, data)| JobItem { position, data })
        .collect())
}

pub(super) async fn claim_job(
    store: &SqliteStore,
    now: DateTime<Utc>,
    busy_users: &[UserId],
) -> Result<Option<Job>, StoreError> {
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $1, updated_at = $1, \
         error = NULL \
         WHERE id = (SELECT id FROM jobs WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1 \
                     AND user_id NOT IN (SELECT value FROM json_each($2)) ORDER BY next_attempt_at, id LIMIT 1) \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(micros(now))
    .bind(user_set(busy_users))
    .fetch_optional(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.map(JobRow::into_job).transpose()
}

pub(super) async fn next_job_due(
    store: &SqliteStore,
    busy_users: &[UserId],
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT min(next_attempt_at) FROM jobs WHERE status IN ('pending', 'failed') \
         AND user_id NOT IN (SELECT value FROM json_each($1))",
    )
    .bind(user_set(busy_users))
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(due.and_then(DateTime::from_timestamp_micros))
}

pub(super) async fn record_job_step(
    store: &SqliteStore,
    job: JobId,
    done: i64,
    items: &[JobItem],
) -> Result<bool, StoreError> {
    let mut transaction = store.begin_write().await?;
    let updated: Option<(Hyphenated, i64)> = sqlx::query_as(
        "UPDATE jobs SET done = $2, updated_at = $3 WHERE id = $1 AND status = 'running' RETURNING user_id, total",
    )
    .bind(job)
    .bind(done)
    .bind(now_micros())
    .fetch_optional(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let Some((user, total)) = updated else {
        return Ok(false);
    };
    for item in items {
        sqlx::query("INSERT INTO job_items (job_id, position, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(job)
            .bind(item.position)
            .bind(&item.data)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
    }
    let progress = job_progress_data(job, done, total);
    insert_user_event_deliveries(&mut transaction, user.into_uuid(), "job.progress", &progress).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(true)
}

pub(super) async fn finish_job(
    store: &SqliteStore,
    job: JobId,
    result: &serde_json::Value,
    output: Option<&str>,
) -> Result<bool, StoreError> {
    let mut transaction = store.begin_write().await?;
    let owner: Option<Hyphenated> = sqlx::query_scalar(
        "UPDATE jobs SET status = 'done', result = $2, output = $3, error = NULL, updated_at = $4, \
         finished_at = $4 WHERE id = $1 AND status = 'running' RETURNING user_id",
    )
    .bind(job)
    .bind(result.to_string())
    .bind(output)
    .bind(now_micros())
    .fetch_optional(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let ended = ended(&mut transaction, job, owner, JobStatus::Done).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(ended)
}

pub(super) async fn fail_job_attempt(
    store: &SqliteStore,
    job: JobId,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let mut transaction = store.begin_write().await?;
    let owner: Option<Hyphenated> = sqlx::query_scalar(
        "UPDATE jobs SET status = CASE WHEN $3 IS NULL THEN 'dead' ELSE 'failed' END, error = $2, \
         next_attempt_at = COALESCE($3, next_attempt_at), updated_at = $4, \
         finished_at = CASE WHEN $3 IS NULL THEN $4 END \
         WHERE id = $1 AND status = 'running' RETURNING user_id",
    )
    .bind(job)
    .bind(error)
    .bind(retry_at.map(micros))
    .bind(now_micros())
    .fetch_optional(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let updated = match retry_at {
        None => ended(&mut transaction, job, owner, JobStatus::Dead).await?,
        Some(_) => owner.is_some(),
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(updated)
}

pub(super) async fn requeue_running_jobs(
    store: &SqliteStore,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Vec<RequeuedJob>, StoreError> {
    let mut transaction = store.begin_write().await?;
    let requeued: Vec<(JobId, Hyphenated, bool)> = sqlx::query_as(
        "UPDATE jobs SET status = CASE WHEN attempts >= $2 THEN 'dead' ELSE 'failed' END, \
         error = 'the engine stopped while the job was running', next_attempt_at = $1, updated_at = $1, \
         finished_at = CASE WHEN attempts >= $2 THEN $1 END \
         WHERE status = 'running' RETURNING id, user_id, status = 'dead'",
    )
    .bind(micros(now))
    .bind(max_attempts)
    .fetch_all(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    for (job, owner, _) in requeued.iter().filter(|(_, _, dead)| *dead) {
        ended(&mut transaction, *job, Some(*owner), JobStatus::Dead).await?;
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(requeued
        .into_iter()
        .map(|(job, user, dead)| RequeuedJob {
            job,
            user: user.into_uuid(),
            dead,
        })
        .collect())
}

pub(super) async fn retry_job(store: &SqliteStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let [first, second] = RETRIABLE.map(|status| status.as_str());
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'pending', attempts = 0, next_attempt_at = $3, updated_at = $3, \
         finished_at = NULL WHERE id = $1 AND user_id = $2 AND status IN ($4, $5) RETURNING {JOB_COLUMNS}"
    ))
    .bind(job)
    .bind(user.hyphenated())
    .bind(now_micros())
    .bind(first)
    .bind(second)
    .fetch_optional(&store.pool)
    .await
    .map_err(sqlite_error)?;
    match row {
        Some(row) => row.into_job(),
        None => {
            get_job(store, user, job).await?;
            Err(StoreError::Rejected {
                field: "status",
                reason: "only a failed or dead job can be retried",
            })
        }
    }
}

pub(super) async fn cancel_job(store: &SqliteStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let mut transaction = store.begin_write().await?;
    let before: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND user_id = $2"
    ))
    .bind(job)
    .bind(user.hyphenated())
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let before = before.into_job()?;
    if !CANCELLABLE.contains(&before.status) {
        return Err(StoreError::Rejected {
            field: "status",
            reason: "only a pending, failed or running job can be cancelled",
        });
    }
    let now = now_micros();
    sqlx::query("UPDATE jobs SET status = 'cancelled', updated_at = $2, finished_at = $2 WHERE id = $1")
        .bind(job)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    ended(&mut transaction, job, Some(user.hyphenated()), JobStatus::Cancelled).await?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(before)
}
