//! Jobs: `GET /v1/jobs`, `GET/DELETE /v1/jobs/{id}`, `POST /v1/jobs/{id}/retry`, a job's per-item results
//! (`GET /v1/jobs/{id}/items`) and its document (`GET /v1/jobs/{id}/result`), and `POST /v1/feeds/refresh`,
//! which refreshes all of the caller's feeds as a job.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::job::{Job, JobId, JobKind, JobStatus};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, Failure, JobAction, ListFeeds, StartJob};
use crate::id_pages::{self, bounded, next_page};
use crate::nullable::Nullable;
use crate::ApiTags;

/// The listing's page size when none is asked for, and the most it may be.
pub const JOBS_DEFAULT_LIMIT: i64 = 50;
pub const JOBS_MAX_LIMIT: i64 = 200;
/// The item page size when none is asked for, and the most it may be.
pub const ITEMS_DEFAULT_LIMIT: i64 = 500;
pub const ITEMS_MAX_LIMIT: i64 = 1_000;

pub struct JobsApi;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "JobKind", rename_all = "snake_case")]
pub enum JobKindBody {
    /// `POST /v1/opml`: subscribes to every feed of an OPML document.
    OpmlImport,
    /// `GET /v1/opml?async=true`: the subscriptions as OPML, downloadable from `result_url`.
    OpmlExport,
    /// `POST /v1/feeds/refresh`: a poll of each of the user's feeds.
    RefreshFeeds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "JobStatus", rename_all = "lowercase")]
pub enum JobStatusBody {
    /// Waiting for its turn.
    Pending,
    Running,
    /// An attempt failed; it runs again at `next_attempt_at`.
    Failed,
    Done,
    /// Every attempt failed; `error` says why the last did. `POST /v1/jobs/{id}/retry` runs it again.
    Dead,
    Cancelled,
}

/// A long operation the user started. Its progress also arrives on the event stream: `job.progress` with
/// `{job_id, done, total}` after each committed step, and `job.done` with `{job_id, status}` when it ends (done,
/// dead or cancelled).
#[derive(Debug, Clone, Object)]
#[oai(rename = "Job")]
pub struct JobBody {
    pub id: JobId,
    pub kind: JobKindBody,
    pub status: JobStatusBody,
    /// Items (feeds) processed so far.
    pub done: i64,
    /// Items to process; 0 while unknown (an export).
    pub total: i64,
    /// A summary once done: counts of per-item results by status, or the number of feeds exported.
    #[oai(nullable)]
    pub result: Nullable<serde_json::Value>,
    /// Where the job's document is downloaded, once there is one (an export).
    #[oai(nullable)]
    pub result_url: Nullable<String>,
    /// Why the last attempt failed.
    #[oai(nullable)]
    pub error: Nullable<String>,
    /// Attempts started, this one included.
    pub attempts: i32,
    /// When a failed job runs again.
    #[oai(nullable)]
    pub next_attempt_at: Nullable<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(nullable)]
    pub started_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub finished_at: Nullable<DateTime<Utc>>,
}

