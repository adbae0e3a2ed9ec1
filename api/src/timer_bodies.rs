//! The JSON shapes of the timer routes: what a client sends to create or edit a timer, and a timer as shown.

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use syndic_actors::timer::{PayloadKind, Timer, TimerId, TimerPayload, TimerStatus, WebhookId};
use syndic_actors::timer_schedule::{time_left_seconds, Countdown, ScheduleRequest};

use crate::error::ApiError;
use crate::nullable::Nullable;

/// A countdown from now; each part is optional, none may be negative, and the total must be above zero.
#[derive(Debug, Clone, Copy, Object)]
#[oai(rename = "TimerCountdown")]
pub struct CountdownBody {
    #[oai(deserialize_with = "crate::strict_json::countdown_hours")]
    pub hours: Option<i64>,
    #[oai(deserialize_with = "crate::strict_json::countdown_minutes")]
    pub minutes: Option<i64>,
    #[oai(deserialize_with = "crate::strict_json::countdown_seconds")]
    pub seconds: Option<i64>,
}

/// Where a timer delivers: one of the caller's webhooks (`webhook_id`), or a bare `url`, for which a webhook
/// owned by the timer is created (its `secret` is in the 201 answer, once).
#[derive(Debug, Clone, Object)]
#[oai(rename = "TimerTarget")]
pub struct TargetBody {
    #[oai(deserialize_with = "crate::strict_json::target_webhook_id")]
    pub webhook_id: Option<WebhookId>,
    #[oai(deserialize_with = "crate::strict_json::target_url")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "TimerPayloadKind", rename_all = "lowercase")]
pub enum PayloadKindBody {
    /// `{id, name, scheduled_for, fired_at, late}`.
    Id,
    /// The same, with `digest`: the caller's unread articles since the last firing (at most 100, newest first,
    /// with `count` and `more`), optionally of one feed, one category or one saved filter.
    Digest,
}

/// What a firing delivers; `{kind: "id"}` when absent.
#[derive(Debug, Clone, Object)]
#[oai(rename = "TimerPayload")]
pub struct PayloadBody {
    pub kind: PayloadKindBody,
    /// A digest's feed: one the caller follows.
    #[oai(deserialize_with = "crate::strict_json::payload_feed_id")]
    pub feed_id: Option<i64>,
    /// A digest's category: the name of one of the caller's. Renaming the category carries the filter along;
    /// deleting it leaves a digest that lists nothing.
    #[oai(
        skip_serializing_if_is_none,
        deserialize_with = "crate::strict_json::payload_category"
    )]
    pub category: Option<String>,
    /// A digest's saved filter: the id of one of the caller's (not with `category`). The digest lists the unread
    /// articles it keeps, newest first; an edit of the filter shows at the next firing, and deleting it leaves a
    /// digest that lists nothing.
    #[oai(skip_serializing_if_is_none, deserialize_with = "crate::strict_json::payload_filter")]
    pub filter: Option<i64>,
}

/// The schedule fields: exactly one of `at`, `in`, `every` and `cron`. `at_time` goes with an `every` in whole
/// days; `timezone` (IANA, UTC by default) is where `at_time` and `cron` are read. A local time skipped by a
/// daylight-saving change fires at the first minute after the gap; one that occurs twice fires once, the first
/// time.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "TimerSchedule")]
pub struct ScheduleBody {
    /// A one-shot instant, RFC 3339, in the future.
    #[oai(deserialize_with = "crate::strict_json::at")]
    pub at: Option<String>,
    /// A one-shot countdown from now.
    #[oai(rename = "in", deserialize_with = "crate::strict_json::countdown")]
    pub countdown: Option<CountdownBody>,
    /// A period: a count and a unit, `d`, `h` or `m` (`1d`, `6h`, `30m`); at least one minute.
    #[oai(deserialize_with = "crate::strict_json::every")]
    pub every: Option<String>,
    /// `HH:MM`, with an `every` in days: the local time of day it fires at.
    #[oai(deserialize_with = "crate::strict_json::at_time")]
    pub at_time: Option<String>,
    #[oai(deserialize_with = "crate::strict_json::timezone")]
    pub timezone: Option<String>,
    /// A five-field cron expression (minute, hour, day of month, month, day of week).
    #[oai(deserialize_with = "crate::strict_json::cron")]
    pub cron: Option<String>,
}

