//! The engine's door for timers: creating, reading, editing and deleting a user's timers. Each change is
//! committed in the store first, then told to the timer wheel, which alone fires them.

use chrono::{DateTime, Utc};

use crate::actors::timer_wheel::TimerWheelMsg;
use crate::domain::{FeedId, UserId};
use crate::engine::{Engine, EngineError};
use crate::store::StoreError;
use crate::timer::{
    CreatedTimer, NewTimer, PayloadKind, Timer, TimerId, TimerPayload, TimerStatus, TimerTarget, TimerUpdate,
    MAX_TIMERS_PER_USER,
};
use crate::timer_schedule::Schedule;

/// How many times an edit is tried again when the timer fired while it was being made.
const EDIT_ATTEMPTS: usize = 5;

/// A new timer as a request gives it, its schedule already parsed.
#[derive(Debug, Clone)]
pub struct TimerRequest {
    pub name: Option<String>,
    pub schedule: Schedule,
    pub target: TimerTarget,
    pub payload: TimerPayload,
}

/// An edit of a timer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TimerEdit {
    pub name: Option<Option<String>>,
    /// A new schedule, which starts again from now.
    pub schedule: Option<Schedule>,
    pub payload: Option<TimerPayload>,
    /// `Some(false)` pauses the timer, `Some(true)` resumes it.
    pub enabled: Option<bool>,
}

impl Engine {
    /// The time as the timer wheel reads it (a test may move it).
    pub fn timer_clock(&self) -> DateTime<Utc> {
        self.timer_settings().clock.now()
    }

    /// Creates a timer; see [`TimerStore::create_timer`](crate::store::TimerStore::create_timer).
    pub async fn create_timer(&self, user: UserId, mut request: TimerRequest) -> Result<CreatedTimer, EngineError> {
        request.payload = self.checked_payload(user, request.payload).await?;
        if let TimerTarget::Url(url) = &request.target {
            // The same rules as a feed URL: http(s), and no private address unless the server allows them.
            let checked = self.check_url(url).await.map_err(|message| EngineError::Invalid {
                field: "target.url",
                message,
            })?;
            request.target = TimerTarget::Url(checked.as_str().to_owned());
        }
        let now = self.timer_clock();
        let next_fire_at = request.schedule.first_fire(now).ok_or(StoreError::Rejected {
            field: "schedule",
            reason: "never fires",
        })?;
        let created = self
            .timer_store()
            .create_timer(
                &NewTimer {
                    user_id: user,
                    name: request.name,
                    schedule: request.schedule.stored(),
                    target: request.target,
                    payload: request.payload,
                    next_fire_at,
                },
                MAX_TIMERS_PER_USER,
            )
            .await?;
        tracing::info!(timer_id = created.timer.id, user_id = %user, %next_fire_at, "timer created");
        self.tell_timer_wheel(TimerWheelMsg::Upserted(Box::new(created.timer.clone())));
        Ok(created)
    }

    pub async fn get_timer(&self, user: UserId, timer: TimerId) -> Result<Timer, EngineError> {
        Ok(self.timer_store().get_timer(user, timer).await?)
    }

    /// Up to `limit` of the user's timers older than `before`, newest first.
    pub async fn list_timers(
        &self,
        user: UserId,
        limit: u32,
        before: Option<TimerId>,
    ) -> Result<Vec<Timer>, EngineError> {
        Ok(self.timer_store().list_timers(user, limit, before).await?)
    }

    /// Edits a timer. A firing committed meanwhile is kept: the edit is made again on the timer as it fired.
    pub async fn update_timer(&self, user: UserId, timer: TimerId, mut edit: TimerEdit) -> Result<Timer, EngineError> {
        if let Some(payload) = edit.payload.take() {
            edit.payload = Some(self.checked_payload(user, payload).await?);
        }
        for _ in 0..EDIT_ATTEMPTS {
            let current = self.timer_store().get_timer(user, timer).await?;
            let update = edited(&current, &edit, self.timer_clock());
            if let Some(updated) = self.timer_store().update_timer(user, timer, &update).await? {
                self.tell_timer_wheel(TimerWheelMsg::Upserted(Box::new(updated.clone())));
                return Ok(updated);
            }
        }
        Err(EngineError::Unavailable(
            "the timer kept firing while it was edited".into(),
        ))
    }

    /// Deletes a timer and the webhook it owns.
    pub async fn delete_timer(&self, user: UserId, timer: TimerId) -> Result<(), EngineError> {
        self.timer_store().delete_timer(user, timer).await?;
        self.tell_timer_wheel(TimerWheelMsg::Removed(timer));
        Ok(())
    }

    /// Only a digest is filtered: by one of the user's feeds, and by one of their categories, named as stored.
    async fn checked_payload(&self, user: UserId, mut payload: TimerPayload) -> Result<TimerPayload, EngineError> {
        if payload.kind != PayloadKind::Digest {
            for (field, set) in [
                ("payload.feed_id", payload.feed_id.is_some()),
                ("payload.category", payload.category.is_some()),
                ("payload.filter", payload.filter.is_some()),
            ] {
                if set {
                    return Err(StoreError::Rejected {
                        field,
                        reason: "only a digest is filtered",
                    }
                    .into());
                }
            }
        }
        if let Some(feed) = payload.feed_id {
            match self.api_store().get_subscription(user, feed as FeedId).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    return Err(StoreError::Rejected {
                        field: "payload.feed_id",
                        reason: "is not one of your feeds",
                    }
                    .into())
                }
                Err(error) => return Err(error.into()),
            }
        }
        if let Some(filter) = payload.filter {
            if payload.category.is_some() {
                return Err(StoreError::Rejected {
                    field: "payload.filter",
                    reason: "a digest takes a category or a saved filter, not both",
                }
                .into());
            }
            self.users_saved_filter("payload.filter", user, filter).await?;
        }
        if let Some(name) = payload.category.take() {
            payload.category = Some(self.users_category("payload.category", user, &name).await?);
        }
        Ok(payload)
    }

    fn tell_timer_wheel(&self, message: TimerWheelMsg) {
        if let Some(wheel) = self.timer_wheel() {
            let _ = wheel.send_message(message);
        }
    }
}

/// The timer's fields once `edit` is applied at `now`.
fn edited(current: &Timer, edit: &TimerEdit, now: DateTime<Utc>) -> TimerUpdate {
    let mut update = TimerUpdate {
        name: edit.name.clone().unwrap_or_else(|| current.name.clone()),
        schedule: current.schedule.clone(),
        payload: edit.payload.clone().unwrap_or_else(|| current.payload.clone()),
        status: current.status,
        next_fire_at: current.next_fire_at,
        expected_next_fire_at: current.next_fire_at,
    };
    if let Some(schedule) = &edit.schedule {
        update.schedule = schedule.stored();
        update.next_fire_at = schedule.first_fire(now);
        if update.status == TimerStatus::Done {
            update.status = TimerStatus::Active;
        }
    }
    match edit.enabled {
        Some(false) if update.status == TimerStatus::Active => update.status = TimerStatus::Paused,
        Some(true) if update.status == TimerStatus::Paused => {
            update.status = TimerStatus::Active;
            // A repeating timer resumes at its next instant from now; a one-shot one past its instant fires late.
            if let Ok(schedule) = Schedule::from_stored(&update.schedule) {
                if !schedule.is_one_shot() && update.next_fire_at.is_none_or(|next| next <= now) {
                    update.next_fire_at = schedule.next_fire_after(now);
                }
            }
        }
        _ => {}
    }
    update
}
