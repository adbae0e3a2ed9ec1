//! Jobs on Postgres: creating, claiming (`FOR UPDATE SKIP LOCKED`), stepping and finishing them, and a user's
//! view of them; and the folders an OPML import puts subscriptions in.

use chrono::{DateTime, Utc};

use sqlx::PgConnection;

use super::rows::JobRow;
use super::webhooks::insert_user_event_deliveries;
use super::PostgresStore;
use crate::domain::UserId;
use crate::job::{Job, JobId, JobItem, JobStatus, NewJob, RequeuedJob};
use crate::store::job_rows::{self, JOB_COLUMNS};
use crate::store::job_store::{CANCELLABLE, RETRIABLE};
use crate::store::StoreError;
use crate::webhook::{job_done_data, job_progress_data};

const QUEUED: [&str; 3] = ["pending", "running", "failed"];

/// Inside the transaction that ended a job (`owner` is `None` when it was no longer running): its `job.done`
/// deliveries. Returns whether the job ended.
async fn ended(
    conn: &mut PgConnection,
    job: JobId,
    owner: Option<UserId>,
    status: JobStatus,
) -> Result<bool, StoreError> {
    let Some(owner) = owner else {
        return Ok(false);
    };
    insert_user_event_deliveries(conn, owner, "job.done", &job_done_data(job, status)).await?;
    Ok(true)
}

fn names(statuses: &[JobStatus]) -> Vec<&'static str> {
    statuses.iter().map(|status| status.as_str()).collect()
}

pub(super) async fn create_job(store: &PostgresStore, job: &NewJob) -> Result<Job, StoreError> {
    let row: JobRow = sqlx::query_as(&format!(
        "INSERT INTO jobs (user_id, kind, input, total) VALUES ($1, $2, $3, $4) RETURNING {JOB_COLUMNS}"
    ))
    .bind(job.user_id)
    .bind(job.kind.as_str())
    .bind(&job.input)
    .bind(job.total)
    .fetch_one(&store.pool)
    .await?;
    row.into_job()
}

pub(super) async fn count_queued_jobs(store: &PostgresStore, user: UserId) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE user_id = $1 AND status = ANY($2)")
            .bind(user)
            .bind(&QUEUED[..])
            .fetch_one(&store.pool)
            .await?,
    )
}

pub(super) async fn get_job(store: &PostgresStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let row: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND user_id = $2"
    ))
    .bind(job)
    .bind(user)
    .fetch_one(&store.pool)
    .await?;
    row.into_job()
}

pub(super) async fn list_jobs(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    before: Option<JobId>,
) -> Result<Vec<Job>, StoreError> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(user)
    .bind(before.unwrap_or(JobId::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    job_rows::jobs(rows)
}

pub(super) async fn job_input(store: &PostgresStore, job: JobId) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT input FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&store.pool)
        .await?)
}

pub(super) async fn job_output(store: &PostgresStore, user: UserId, job: JobId) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT output FROM jobs WHERE id = $1 AND user_id = $2")
            .bind(job)
            .bind(user)
            .fetch_one(&store.pool)
            .await?,
    )
}

pub(super) async fn job_items(
    store: &PostgresStore,
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
    .await?;
    Ok(rows
        .into_iter()
        .map(|(position, data)| JobItem { position, data })
        .collect())
}

pub(super) async fn claim_job(
    store: &PostgresStore,
    now: DateTime<Utc>,
    busy_users: &[UserId],
) -> Result<Option<Job>, StoreError> {
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $1, updated_at = $1, \
         error = NULL \
         WHERE id = (SELECT id FROM jobs WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1 \
                     AND NOT (user_id = ANY($2)) ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(now)
    .bind(busy_users)
    .fetch_optional(&store.pool)
    .await?;
    row.map(JobRow::into_job).transpose()
}

pub(super) async fn next_job_due(
    store: &PostgresStore,
    busy_users: &[UserId],
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT min(next_attempt_at) FROM jobs WHERE status IN ('pending', 'failed') AND NOT (user_id = ANY($1))",
    )
    .bind(busy_users)
    .fetch_one(&store.pool)
    .await?)
}

