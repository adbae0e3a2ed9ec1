//! Timers: a schedule, a target webhook and a payload, as the store keeps them and the API shows them.

use chrono::{DateTime, Utc};

use crate::domain::{FeedId, UserId};
use crate::timer_schedule::{Schedule, ScheduleError, StoredSchedule};

pub type TimerId = i64;
pub use crate::webhook::WebhookId;

/// The most timers one user may have.
pub const MAX_TIMERS_PER_USER: i64 = 1_000;
/// The most articles one digest carries; `more` says when there were others.
pub const DIGEST_LIMIT: u32 = 100;

/// What a firing delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `{id}`: the timer's id, as the seed service sent.
    Id,
    /// The owner's unread articles since the last firing, optionally of one feed.
    Digest,
}

impl PayloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadKind::Id => "id",
            PayloadKind::Digest => "digest",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "id" => Some(PayloadKind::Id),
            "digest" => Some(PayloadKind::Digest),
            _ => None,
        }
    }
}

/// Where a timer stands: `active` timers fire; `paused` ones keep their schedule without firing; a one-shot
/// timer that fired is `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStatus {
    Active,
    Paused,
    Done,
}

impl TimerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerStatus::Active => "active",
            TimerStatus::Paused => "paused",
            TimerStatus::Done => "done",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(TimerStatus::Active),
            "paused" => Some(TimerStatus::Paused),
            "done" => Some(TimerStatus::Done),
            _ => None,
        }
    }
}

/// What a firing sends, and to which webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerPayload {
    pub kind: PayloadKind,
    /// A digest's feed filter.
    pub feed_id: Option<FeedId>,
    /// A digest's category filter: the name of one of the owner's categories.
    pub category: Option<String>,
    /// A digest's saved filter: one of the owner's saved filters, by id. Deleted, it matches nothing.
    pub filter: Option<crate::saved_filter::SavedFilterId>,
}

/// A timer as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub id: TimerId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub schedule: StoredSchedule,
    pub webhook_id: WebhookId,
    /// Whether the webhook belongs to the timer (a bare `url` target), and goes with it.
    pub owns_webhook: bool,
    pub payload: TimerPayload,
    pub status: TimerStatus,
    /// When it fires next; `None` once done.
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_fired_at: Option<DateTime<Utc>>,
    pub fire_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Timer {
    pub fn parsed_schedule(&self) -> Result<Schedule, ScheduleError> {
        Schedule::from_stored(&self.schedule)
    }
}

/// Where a new timer delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerTarget {
    /// One of the owner's webhooks.
    Webhook(WebhookId),
    /// A bare URL: a webhook owned by the timer is created with it, in the same transaction.
    Url(String),
}

/// What creating a timer stores.
#[derive(Debug, Clone)]
pub struct NewTimer {
    pub user_id: UserId,
    pub name: Option<String>,
    pub schedule: StoredSchedule,
    pub target: TimerTarget,
    pub payload: TimerPayload,
    pub next_fire_at: DateTime<Utc>,
}

/// A timer just created; `secret` is set when the timer created its own webhook, and is shown once.
#[derive(Debug, Clone)]
pub struct CreatedTimer {
    pub timer: Timer,
    pub secret: Option<String>,
}

/// A timer's fields as an edit leaves them, all written at once. The store applies it only while the timer's
/// `next_fire_at` is still `expected_next_fire_at`, so an edit never undoes a firing committed meanwhile.
#[derive(Debug, Clone)]
pub struct TimerUpdate {
    pub name: Option<String>,
    pub schedule: StoredSchedule,
    pub payload: TimerPayload,
    pub status: TimerStatus,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub expected_next_fire_at: Option<DateTime<Utc>>,
}

/// One firing the wheel commits: the timer moves from `scheduled_for` to `next_fire_at` (or `done`), and the
/// delivery goes into the outbox, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerFiring {
    pub timer: TimerId,
    pub webhook_id: WebhookId,
    /// The instant it was due at; the firing applies only if the timer is still due then (not edited since).
    pub scheduled_for: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// The next instant, or `None` for a one-shot timer, which becomes `done`.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The delivery's `data`.
    pub data: serde_json::Value,
}

/// The event kind a timer's delivery carries.
pub const TIMER_EVENT: &str = "timer.fired";