#[derive(Debug, Object)]
#[oai(rename = "JobList")]
pub struct JobsBody {
    /// Newest first.
    pub jobs: Vec<JobBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

/// One item's result: for an import, the feed's subscribe result (`url`, `feed_id`, `status` ready, pending or
/// invalid, `error`), as `POST /v1/feeds` reports it; for a refresh, `feed_id` and `status` (refreshing,
/// too_soon or unsubscribed).
#[derive(Debug, Object)]
#[oai(rename = "JobItem")]
pub struct JobItemBody {
    /// The item's place in the job's input, from 0.
    pub position: i64,
    pub result: serde_json::Value,
}

#[derive(Debug, Object)]
#[oai(rename = "JobItemList")]
pub struct JobItemsBody {
    /// In input order.
    pub items: Vec<JobItemBody>,
    /// Pass as `after` to get the next page; `null` when no more results are stored yet.
    #[oai(nullable)]
    pub next_after: Nullable<i64>,
}

#[derive(ApiResponse)]
pub enum JobAccepted {
    /// The job is queued; follow it at `GET /v1/jobs/{id}` or on the event stream.
    #[oai(status = 202)]
    Accepted(Json<JobBody>),
}

#[derive(ApiResponse)]
pub enum JobResultResponse {
    /// The job's document.
    #[oai(status = 200, content_type = "text/x-opml; charset=utf-8")]
    Document(Binary<Vec<u8>>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Jobs")]
impl JobsApi {
    /// The user's jobs, newest first, one page at a time.
    #[oai(path = "/jobs", method = "get", operation_id = "list_jobs")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<JobsBody>, Failure<ListFeeds>> {
        let limit = bounded("limit", limit.0, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT)?;
        let before = id_pages::cursor::<JobId>(cursor.0)?;
        let jobs = engine.list_jobs(auth.0, limit, before).await?;
        let next_cursor = next_page(&jobs, limit, |job| job.id.to_string());
        Ok(Json(JobsBody {
            jobs: jobs.into_iter().map(job_body).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// One job: its status, progress, result and error.
    #[oai(path = "/jobs/:id", method = "get", operation_id = "get_job")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The job's id.
        id: Path<JobId>,
        engine: Data<&Engine>,
    ) -> Result<Json<JobBody>, Failure<ById>> {
        Ok(Json(job_body(engine.get_job(auth.0, id.0).await?)))
    }

    /// A page of the job's per-item results, committed step by step while it runs.
    #[oai(path = "/jobs/:id/items", method = "get", operation_id = "list_job_items")]
    async fn items(
        &self,
        auth: BearerAuth,
        /// The job's id.
        id: Path<JobId>,
        /// Results after this position (the `next_after` of the previous page).
        after: Query<Option<i64>>,
        /// Page size, 1–1000; 500 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 1000.0)))]
        limit: Query<Option<i64>>,
        engine: Data<&Engine>,
    ) -> Result<Json<JobItemsBody>, Failure<JobAction>> {
        let limit = bounded("limit", limit.0, ITEMS_DEFAULT_LIMIT, ITEMS_MAX_LIMIT)?;
        let items = engine.job_items(auth.0, id.0, after.0, limit).await?;
        let next_after = next_page(&items, limit, |item| item.position);
        let items = items
            .into_iter()
            .map(|item| JobItemBody {
                position: item.position,
                result: serde_json::from_str(&item.data).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok(Json(JobItemsBody {
            items,
            next_after: next_after.into(),
        }))
    }

    /// The job's document (an export's OPML), once it is done.
    #[oai(path = "/jobs/:id/result", method = "get", operation_id = "get_job_result")]
    async fn result(
        &self,
        auth: BearerAuth,
        /// The job's id.
        id: Path<JobId>,
        engine: Data<&Engine>,
    ) -> Result<JobResultResponse, Failure<ById>> {
        match engine.job_output(auth.0, id.0).await? {
            Some(document) => Ok(JobResultResponse::Document(Binary(document.into_bytes()))),
            None => Err(ApiError::NotFound("this job has no document (yet)".to_owned()).into()),
        }
    }

    /// Runs a failed or dead job again, from the step it reached, with its attempts reset.
    #[oai(path = "/jobs/:id/retry", method = "post", operation_id = "retry_job")]
    async fn retry(
        &self,
        auth: BearerAuth,
        /// The job's id.
        id: Path<JobId>,
        engine: Data<&Engine>,
    ) -> Result<JobAccepted, Failure<JobAction>> {
        Ok(JobAccepted::Accepted(Json(job_body(
            engine.retry_job(auth.0, id.0).await?,
        ))))
    }

    /// Cancels a pending, failed or running job. What its finished steps did (subscriptions) stays.
    #[oai(path = "/jobs/:id", method = "delete", operation_id = "cancel_job")]
    async fn cancel(
        &self,
        auth: BearerAuth,
        /// The job's id.
        id: Path<JobId>,
        engine: Data<&Engine>,
    ) -> Result<Json<JobBody>, Failure<JobAction>> {
        Ok(Json(job_body(engine.cancel_job(auth.0, id.0).await?)))
    }

    /// Refreshes every feed of the caller as a job, under the per-feed refresh rules (at most once a minute)
    /// and the politeness limits.
    #[oai(
        path = "/feeds/refresh",
        method = "post",
        operation_id = "refresh_all_feeds",
        tag = "ApiTags::Feeds"
    )]
    async fn refresh_all(&self, auth: BearerAuth, engine: Data<&Engine>) -> Result<JobAccepted, Failure<StartJob>> {
        Ok(JobAccepted::Accepted(Json(job_body(engine.refresh_all(auth.0).await?))))
    }
}

pub(crate) fn job_body(job: Job) -> JobBody {
    let kind = match job.kind {
        JobKind::OpmlImport => JobKindBody::OpmlImport,
        JobKind::OpmlExport => JobKindBody::OpmlExport,
        JobKind::RefreshFeeds => JobKindBody::RefreshFeeds,
    };
    let status = match job.status {
        JobStatus::Pending => JobStatusBody::Pending,
        JobStatus::Running => JobStatusBody::Running,
        JobStatus::Failed => JobStatusBody::Failed,
        JobStatus::Done => JobStatusBody::Done,
        JobStatus::Dead => JobStatusBody::Dead,
        JobStatus::Cancelled => JobStatusBody::Cancelled,
    };
    JobBody {
        id: job.id,
        kind,
        status,
        done: job.done,
        total: job.total,
        result: job.result.into(),
        result_url: job.has_output.then(|| format!("/v1/jobs/{}/result", job.id)).into(),
        error: job.error.into(),
        attempts: job.attempts,
        next_attempt_at: (job.status == JobStatus::Failed).then_some(job.next_attempt_at).into(),
        created_at: job.created_at,
        updated_at: job.updated_at,
        started_at: job.started_at.into(),
        finished_at: job.finished_at.into(),
    }
}