pub(super) async fn record_job_step(
    store: &PostgresStore,
    job: JobId,
    done: i64,
    items: &[JobItem],
) -> Result<bool, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let updated: Option<(UserId, i64)> = sqlx::query_as(
        "UPDATE jobs SET done = $2, updated_at = now() WHERE id = $1 AND status = 'running' RETURNING user_id, total",
    )
    .bind(job)
    .bind(done)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((user, total)) = updated else {
        return Ok(false);
    };
    let positions: Vec<i64> = items.iter().map(|item| item.position).collect();
    let data: Vec<&str> = items.iter().map(|item| item.data.as_str()).collect();
    sqlx::query(
        "INSERT INTO job_items (job_id, position, data) SELECT $1, p, d FROM UNNEST($2::bigint[], $3::text[]) AS t(p, d) \
         ON CONFLICT DO NOTHING",
    )
    .bind(job)
    .bind(&positions)
    .bind(&data)
    .execute(&mut *transaction)
    .await?;
    let progress = job_progress_data(job, done, total);
    insert_user_event_deliveries(&mut transaction, user, "job.progress", &progress).await?;
    transaction.commit().await?;
    Ok(true)
}

pub(super) async fn finish_job(
    store: &PostgresStore,
    job: JobId,
    result: &serde_json::Value,
    output: Option<&str>,
) -> Result<bool, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let owner: Option<UserId> = sqlx::query_scalar(
        "UPDATE jobs SET status = 'done', result = $2, output = $3, error = NULL, updated_at = now(), \
         finished_at = now() WHERE id = $1 AND status = 'running' RETURNING user_id",
    )
    .bind(job)
    .bind(result.to_string())
    .bind(output)
    .fetch_optional(&mut *transaction)
    .await?;
    let ended = ended(&mut transaction, job, owner, JobStatus::Done).await?;
    transaction.commit().await?;
    Ok(ended)
}

pub(super) async fn fail_job_attempt(
    store: &PostgresStore,
    job: JobId,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let owner: Option<UserId> = sqlx::query_scalar(
        "UPDATE jobs SET status = CASE WHEN $3::timestamptz IS NULL THEN 'dead' ELSE 'failed' END, error = $2, \
         next_attempt_at = COALESCE($3, next_attempt_at), updated_at = now(), \
         finished_at = CASE WHEN $3::timestamptz IS NULL THEN now() END \
         WHERE id = $1 AND status = 'running' RETURNING user_id",
    )
    .bind(job)
    .bind(error)
    .bind(retry_at)
    .fetch_optional(&mut *transaction)
    .await?;
    let updated = match retry_at {
        None => ended(&mut transaction, job, owner, JobStatus::Dead).await?,
        Some(_) => owner.is_some(),
    };
    transaction.commit().await?;
    Ok(updated)
}

pub(super) async fn requeue_running_jobs(
    store: &PostgresStore,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Vec<RequeuedJob>, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let requeued: Vec<(JobId, UserId, bool)> = sqlx::query_as(
        "UPDATE jobs SET status = CASE WHEN attempts >= $2 THEN 'dead' ELSE 'failed' END, \
         error = 'the engine stopped while the job was running', next_attempt_at = $1, updated_at = $1, \
         finished_at = CASE WHEN attempts >= $2 THEN $1 END \
         WHERE status = 'running' RETURNING id, user_id, status = 'dead'",
    )
    .bind(now)
    .bind(max_attempts)
    .fetch_all(&mut *transaction)
    .await?;
    for (job, owner, _) in requeued.iter().filter(|(_, _, dead)| *dead) {
        ended(&mut transaction, *job, Some(*owner), JobStatus::Dead).await?;
    }
    transaction.commit().await?;
    Ok(requeued
        .into_iter()
        .map(|(job, user, dead)| RequeuedJob { job, user, dead })
        .collect())
}

pub(super) async fn retry_job(store: &PostgresStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now(), \
         finished_at = NULL WHERE id = $1 AND user_id = $2 AND status = ANY($3) RETURNING {JOB_COLUMNS}"
    ))
    .bind(job)
    .bind(user)
    .bind(names(&RETRIABLE))
    .fetch_optional(&store.pool)
    .await?;
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

pub(super) async fn cancel_job(store: &PostgresStore, user: UserId, job: JobId) -> Result<Job, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let before: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND user_id = $2 FOR UPDATE"
    ))
    .bind(job)
    .bind(user)
    .fetch_one(&mut *transaction)
    .await?;
    let before = before.into_job()?;
    if !CANCELLABLE.contains(&before.status) {
        return Err(StoreError::Rejected {
            field: "status",
            reason: "only a pending, failed or running job can be cancelled",
        });
    }
    sqlx::query("UPDATE jobs SET status = 'cancelled', updated_at = now(), finished_at = now() WHERE id = $1")
        .bind(job)
        .execute(&mut *transaction)
        .await?;
    ended(&mut transaction, job, Some(user), JobStatus::Cancelled).await?;
    transaction.commit().await?;
    Ok(before)
}
