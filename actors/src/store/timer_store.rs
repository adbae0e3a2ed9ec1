//! What the timer routes and the timer wheel ask of the store: a user's timers, the timers due soon, and the
//! firing transaction that moves a timer on and writes its delivery into the webhooks' outbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::UserId;
use crate::timer::{CreatedTimer, NewTimer, Timer, TimerFiring, TimerId, TimerUpdate};

#[async_trait]
pub trait TimerStore: Send + Sync + 'static {
    /// Stores a new `active` timer. A `Url` target creates the timer's own webhook in the same transaction,
    /// whose secret is returned; a `Webhook` target must be one of the user's own webhooks (`Rejected` naming
    /// `target.webhook_id` otherwise). `Rejected` naming `schedule` when the user has `limit` timers already.
    async fn create_timer(&self, timer: &NewTimer, limit: i64) -> Result<CreatedTimer, StoreError>;
    /// One of the user's timers; `NotFound` for another user's.
    async fn get_timer(&self, user: UserId, timer: TimerId) -> Result<Timer, StoreError>;
    /// Up to `limit` of the user's timers with an id below `before`, newest first.
    async fn list_timers(&self, user: UserId, limit: u32, before: Option<TimerId>) -> Result<Vec<Timer>, StoreError>;
    /// Writes an edit of one of the user's timers and returns it as it is now; `None` when the timer fired (or
    /// was edited) since it was read, or is gone: read it again.
    async fn update_timer(
        &self,
        user: UserId,
        timer: TimerId,
        update: &TimerUpdate,
    ) -> Result<Option<Timer>, StoreError>;
    /// Deletes one of the user's timers, and the webhook it owns, with its deliveries.
    async fn delete_timer(&self, user: UserId, timer: TimerId) -> Result<(), StoreError>;

    /// Up to `limit` active timers due before `before` (overdue ones included), soonest first.
    async fn due_timers(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Timer>, StoreError>;
    /// Commits firings in one transaction: each timer still due at its `scheduled_for` moves to its
    /// `next_fire_at` (or `done`) and its delivery goes into the outbox. Returns the ids of the firings applied;
    /// a timer edited or deleted since it was loaded is skipped.
    async fn fire_timers(&self, firings: &[TimerFiring]) -> Result<Vec<TimerId>, StoreError>;
}

/// Implements [`TimerStore`] for a backend's store by calling its `timers` module, as
/// [`wire_store!`](super::wiring::wire_store) does for the other traits.
#[rustfmt::skip]
macro_rules! wire_timer_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::TimerStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %timer.user_id), err(level = "debug"))]
            async fn create_timer(
                &self,
                timer: &$crate::timer::NewTimer,
                limit: i64,
            ) -> Result<$crate::timer::CreatedTimer, $crate::store::StoreError> {
                timers::create_timer(self, timer, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, timer_id = timer), err(level = "debug"))]
            async fn get_timer(
                &self,
                user: $crate::domain::UserId,
                timer: $crate::timer::TimerId,
            ) -> Result<$crate::timer::Timer, $crate::store::StoreError> {
                timers::get_timer(self, user, timer).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_timers(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                before: Option<$crate::timer::TimerId>,
            ) -> Result<Vec<$crate::timer::Timer>, $crate::store::StoreError> {
                timers::list_timers(self, user, limit, before).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, timer_id = timer), err(level = "debug"))]
            async fn update_timer(
                &self,
                user: $crate::domain::UserId,
                timer: $crate::timer::TimerId,
                update: &$crate::timer::TimerUpdate,
            ) -> Result<Option<$crate::timer::Timer>, $crate::store::StoreError> {
                timers::update_timer(self, user, timer, update).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, timer_id = timer), err(level = "debug"))]
            async fn delete_timer(
                &self,
                user: $crate::domain::UserId,
                timer: $crate::timer::TimerId,
            ) -> Result<(), $crate::store::StoreError> {
                timers::delete_timer(self, user, timer).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(limit = limit), err(level = "debug"))]
            async fn due_timers(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<$crate::timer::Timer>, $crate::store::StoreError> {
                timers::due_timers(self, before, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(firings = firings.len()), err(level = "debug"))]
            async fn fire_timers(
                &self,
                firings: &[$crate::timer::TimerFiring],
            ) -> Result<Vec<$crate::timer::TimerId>, $crate::store::StoreError> {
                timers::fire_timers(self, firings).await
            }
        }
    };
}

pub(super) use wire_timer_store;
