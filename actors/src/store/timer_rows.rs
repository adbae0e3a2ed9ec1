//! A timer row as both backends read it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{decode_error, optional, Decoded};
use super::StoreError;
use crate::timer::{PayloadKind, Timer, TimerPayload, TimerStatus};
use crate::timer_schedule::StoredSchedule;

/// The columns a [`TimerRow`] reads, from `timers`.
pub(super) const TIMER_COLUMNS: &str =
    "id, user_id, name, schedule_kind, schedule_spec, at_time, timezone, anchor_at, webhook_id, owns_webhook, \
     payload_kind, digest_feed_id, digest_category, digest_filter_id, status, next_fire_at, last_fired_at, fire_count, created_at, \
     updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct TimerRow<Id, Time> {
    id: i64,
    user_id: Id,
    name: Option<String>,
    schedule_kind: String,
    schedule_spec: Option<String>,
    at_time: Option<String>,
    timezone: String,
    anchor_at: Time,
    webhook_id: Option<i64>,
    owns_webhook: bool,
    payload_kind: String,
    digest_feed_id: Option<i64>,
    digest_category: Option<String>,
    digest_filter_id: Option<i64>,
    status: String,
    next_fire_at: Option<Time>,
    last_fired_at: Option<Time>,
    fire_count: i64,
    created_at: Time,
    updated_at: Time,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>> TimerRow<Id, Time> {
    pub(super) fn into_timer(self) -> Result<Timer, StoreError> {
        let kind = PayloadKind::parse(&self.payload_kind)
            .ok_or_else(|| decode_error(format!("unknown payload kind {:?}", self.payload_kind)))?;
        let status = TimerStatus::parse(&self.status)
            .ok_or_else(|| decode_error(format!("unknown timer status {:?}", self.status)))?;
        Ok(Timer {
            id: self.id,
            user_id: self.user_id.decoded()?,
            name: self.name,
            schedule: StoredSchedule {
                kind: self.schedule_kind,
                spec: self.schedule_spec,
                at_time: self.at_time,
                timezone: self.timezone,
                anchor: self.anchor_at.decoded()?,
            },
            webhook_id: self
                .webhook_id
                .ok_or_else(|| decode_error("a timer without its webhook".to_owned()))?,
            owns_webhook: self.owns_webhook,
            payload: TimerPayload {
                kind,
                feed_id: self.digest_feed_id,
                category: self.digest_category,
                filter: self.digest_filter_id,
            },
            status,
            next_fire_at: optional(self.next_fire_at)?,
            last_fired_at: optional(self.last_fired_at)?,
            fire_count: self.fire_count,
            created_at: self.created_at.decoded()?,
            updated_at: self.updated_at.decoded()?,
        })
    }
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn timers<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>>(
    rows: Vec<TimerRow<Id, Time>>,
) -> Result<Vec<Timer>, StoreError> {
    rows.into_iter().map(TimerRow::into_timer).collect()
}
