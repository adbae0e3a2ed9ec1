//! Jobs on SQLite: creating, claiming, stepping and finishing them, and a user's view of them; and the folders
//! an OPML import puts subscriptions in. The one writer makes a claim atomic without row locks.

use chrono::{DateTime, Utc};

use super::rows::{micros, now_micros, JobRow};
use super::SqliteStore;
use crate::domain::UserId;
use crate::job::{Job, JobId, JobItem, NewJob};
use crate::store::error::sqlite_error;
use crate::store::job_rows::{self, JOB_COLUMNS};
use crate::store::job_store::{CANCELLABLE, RETRIABLE};
use crate::store::StoreError;

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
    let updated = sqlx::query("UPDATE jobs SET done = $2, updated_at = $3 WHERE id = $1 AND status = 'running'")
        .bind(job)
        .bind(done)
        .bind(now_micros())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    for item in items {
        sqlx::query("INSERT INTO job_items (job_id, position, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(job)
            .bind(item.position)
            .bind(&item.data)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(true)
}

pub(super) async fn finish_job(
    store: &SqliteStore,
    job: JobId,
    result: &serde_json::Value,
    output: Option<&str>,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'done', result = $2, output = $3, error = NULL, updated_at = $4, \
         finished_at = $4 WHERE id = $1 AND status = 'running'",
    )
    .bind(job)
    .bind(result.to_string())
    .bind(output)
    .bind(now_micros())
    .execute(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(updated.rows_affected() == 1)
}

pub(super) async fn fail_job_attempt(
    store: &SqliteStore,
    job: JobId,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET status = CASE WHEN $3 IS NULL THEN 'dead' ELSE 'failed' END, error = $2, \
         next_attempt_at = COALESCE($3, next_attempt_at), updated_at = $4, \
         finished_at = CASE WHEN $3 IS NULL THEN $4 END \
         WHERE id = $1 AND status = 'running'",
    )
    .bind(job)
    .bind(error)
    .bind(retry_at.map(micros))
    .bind(now_micros())
    .execute(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(updated.rows_affected() == 1)
}

pub(super) async fn requeue_running_jobs(
    store: &SqliteStore,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<u64, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET status = CASE WHEN attempts >= $2 THEN 'dead' ELSE 'failed' END, \
         error = 'the engine stopped while the job was running', next_attempt_at = $1, updated_at = $1, \
         finished_at = CASE WHEN attempts >= $2 THEN $1 END \
         WHERE status = 'running'",
    )
    .bind(micros(now))
    .bind(max_attempts)
    .execute(&store.pool)
    .await
    .map_err(sqlite_error)?;
    Ok(updated.rows_affected())
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
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(before)
}
