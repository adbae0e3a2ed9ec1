//! The engine's door for jobs: starting an OPML import, an export or a refresh of all a user's feeds, and a
//! user's view of their jobs (status, per-item results, output), retrying and cancelling. Creating a job wakes
//! the runner, which claims it from the store.

use crate::actors::jobs::steps::{ImportInput, RefreshInput};
use crate::actors::jobs::JobRunnerMsg;
use crate::domain::{SubscriptionCursor, UserId};
use crate::engine::{Engine, EngineError};
use crate::events::{EventKind, NewEvent};
use crate::job::{Job, JobId, JobItem, JobKind, JobStatus, NewJob};
use crate::opml::{ExportedFeed, OpmlFeed};
use crate::webhook::job_done_data;

/// Subscriptions read per page while gathering a user's feeds.
const LISTING_PAGE: u32 = 500;

impl Engine {
    /// Starts importing `feeds` (an OPML document's) for the user.
    pub async fn import_opml(&self, user: UserId, feeds: Vec<OpmlFeed>) -> Result<Job, EngineError> {
        let total = feeds.len() as i64;
        let input =
            serde_json::to_string(&ImportInput { feeds }).map_err(|error| EngineError::Unavailable(error.into()))?;
        self.enqueue_job(user, JobKind::OpmlImport, input, total).await
    }

    /// Starts writing the user's subscriptions as OPML, for an account too large to answer at once.
    pub async fn export_opml_job(&self, user: UserId) -> Result<Job, EngineError> {
        self.enqueue_job(user, JobKind::OpmlExport, "{}".to_owned(), 0).await
    }

    /// Starts asking for a poll of each of the user's feeds, under the manual refresh rules.
    pub async fn refresh_all(&self, user: UserId) -> Result<Job, EngineError> {
        let feeds: Vec<_> = self
            .exported_feeds_with_ids(user, None)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let total = feeds.len() as i64;
        let input =
            serde_json::to_string(&RefreshInput { feeds }).map_err(|error| EngineError::Unavailable(error.into()))?;
        self.enqueue_job(user, JobKind::RefreshFeeds, input, total).await
    }

    /// The user's subscriptions as an export lists them, in subscription order; `TooLarge` when there are more
    /// than `limit`.
    pub async fn exported_feeds(&self, user: UserId, limit: Option<usize>) -> Result<Vec<ExportedFeed>, EngineError> {
        Ok(self
            .exported_feeds_with_ids(user, limit)
            .await?
            .into_iter()
            .map(|(_, feed)| feed)
            .collect())
    }

    async fn exported_feeds_with_ids(
        &self,
        user: UserId,
        limit: Option<usize>,
    ) -> Result<Vec<(crate::domain::FeedId, ExportedFeed)>, EngineError> {
        let mut feeds = Vec::new();
        let mut after: Option<SubscriptionCursor> = None;
        loop {
            let page = self.list_subscriptions(user, LISTING_PAGE, after).await?;
            feeds.extend(page.subscriptions.into_iter().map(|subscription| {
                // The user's own title and their category, which an import reads back as the feed's folder.
                let title = subscription.shown_title().map(str::to_owned);
                let folder = subscription.category.map(|category| category.name);
                let feed = subscription.feed;
                (
                    feed.id,
                    ExportedFeed {
                        url: feed.url,
                        title,
                        site_url: feed.site_url,
                        folder,
                    },
                )
            }));
            if limit.is_some_and(|limit| feeds.len() > limit) {
                return Err(EngineError::TooLarge {
                    limit: limit.unwrap_or_default(),
                });
            }
            match page.next_cursor {
                Some(cursor) => after = Some(cursor),
                None => return Ok(feeds),
            }
        }
    }

    pub async fn get_job(&self, user: UserId, job: JobId) -> Result<Job, EngineError> {
        Ok(self.job_store().get_job(user, job).await?)
    }

    /// Up to `limit` of the user's jobs older than `before`, newest first.
    pub async fn list_jobs(&self, user: UserId, limit: u32, before: Option<JobId>) -> Result<Vec<Job>, EngineError> {
        Ok(self.job_store().list_jobs(user, limit, before).await?)
    }

    /// A page of the job's per-item results; `NotFound` for another user's job.
    pub async fn job_items(
        &self,
        user: UserId,
        job: JobId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<JobItem>, EngineError> {
        self.job_store().get_job(user, job).await?;
        Ok(self.job_store().job_items(job, after, limit).await?)
    }

    /// The job's output document, once it has one.
    pub async fn job_output(&self, user: UserId, job: JobId) -> Result<Option<String>, EngineError> {
        Ok(self.job_store().job_output(user, job).await?)
    }

    /// Runs a failed or dead job again, from the step it reached, with its attempts reset.
    pub async fn retry_job(&self, user: UserId, job: JobId) -> Result<Job, EngineError> {
        let job = self.job_store().retry_job(user, job).await?;
        self.wake_job_runner();
        Ok(job)
    }

    /// Cancels a pending, failed or running job; a running one's worker is stopped. What its steps committed
    /// stays.
    pub async fn cancel_job(&self, user: UserId, job: JobId) -> Result<Job, EngineError> {
        self.job_store().cancel_job(user, job).await?;
        if let Some(runner) = self.job_runner() {
            let _ = runner.send_message(JobRunnerMsg::Cancel(job));
        }
        self.job_event_committed(user, EventKind::JobDone, job_done_data(job, JobStatus::Cancelled));
        Ok(self.job_store().get_job(user, job).await?)
    }

    /// After a commit that changed one of `user`'s jobs: sends the webhook deliveries that transaction put in
    /// the outbox, and tells the user's event stream.
    pub(crate) fn job_event_committed(&self, user: UserId, kind: EventKind, data: serde_json::Value) {
        self.webhook_deliveries().sweep();
        self.events().publish(vec![NewEvent {
            user,
            kind,
            feed: None,
            data,
        }]);
    }

    async fn enqueue_job(&self, user: UserId, kind: JobKind, input: String, total: i64) -> Result<Job, EngineError> {
        let limit = self.job_settings().max_queued_per_user;
        if self.job_store().count_queued_jobs(user).await? >= limit {
            return Err(EngineError::TooManyJobs { limit });
        }
        let job = self
            .job_store()
            .create_job(&NewJob {
                user_id: user,
                kind,
                input,
                total,
            })
            .await?;
        tracing::info!(job_id = job.id, user_id = %user, kind = kind.as_str(), total, "job queued");
        self.wake_job_runner();
        Ok(job)
    }

    fn wake_job_runner(&self) {
        if let Some(runner) = self.job_runner() {
            let _ = runner.send_message(JobRunnerMsg::Wake);
        }
    }
}
