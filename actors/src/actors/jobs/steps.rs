//! What each kind of job does, one committed step at a time. A step's results and progress are committed
//! together, and each step's actions are idempotent (subscribing twice is subscribing once), so a job resumed
//! after a crash starts at the first step not committed and neither loses nor duplicates anything.

use std::collections::BTreeMap;

use chrono::Utc;

use super::JobContext;
use crate::actors::feed::RefreshOutcome;
use crate::domain::FeedId;
use crate::engine::{EngineError, SubscribeOutcome};
use crate::events::EventKind;
use crate::job::{Job, JobItem, JobKind, JobStatus};
use crate::opml::{self, OpmlFeed};
use crate::organise::Name;
use crate::store::StoreError;
use crate::webhook::job_progress_data;

/// Why an attempt failed; the runner records it as the job's error.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The stored input does not read back: a bug, or a job written by another version.
    #[error("the job's input does not read: {0}")]
    Input(#[from] serde_json::Error),
}

/// An import's input: the feeds of the document, in document order.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ImportInput {
    pub feeds: Vec<OpmlFeed>,
}

/// A refresh-all's input: the user's feeds when it was asked for.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RefreshInput {
    pub feeds: Vec<FeedId>,
}

/// How many stored results one summary read takes.
const SUMMARY_PAGE: u32 = 1_000;

pub async fn run(context: &JobContext, job: &Job) -> Result<(), JobError> {
    match job.kind {
        JobKind::OpmlImport => import(context, job).await,
        JobKind::OpmlExport => export(context, job).await,
        JobKind::RefreshFeeds => refresh(context, job).await,
    }
}

async fn import(context: &JobContext, job: &Job) -> Result<(), JobError> {
    let input: ImportInput = serde_json::from_str(&context.store.job_input(job.id).await?)?;
    let feeds = input.feeds;
    let start = usize::try_from(job.done).unwrap_or(0).min(feeds.len());
    for first in (start..feeds.len()).step_by(context.settings.chunk_size.max(1)) {
        let chunk = &feeds[first..(first + context.settings.chunk_size.max(1)).min(feeds.len())];
        crash_on_request(chunk);
        let urls = chunk.iter().map(|feed| feed.url.clone()).collect();
        let outcomes = context.engine.subscribe(job.user_id, urls).await?;
        // A feed's folder becomes its category; the parser bounds a folder path as a category name is bounded.
        let categories: Vec<(FeedId, Name)> = chunk
            .iter()
            .zip(&outcomes)
            .filter_map(|(feed, outcome)| Some((outcome.feed_id?, Name::category(feed.folder.as_deref()?).ok()?)))
            .collect();
        if !categories.is_empty() {
            context
                .store
                .set_subscription_categories(job.user_id, &categories)
                .await?;
        }
        let items: Vec<JobItem> = outcomes
            .iter()
            .enumerate()
            .map(|(offset, outcome)| JobItem {
                position: (first + offset) as i64,
                data: subscribe_result(outcome).to_string(),
            })
            .collect();
        if !commit_step(context, job, (first + chunk.len()) as i64, &items).await? {
            return Ok(());
        }
    }
    finish(context, job, None).await
}

/// Test builds only: an import listing a URL with `syndic-test-job-panic` in it panics, so the runner's
/// supervision can be tested on a real crash.
#[cfg(feature = "test-panic")]
fn crash_on_request(chunk: &[OpmlFeed]) {
    if chunk.iter().any(|feed| feed.url.contains("syndic-test-job-panic")) {
        panic!("deliberate test panic in an import listing syndic-test-job-panic");
    }
}

#[cfg(not(feature = "test-panic"))]
fn crash_on_request(_: &[OpmlFeed]) {}

/// One URL's result, as `POST /v1/feeds` reports it.
fn subscribe_result(outcome: &SubscribeOutcome) -> serde_json::Value {
    serde_json::json!({
        "url": outcome.url,
        "feed_id": outcome.feed_id,
        "status": outcome.status.as_str(),
        "error": outcome.error,
    })
}

async fn export(context: &JobContext, job: &Job) -> Result<(), JobError> {
    let feeds = context.engine.exported_feeds(job.user_id, None).await?;
    let document = opml::write(&feeds, Utc::now());
    if !commit_step(context, job, feeds.len() as i64, &[]).await? {
        return Ok(());
    }
    let summary = serde_json::json!({ "feeds": feeds.len() });
    if context.store.finish_job(job.id, &summary, Some(&document)).await? {
        context.publish_done(job, JobStatus::Done);
    }
    Ok(())
}

async fn refresh(context: &JobContext, job: &Job) -> Result<(), JobError> {
    let input: RefreshInput = serde_json::from_str(&context.store.job_input(job.id).await?)?;
    let feeds = input.feeds;
    let start = usize::try_from(job.done).unwrap_or(0).min(feeds.len());
    for first in (start..feeds.len()).step_by(context.settings.chunk_size.max(1)) {
        let chunk = &feeds[first..(first + context.settings.chunk_size.max(1)).min(feeds.len())];
        let mut items = Vec::with_capacity(chunk.len());
        for (offset, feed) in chunk.iter().enumerate() {
            // The manual refresh rules apply: a feed refreshed within the gap is left alone.
            let status = match context.engine.refresh(job.user_id, *feed).await {
                Ok(RefreshOutcome::Accepted) => "refreshing",
                Ok(RefreshOutcome::TooSoon { .. }) => "too_soon",
                Err(EngineError::Store(StoreError::NotFound)) => "unsubscribed",
                Err(error) => return Err(error.into()),
            };
            items.push(JobItem {
                position: (first + offset) as i64,
                data: serde_json::json!({ "feed_id": feed, "status": status }).to_string(),
            });
        }
        if !commit_step(context, job, (first + chunk.len()) as i64, &items).await? {
            return Ok(());
        }
    }
    finish(context, job, None).await
}

/// Commits a step and announces it; `false` when the job is no longer running (it was cancelled).
async fn commit_step(context: &JobContext, job: &Job, done: i64, items: &[JobItem]) -> Result<bool, JobError> {
    if !context.store.record_job_step(job.id, done, items).await? {
        tracing::info!(job_id = job.id, "the job was cancelled; its worker stops");
        return Ok(false);
    }
    context.publish(job, EventKind::JobProgress, job_progress_data(job.id, done, job.total));
    if !context.settings.step_pause.is_zero() {
        tokio::time::sleep(context.settings.step_pause).await;
    }
    Ok(true)
}

/// Marks the job done with a count of its results by status, read back from every step's stored results.
async fn finish(context: &JobContext, job: &Job, output: Option<&str>) -> Result<(), JobError> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut after = None;
    loop {
        let items = context.store.job_items(job.id, after, SUMMARY_PAGE).await?;
        let Some(last) = items.last() else { break };
        after = Some(last.position);
        for item in &items {
            let value: serde_json::Value = serde_json::from_str(&item.data)?;
            let status = value["status"].as_str().unwrap_or("unknown").to_owned();
            *counts.entry(status).or_default() += 1;
        }
    }
    let summary = serde_json::json!({ "counts": counts });
    if context.store.finish_job(job.id, &summary, output).await? {
        context.publish_done(job, JobStatus::Done);
    }
    Ok(())
}