impl ScheduleBody {
    pub fn request(&self) -> ScheduleRequest {
        ScheduleRequest {
            at: self.at.clone(),
            countdown: self.countdown.map(|countdown| Countdown {
                hours: countdown.hours.unwrap_or(0),
                minutes: countdown.minutes.unwrap_or(0),
                seconds: countdown.seconds.unwrap_or(0),
            }),
            every: self.every.clone(),
            at_time: self.at_time.clone(),
            timezone: self.timezone.clone(),
            cron: self.cron.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_none()
            && self.countdown.is_none()
            && self.every.is_none()
            && self.at_time.is_none()
            && self.timezone.is_none()
            && self.cron.is_none()
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "NewTimerRequest")]
pub struct NewTimerBody {
    #[oai(deserialize_with = "crate::strict_json::name_if_given")]
    pub name: Option<String>,
    #[oai(flatten)]
    pub schedule: ScheduleBody,
    pub target: TargetBody,
    #[oai(deserialize_with = "crate::strict_json::payload")]
    pub payload: Option<PayloadBody>,
}

/// An edit: fields left out stay as they are. Any schedule field replaces the whole schedule, from now.
#[derive(Debug, Clone, Object)]
#[oai(rename = "TimerPatchRequest")]
pub struct TimerPatchBody {
    /// `null` removes the name.
    #[oai(deserialize_with = "crate::strict_json::patched_name", nullable)]
    pub name: MaybeUndefined<String>,
    #[oai(flatten)]
    pub schedule: ScheduleBody,
    #[oai(deserialize_with = "crate::strict_json::payload")]
    pub payload: Option<PayloadBody>,
    /// `false` pauses the timer, `true` resumes it.
    #[oai(deserialize_with = "crate::strict_json::enabled")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "TimerStatus", rename_all = "lowercase")]
pub enum TimerStatusBody {
    Active,
    Paused,
    /// A one-shot timer that fired.
    Done,
}

/// A timer. Its deliveries are the webhook's: `GET /v1/webhooks/{webhook_id}/deliveries`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Timer")]
pub struct TimerBody {
    pub id: TimerId,
    #[oai(nullable)]
    pub name: Nullable<String>,
    pub status: TimerStatusBody,
    /// `once`, `every` or `cron`.
    pub schedule_kind: String,
    /// The `every` period or the cron expression.
    #[oai(nullable)]
    pub schedule: Nullable<String>,
    #[oai(nullable)]
    pub at_time: Nullable<String>,
    pub timezone: String,
    pub webhook_id: WebhookId,
    /// Whether the webhook was created for this timer (a `url` target) and goes with it.
    pub owns_webhook: bool,
    pub payload: PayloadBody,
    /// When it fires next; `null` once done.
    #[oai(nullable)]
    pub next_fire_at: Nullable<DateTime<Utc>>,
    /// Whole seconds until `next_fire_at`, rounded up (days included); `null` once done.
    #[oai(nullable)]
    pub time_left_seconds: Nullable<i64>,
    #[oai(nullable)]
    pub last_fired_at: Nullable<DateTime<Utc>>,
    pub fire_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A timer just created, with its webhook's `secret` when the timer created one: shown this once.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CreatedTimer")]
pub struct CreatedTimerBody {
    #[oai(flatten)]
    pub timer: TimerBody,
    #[oai(nullable)]
    pub secret: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "TimerList")]
pub struct TimersBody {
    /// Newest first.
    pub timers: Vec<TimerBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

pub fn payload(body: Option<PayloadBody>) -> TimerPayload {
    let Some(body) = body else {
        return TimerPayload {
            kind: PayloadKind::Id,
            feed_id: None,
            category: None,
            filter: None,
        };
    };
    TimerPayload {
        kind: match body.kind {
            PayloadKindBody::Id => PayloadKind::Id,
            PayloadKindBody::Digest => PayloadKind::Digest,
        },
        feed_id: body.feed_id,
        category: body.category,
        filter: body.filter,
    }
}

/// A name, trimmed, at most 200 characters; empty is none.
pub fn name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = name.map(|name| name.trim().to_owned()) else {
        return Ok(None);
    };
    if name.chars().count() > 200 {
        return Err(ApiError::validation("name", "must be at most 200 characters long"));
    }
    Ok((!name.is_empty()).then_some(name))
}

pub fn timer_body(timer: Timer, now: DateTime<Utc>) -> TimerBody {
    let status = match timer.status {
        TimerStatus::Active => TimerStatusBody::Active,
        TimerStatus::Paused => TimerStatusBody::Paused,
        TimerStatus::Done => TimerStatusBody::Done,
    };
    let payload = PayloadBody {
        kind: match timer.payload.kind {
            PayloadKind::Id => PayloadKindBody::Id,
            PayloadKind::Digest => PayloadKindBody::Digest,
        },
        feed_id: timer.payload.feed_id,
        category: timer.payload.category,
        filter: timer.payload.filter,
    };
    TimerBody {
        id: timer.id,
        name: timer.name.into(),
        status,
        schedule_kind: timer.schedule.kind,
        schedule: timer.schedule.spec.into(),
        at_time: timer.schedule.at_time.into(),
        timezone: timer.schedule.timezone,
        webhook_id: timer.webhook_id,
        owns_webhook: timer.owns_webhook,
        payload,
        next_fire_at: timer.next_fire_at.into(),
        time_left_seconds: timer.next_fire_at.map(|next| time_left_seconds(next, now)).into(),
        last_fired_at: timer.last_fired_at.into(),
        fire_count: timer.fire_count,
        created_at: timer.created_at,
        updated_at: timer.updated_at,
    }
}
