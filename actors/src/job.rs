//! Jobs: long operations a user starts (an OPML import or export, a refresh of all their feeds), as the store
//! keeps them and the API shows them.

use chrono::{DateTime, Utc};

use crate::domain::UserId;

pub type JobId = i64;

/// What a job does; its input and result depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Subscribes to every feed of an OPML document.
    OpmlImport,
    /// Writes the user's subscriptions as an OPML document, the job's output.
    OpmlExport,
    /// Asks for a poll of each of the user's feeds.
    RefreshFeeds,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::OpmlImport => "opml_import",
            JobKind::OpmlExport => "opml_export",
            JobKind::RefreshFeeds => "refresh_feeds",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "opml_import" => Some(JobKind::OpmlImport),
            "opml_export" => Some(JobKind::OpmlExport),
            "refresh_feeds" => Some(JobKind::RefreshFeeds),
            _ => None,
        }
    }
}

/// Where a job stands. `pending` → `running` → `done`; a failed attempt is `failed` until its retry is due,
/// and `dead` once it is out of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Running,
    /// An attempt failed; the job runs again at `next_attempt_at`.
    Failed,
    Done,
    /// Every attempt failed; only a retry brings it back.
    Dead,
    /// Its owner cancelled it.
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Failed => "failed",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(JobStatus::Pending),
            "running" => Some(JobStatus::Running),
            "failed" => Some(JobStatus::Failed),
            "done" => Some(JobStatus::Done),
            "dead" => Some(JobStatus::Dead),
            "cancelled" => Some(JobStatus::Cancelled),
            _ => None,
        }
    }

    /// Whether the job is still to run, or running: what counts against a user's queue.
    pub fn is_queued(self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::Running | JobStatus::Failed)
    }
}

/// A job as stored, without its input and output, which can be large.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub user_id: UserId,
    pub kind: JobKind,
    pub status: JobStatus,
    /// Items processed, which is also where a resumed job starts.
    pub done: i64,
    pub total: i64,
    /// A JSON summary, once done.
    pub result: Option<serde_json::Value>,
    /// Whether the job produced a document to download (an export).
    pub has_output: bool,
    pub error: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What creating a job stores.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub user_id: UserId,
    pub kind: JobKind,
    /// JSON, read back by the job's worker.
    pub input: String,
    pub total: i64,
}

/// A job that was running when the engine stopped, as a restart left it: `failed` and due again, or `dead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequeuedJob {
    pub job: JobId,
    pub user: UserId,
    pub dead: bool,
}

/// One step's results: per-item JSON at its position in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobItem {
    pub position: i64,
    pub data: String,
}
