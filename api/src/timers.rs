//! Timers: `POST /v1/timers`, `GET /v1/timers`, and `GET/PATCH/DELETE /v1/timers/{id}`. A timer fires at its
//! instant by delivering to a webhook, through the same outbox as webhooks (at least once, with retries).

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::engine_timers::{TimerEdit, TimerRequest};
use syndic_actors::timer::{TimerId, TimerTarget};
use syndic_actors::timer_schedule::{Schedule, ScheduleError};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, CreateTimer, Failure, ListFeeds, PatchTimer};
use crate::id_pages::{self, bounded, next_page};
use crate::timer_bodies::{
    name, payload, timer_body, CreatedTimerBody, NewTimerBody, TargetBody, TimerBody, TimerPatchBody, TimersBody,
};
use crate::ApiTags;

/// The listing's page size when none is asked for, and the most it may be.
pub const TIMERS_DEFAULT_LIMIT: i64 = 50;
pub const TIMERS_MAX_LIMIT: i64 = 200;

pub struct TimersApi;

#[derive(ApiResponse)]
pub enum TimerCreated {
    /// The timer is stored and armed.
    #[oai(status = 201)]
    Created(Json<CreatedTimerBody>),
}

#[derive(ApiResponse)]
pub enum TimerDeleted {
    /// The timer and the webhook it owned are gone.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Timers")]
impl TimersApi {
    /// Creates a timer: a one-shot instant (`at` or `in`) or a schedule (`every`, or `cron`), a target and a
    /// payload. At most 1,000 timers that are not done per user.
    #[oai(path = "/timers", method = "post", operation_id = "create_timer")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<NewTimerBody>,
        engine: Data<&Engine>,
    ) -> Result<TimerCreated, Failure<CreateTimer>> {
        let body = body.0;
        let schedule = Schedule::parse(&body.schedule.request(), engine.timer_clock()).map_err(invalid)?;
        let request = TimerRequest {
            name: name(body.name)?,
            schedule,
            target: target(body.target)?,
            payload: payload(body.payload),
        };
        let created = engine.create_timer(auth.0, request).await?;
        Ok(TimerCreated::Created(Json(CreatedTimerBody {
            timer: timer_body(created.timer, engine.timer_clock()),
            secret: created.secret.into(),
        })))
    }

    /// The caller's timers, newest first, one page at a time.
    #[oai(path = "/timers", method = "get", operation_id = "list_timers")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<TimersBody>, Failure<ListFeeds>> {
        let limit = bounded("limit", limit.0, TIMERS_DEFAULT_LIMIT, TIMERS_MAX_LIMIT)?;
        let before = id_pages::cursor::<TimerId>(cursor.0)?;
        let timers = engine.list_timers(auth.0, limit, before).await?;
        let next_cursor = next_page(&timers, limit, |timer| timer.id.to_string());
        let now = engine.timer_clock();
        Ok(Json(TimersBody {
            timers: timers.into_iter().map(|timer| timer_body(timer, now)).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// One timer, with the time left until it fires.
    #[oai(path = "/timers/:id", method = "get", operation_id = "get_timer")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The timer's id.
        id: Path<TimerId>,
        engine: Data<&Engine>,
    ) -> Result<Json<TimerBody>, Failure<ById>> {
        let timer = engine.get_timer(auth.0, id.0).await?;
        Ok(Json(timer_body(timer, engine.timer_clock())))
    }

    /// Edits a timer: its name, schedule (which starts again from now), payload, or pauses and resumes it.
    #[oai(path = "/timers/:id", method = "patch", operation_id = "update_timer")]
    async fn update(
        &self,
        auth: BearerAuth,
        /// The timer's id.
        id: Path<TimerId>,
        body: Json<TimerPatchBody>,
        engine: Data<&Engine>,
    ) -> Result<Json<TimerBody>, Failure<PatchTimer>> {
        let body = body.0;
        let schedule = if body.schedule.is_empty() {
            None
        } else {
            Some(Schedule::parse(&body.schedule.request(), engine.timer_clock()).map_err(invalid)?)
        };
        let edit = TimerEdit {
            name: match body.name {
                poem_openapi::types::MaybeUndefined::Undefined => None,
                poem_openapi::types::MaybeUndefined::Null => Some(None),
                poem_openapi::types::MaybeUndefined::Value(text) => Some(name(Some(text))?),
            },
            schedule,
            payload: body.payload.map(|body| payload(Some(body))),
            enabled: body.enabled,
        };
        let timer = engine.update_timer(auth.0, id.0, edit).await?;
        Ok(Json(timer_body(timer, engine.timer_clock())))
    }

    /// Deletes a timer, and the webhook it owns with its deliveries.
    #[oai(path = "/timers/:id", method = "delete", operation_id = "delete_timer")]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// The timer's id.
        id: Path<TimerId>,
        engine: Data<&Engine>,
    ) -> Result<TimerDeleted, Failure<ById>> {
        engine.delete_timer(auth.0, id.0).await?;
        Ok(TimerDeleted::Deleted)
    }
}

fn invalid(error: ScheduleError) -> ApiError {
    ApiError::validation(error.field, error.message)
}

/// Exactly one of `webhook_id` and `url`.
fn target(body: TargetBody) -> Result<TimerTarget, ApiError> {
    match (body.webhook_id, body.url) {
        (Some(webhook), None) => Ok(TimerTarget::Webhook(webhook)),
        (None, Some(url)) => Ok(TimerTarget::Url(url)),
        _ => Err(ApiError::validation("target", "give exactly one of webhook_id and url")),
    }
}
