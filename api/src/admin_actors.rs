//! Operator routes for feed actors: the worst or next N across all actors, and one actor's live state.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use syndic_actors::actors::snapshot::{ActorListing, ActorOrder, ActorSnapshot};
use syndic_actors::domain::{FeedId, FeedStatus};
use syndic_actors::engine::Engine;
use syndic_actors::schedule::IntervalReason;

use crate::admin::require_admin;
use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Admin, AdminById, Failure};
use crate::feeds::FeedStatusBody;
use crate::nullable::Nullable;
use crate::ApiTags;

const LIMIT_MAX: u32 = 1000;
const LIMIT_DEFAULT: u32 = 50;

pub struct AdminActorsApi;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ActorOrder", rename_all = "snake_case")]
pub enum ActorOrderParam {
    /// Most consecutive errors first.
    Errors,
    /// Slowest last poll first.
    Duration,
    /// Soonest next poll first.
    NextPoll,
}

/// One feed actor's state, as the actor reported it.
#[derive(Debug, Object)]
#[oai(rename = "Actor")]
pub struct ActorBody {
    pub feed_id: FeedId,
    pub url: String,
    pub status: FeedStatusBody,
    #[oai(nullable)]
    pub last_poll_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub next_poll_at: Nullable<DateTime<Utc>>,
    /// The last poll's own time, from its first request to its outcome (parsing included), without the wait
    /// for politeness slots.
    #[oai(nullable)]
    pub last_poll_duration_ms: Nullable<u64>,
    /// How long the last poll waited for its politeness slots (the global cap, the host's cap and the gap
    /// between two requests to one host) before its requests went out.
    #[oai(nullable)]
    pub last_poll_wait_ms: Nullable<u64>,
    /// The last answer's HTTP status (304 for not modified).
    #[oai(nullable)]
    pub last_status_code: Nullable<u16>,
    #[oai(nullable)]
    pub last_error: Nullable<String>,
    pub consecutive_errors: u32,
    pub restarts: u32,
    pub mailbox_depth: u64,
    pub entries_total: u64,
    pub bytes_total: u64,
    /// 304 answers over 200 and 304 answers.
    #[oai(nullable)]
    pub not_modified_ratio: Nullable<f64>,
    pub interval_seconds: u64,
    pub interval_reason: IntervalReasonBody,
}

/// Why the poll interval was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "IntervalReason", rename_all = "kebab-case")]
pub enum IntervalReasonBody {
    /// No dated entries to measure: the configured interval.
    Default,
    /// Measured from the feed's recent entries.
    Adaptive,
    /// The feed's RSS `<ttl>`.
    Ttl,
    /// `Cache-Control: max-age`.
    MaxAge,
    /// `Expires`.
    Expires,
    /// `Retry-After` on a 429 or 503.
    RetryAfter,
    /// Consecutive errors.
    Backoff,
}

impl From<IntervalReason> for IntervalReasonBody {
    fn from(reason: IntervalReason) -> Self {
        match reason {
            IntervalReason::Default => IntervalReasonBody::Default,
            IntervalReason::Adaptive => IntervalReasonBody::Adaptive,
            IntervalReason::Ttl => IntervalReasonBody::Ttl,
            IntervalReason::MaxAge => IntervalReasonBody::MaxAge,
            IntervalReason::Expires => IntervalReasonBody::Expires,
            IntervalReason::RetryAfter => IntervalReasonBody::RetryAfter,
            IntervalReason::Backoff => IntervalReasonBody::Backoff,
        }
    }
}

/// How many actors are in each status.
#[derive(Debug, Default, Object)]
#[oai(rename = "ActorTotals")]
pub struct ActorTotalsBody {
    pub pending: u64,
    pub ok: u64,
    pub error: u64,
    pub dead: u64,
    pub failed: u64,
}

