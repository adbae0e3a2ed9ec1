//! Operator routes under `/v1/admin`: feeds by status, stale feeds, and refreshing the stale ones. Only users
//! with the `admin` role (stored in the database, granted by `syndic admin grant`) may call them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::domain::{Feed, FeedId, FeedStatus, Role, UserId};
use syndic_actors::engine::Engine;
use syndic_actors::store::StoreError;

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Admin, Failure};
use crate::feeds::FeedStatusBody;
use crate::nullable::Nullable;
use crate::ApiTags;

/// Most feeds one listing returns.
const LIST_LIMIT_MAX: u32 = 1000;
const LIST_LIMIT_DEFAULT: u32 = 100;

pub struct AdminApi;

/// A feed as operators see it.
#[derive(Debug, Object)]
#[oai(rename = "AdminFeed")]
pub struct AdminFeedBody {
    pub id: FeedId,
    pub url: String,
    #[oai(nullable)]
    pub title: Nullable<String>,
    pub status: FeedStatusBody,
    pub error_count: i32,
    #[oai(nullable)]
    pub last_error: Nullable<String>,
    #[oai(nullable)]
    pub last_polled_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub next_poll_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub dead_since: Nullable<DateTime<Utc>>,
}

#[derive(Debug, Object)]
#[oai(rename = "AdminFeedList")]
pub struct AdminFeedsBody {
    pub feeds: Vec<AdminFeedBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "StaleRefresh")]
pub struct StaleRefreshBody {
    /// How many stale feeds are being polled now.
    pub refreshed: u64,
}

#[derive(ApiResponse)]
pub enum StaleRefreshResponse {
    /// The stale feeds are being polled.
    #[oai(status = 202)]
    Accepted(Json<StaleRefreshBody>),
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Feeds of every user, optionally of one status (`dead` lists the dead letters), most errors first.
    #[oai(path = "/feeds", method = "get", operation_id = "list_admin_feeds")]
    async fn feeds(
        &self,
        auth: BearerAuth,
        /// Only feeds with this status.
        status: Query<Option<FeedStatusBody>>,
        /// How many, 1–1000 (default 100).
        #[oai(validator(minimum(value = 1.0), maximum(value = 1000.0)))]
        limit: Query<Option<u32>>,
        engine: Data<&Engine>,
    ) -> Result<Json<AdminFeedsBody>, Failure<Admin>> {
        require_admin(&engine, auth.0).await?;
        let limit = list_limit(limit.0)?;
        let feeds = engine.list_feeds(status.0.map(FeedStatus::from), limit).await?;
        Ok(Json(feeds_body(feeds)))
    }

    /// Feeds with subscribers that were not polled within `older_than` (e.g. `12h`, `30m`), oldest first.
    #[oai(path = "/feeds/stale", method = "get", operation_id = "list_stale_feeds")]
    async fn stale(
        &self,
        auth: BearerAuth,
        /// A duration such as `12h`, `90m` or `2d`.
        older_than: Query<String>,
        /// How many, 1–1000 (default 100).
        #[oai(validator(minimum(value = 1.0), maximum(value = 1000.0)))]
        limit: Query<Option<u32>>,
        engine: Data<&Engine>,
    ) -> Result<Json<AdminFeedsBody>, Failure<Admin>> {
        require_admin(&engine, auth.0).await?;
        let cutoff = cutoff(&older_than.0)?;
        let limit = list_limit(limit.0)?;
        let feeds = engine.stale_feeds(cutoff, limit).await?;
        Ok(Json(feeds_body(feeds)))
    }

    /// Polls every feed with subscribers that was not polled within `older_than`: the refresh cron, on demand.
    #[oai(path = "/feeds/refresh-stale", method = "post", operation_id = "refresh_stale_feeds")]
    async fn refresh_stale(
        &self,
        auth: BearerAuth,
        /// A duration such as `12h`, `90m` or `2d`.
        older_than: Query<String>,
        engine: Data<&Engine>,
    ) -> Result<StaleRefreshResponse, Failure<Admin>> {
        require_admin(&engine, auth.0).await?;
        let refreshed = engine.refresh_stale(cutoff(&older_than.0)?).await?;
        Ok(StaleRefreshResponse::Accepted(Json(StaleRefreshBody {
            refreshed: refreshed as u64,
        })))
    }
}

pub(crate) async fn require_admin(engine: &Engine, user: UserId) -> Result<(), ApiError> {
    let user = engine.get_user(user).await.map_err(|error| match error {
        // The token's user is gone.
        StoreError::NotFound => ApiError::Unauthorized("a valid bearer token is required"),
        // The database is: say so, rather than blaming the token.
        other => ApiError::from(other),
    })?;
    match user.role {
        Role::Admin => Ok(()),
        Role::User => Err(ApiError::Forbidden(
            "only operators may use the admin routes; an operator grants the role with `syndic admin grant NAME`",
        )),
    }
}

fn list_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(LIST_LIMIT_DEFAULT) {
        limit @ 1..=LIST_LIMIT_MAX => Ok(limit),
        _ => Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {LIST_LIMIT_MAX}"),
        )),
    }
}

/// The time before which a poll is stale.
fn cutoff(older_than: &str) -> Result<DateTime<Utc>, ApiError> {
    let window: Duration = humantime::parse_duration(older_than.trim())
        .map_err(|error| ApiError::validation("older_than", format!("not a duration like 12h or 30m: {error}")))?;
    let window =
        chrono::Duration::from_std(window).map_err(|_| ApiError::validation("older_than", "too long a duration"))?;
    Utc::now()
        .checked_sub_signed(window)
        .ok_or_else(|| ApiError::validation("older_than", "too long a duration"))
}

fn feeds_body(feeds: Vec<Feed>) -> AdminFeedsBody {
    AdminFeedsBody {
        feeds: feeds
            .into_iter()
            .map(|feed| AdminFeedBody {
                id: feed.id,
                url: feed.url,
                title: feed.title.into(),
                status: feed.status.into(),
                error_count: feed.error_count,
                last_error: feed.last_error.into(),
                last_polled_at: feed.last_polled_at.into(),
                next_poll_at: feed.next_poll_at.into(),
                dead_since: feed.dead_since.into(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_than_takes_human_durations() {
        let before = Utc::now();
        let cut = cutoff("12h").unwrap();
        let expected = before - chrono::Duration::hours(12);
        assert!((cut - expected).num_seconds().abs() <= 1);
        assert!(cutoff("30m").is_ok());
        assert!(cutoff("2days").is_ok());
    }

    #[test]
    fn bad_durations_and_limits_name_the_field() {
        for bad in ["", "soon", "12", "-5h"] {
            match cutoff(bad) {
                Err(ApiError::Validation { field, .. }) => assert_eq!(field, "older_than", "{bad:?}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(matches!(
            list_limit(Some(0)),
            Err(ApiError::Validation { field: "limit", .. })
        ));
        assert!(matches!(
            list_limit(Some(1001)),
            Err(ApiError::Validation { field: "limit", .. })
        ));
        assert_eq!(list_limit(None).unwrap(), 100);
    }
}