#[derive(Debug, Object)]
#[oai(rename = "ActorList")]
pub struct ActorListBody {
    /// Every actor, whatever the filter.
    pub total: u64,
    pub by_status: ActorTotalsBody,
    pub actors: Vec<ActorBody>,
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::Admin")]
impl AdminActorsApi {
    /// The worst (or next) feed actors, with totals by status. Served from snapshots the actors publish, so it
    /// needs no round trip to any actor.
    #[oai(path = "/actors", method = "get", operation_id = "list_actors")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// The order: errors (default), duration or next_poll.
        sort: Query<Option<ActorOrderParam>>,
        /// Only actors with this status.
        status: Query<Option<FeedStatusBody>>,
        /// How many, 1–1000 (default 50).
        #[oai(validator(minimum(value = 1.0), maximum(value = 1000.0)))]
        limit: Query<Option<u32>>,
        engine: Data<&Engine>,
    ) -> Result<Json<ActorListBody>, Failure<Admin>> {
        require_admin(&engine, auth.0).await?;
        let limit = match limit.0.unwrap_or(LIMIT_DEFAULT) {
            limit @ 1..=LIMIT_MAX => limit,
            _ => return Err(ApiError::validation("limit", format!("must be between 1 and {LIMIT_MAX}")).into()),
        };
        let order = match sort.0.unwrap_or(ActorOrderParam::Errors) {
            ActorOrderParam::Errors => ActorOrder::Errors,
            ActorOrderParam::Duration => ActorOrder::Duration,
            ActorOrderParam::NextPoll => ActorOrder::NextPoll,
        };
        let listing = engine.actors(order, status.0.map(FeedStatus::from), limit as usize);
        Ok(Json(list_body(listing)))
    }

    /// One feed actor's live state, answered by the actor itself.
    #[oai(path = "/actors/:id", method = "get", operation_id = "get_actor")]
    async fn inspect(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        engine: Data<&Engine>,
    ) -> Result<Json<ActorBody>, Failure<AdminById>> {
        require_admin(&engine, auth.0).await?;
        match engine.inspect_actor(id.0).await? {
            Some(snapshot) => Ok(Json(actor_body(snapshot))),
            None => Err(ApiError::NotFound("this feed has no running actor".to_owned()).into()),
        }
    }
}

fn list_body(listing: ActorListing) -> ActorListBody {
    let mut totals = ActorTotalsBody::default();
    for (status, count) in listing.by_status {
        let count = count as u64;
        match status {
            FeedStatus::Pending => totals.pending = count,
            FeedStatus::Ok => totals.ok = count,
            FeedStatus::Error => totals.error = count,
            FeedStatus::Dead => totals.dead = count,
            FeedStatus::Failed => totals.failed = count,
        }
    }
    ActorListBody {
        total: listing.total as u64,
        by_status: totals,
        actors: listing.actors.into_iter().map(actor_body).collect(),
    }
}

fn actor_body(snapshot: ActorSnapshot) -> ActorBody {
    ActorBody {
        not_modified_ratio: snapshot.not_modified_ratio().into(),
        feed_id: snapshot.feed_id,
        url: snapshot.url,
        status: snapshot.status.into(),
        last_poll_at: snapshot.last_poll_at.into(),
        next_poll_at: snapshot.next_poll_at.into(),
        last_poll_duration_ms: snapshot.last_poll_duration_ms.into(),
        last_poll_wait_ms: snapshot.last_poll_wait_ms.into(),
        last_status_code: snapshot.last_status_code.into(),
        last_error: snapshot.last_error.into(),
        consecutive_errors: snapshot.consecutive_errors,
        restarts: snapshot.restarts,
        mailbox_depth: snapshot.mailbox_depth as u64,
        entries_total: snapshot.entries_total,
        bytes_total: snapshot.bytes_total,
        interval_seconds: snapshot.interval_seconds,
        interval_reason: snapshot.interval_reason.into(),
    }
}
