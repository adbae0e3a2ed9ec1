//! Subscriptions: `POST/GET /v1/feeds`, `GET/PATCH/DELETE /v1/feeds/{id}`; what a patch may hold is in
//! `organise`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::actors::feed::RefreshOutcome;
use syndic_actors::domain::{FeedId, FeedStatus, Subscription, SubscriptionCursor};
use syndic_actors::engine::{Engine, EngineError, SubscribeOutcome, SubscribeStatus};
use syndic_actors::organise::CategoryId;

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, Failure, ListFeeds, PatchFeed, Refresh, Subscribe};
use crate::nullable::Nullable;
use crate::ApiTags;

/// How many URLs one subscribe request may carry.
pub const URLS_MAX: usize = 100;
/// The listing's page size when none is asked for, and the most it may be.
pub const FEEDS_DEFAULT_LIMIT: i64 = 100;
pub const FEEDS_MAX_LIMIT: i64 = 500;

pub struct FeedsApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct SubscribeRequest {
    /// 1–100 feed URLs (RSS, Atom or JSON Feed), or web pages: a page is replaced by the first feed it
    /// announces (`<link rel="alternate">`), else by one at the usual paths (`/feed`, `/rss.xml`, `/atom.xml`,
    /// `/index.xml`); a page with none is `invalid` with the error `no feed found`.
    #[oai(
        deserialize_with = "crate::strict_json::urls",
        validator(min_items = 1, max_items = 100)
    )]
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SubscribeStatus", rename_all = "lowercase")]
pub enum SubscribeStatusBody {
    /// The feed's articles are already on the timeline.
    Ready,
    /// The feed is being fetched; articles arrive after its first poll.
    Pending,
    /// The URL was refused; `error` says why.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct SubscribeResult {
    /// The URL as sent.
    pub url: String,
    /// The feed subscribed to: `url` normalised, or the feed found on the page `url` points to.
    #[oai(nullable)]
    pub feed_url: Nullable<String>,
    #[oai(nullable)]
    pub feed_id: Nullable<FeedId>,
    pub status: SubscribeStatusBody,
    #[oai(nullable)]
    pub error: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "SubscribeResults")]
pub struct SubscribeBody {
    /// One result per URL, in request order.
    pub results: Vec<SubscribeResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "FeedStatus", rename_all = "lowercase")]
pub enum FeedStatusBody {
    /// Not polled successfully yet.
    Pending,
    /// The last poll succeeded.
    Ok,
    /// The last poll failed; it is retried, backing off.
    Error,
    /// Failed too often in a row, or answered 410 Gone: no longer polled until refreshed.
    Dead,
    /// Its actor crashed too often: no longer polled until refreshed.
    Failed,
}

impl From<FeedStatusBody> for FeedStatus {
    fn from(status: FeedStatusBody) -> Self {
        match status {
            FeedStatusBody::Pending => FeedStatus::Pending,
            FeedStatusBody::Ok => FeedStatus::Ok,
            FeedStatusBody::Error => FeedStatus::Error,
            FeedStatusBody::Dead => FeedStatus::Dead,
            FeedStatusBody::Failed => FeedStatus::Failed,
        }
    }
}

impl From<FeedStatus> for FeedStatusBody {
    fn from(status: FeedStatus) -> Self {
        match status {
            FeedStatus::Pending => FeedStatusBody::Pending,
            FeedStatus::Ok => FeedStatusBody::Ok,
            FeedStatus::Error => FeedStatusBody::Error,
            FeedStatus::Dead => FeedStatusBody::Dead,
            FeedStatus::Failed => FeedStatusBody::Failed,
        }
    }
}

/// A feed the user is subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "Feed")]
pub struct FeedBody {
    pub id: FeedId,
    pub url: String,
    /// The title you gave the feed (`PATCH /v1/feeds/{id}`), else the feed's own.
    #[oai(nullable)]
    pub title: Nullable<String>,
    /// The title the feed gives itself.
    #[oai(nullable)]
    pub feed_title: Nullable<String>,
    #[oai(nullable)]
    pub site_url: Nullable<String>,
    pub status: FeedStatusBody,
    #[oai(nullable)]
    pub last_polled_at: Nullable<DateTime<Utc>>,
    #[oai(nullable)]
    pub next_poll_at: Nullable<DateTime<Utc>>,
    /// Seconds until the next poll, never negative.
    #[oai(nullable)]
    pub next_poll_in_seconds: Nullable<i64>,
    /// Consecutive failed polls.
    pub error_count: i32,
    #[oai(nullable)]
    pub last_error: Nullable<String>,
    /// When the feed was parked as dead, while it is.
    #[oai(nullable)]
    pub dead_since: Nullable<DateTime<Utc>>,
    pub unread_count: i64,
    pub subscribed_at: DateTime<Utc>,
    /// The id of your category the feed is in, if any.
    #[oai(nullable)]
    pub category_id: Nullable<CategoryId>,
    /// The name of that category (an OPML import makes one of each folder).
    #[oai(nullable)]
    pub category: Nullable<String>,
    /// Your tags on the feed, in name order.
    pub tags: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "FeedList")]
pub struct FeedsBody {
    /// Oldest subscription first (then by feed id).
    pub feeds: Vec<FeedBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(ApiResponse)]
pub enum SubscribeResponse {
    /// Each URL's outcome; pending feeds are fetched in the background.
    #[oai(status = 202)]
    Accepted(Json<SubscribeBody>),
}

/// Where a refresh stands when it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RefreshStatus {
    /// The poll has started; read the feed again to see how it went.
    Refreshing,
}

/// The answer to a refresh request.
#[derive(Debug, Object)]
#[oai(rename = "RefreshAccepted")]
pub struct RefreshBody {
    pub feed_id: FeedId,
    pub status: RefreshStatus,
}

#[derive(ApiResponse)]
pub enum RefreshResponse {
    /// The feed is being polled now.
    #[oai(status = 202)]
    Accepted(Json<RefreshBody>),
}

#[derive(ApiResponse)]
pub enum UnsubscribeResponse {
    /// The subscription is gone.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Feeds")]
impl FeedsApi {
    /// Subscribes to up to 100 feeds at once; one bad URL does not fail the others.
    #[oai(path = "/feeds", method = "post", operation_id = "subscribe")]
    async fn subscribe(
        &self,
        auth: BearerAuth,
        body: Json<SubscribeRequest>,
        engine: Data<&Engine>,
    ) -> Result<SubscribeResponse, Failure<Subscribe>> {
        let Json(request) = body;
        validate_urls(&request.urls)?;
        let outcomes = engine.subscribe(auth.0, request.urls).await?;
        let results = outcomes.into_iter().map(SubscribeResult::from).collect();
        Ok(SubscribeResponse::Accepted(Json(SubscribeBody { results })))
    }

    /// The user's subscriptions, oldest first, one page at a time.
    #[oai(path = "/feeds", method = "get", operation_id = "list_feeds")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page size, 1–500; 100 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 500.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<FeedsBody>, Failure<ListFeeds>> {
        let (limit, after) = feed_page(limit.0, cursor.0.as_deref())?;
        let page = engine.list_subscriptions(auth.0, limit, after).await?;
        let now = Utc::now();
        let feeds = page
            .subscriptions
            .into_iter()
            .map(|subscription| feed_body(subscription, now))
            .collect();
        Ok(Json(FeedsBody {
            feeds,
            next_cursor: page.next_cursor.map(|cursor| cursor.encode()).into(),
        }))
    }

    /// One subscription.
    #[oai(path = "/feeds/:id", method = "get", operation_id = "get_feed")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        engine: Data<&Engine>,
    ) -> Result<Json<FeedBody>, Failure<ById>> {
        let subscription = engine.get_subscription(auth.0, id.0).await?;
        Ok(Json(feed_body(subscription, Utc::now())))
    }

    /// Gives a subscription your own title, puts it in a category, or sets its tags.
    #[oai(path = "/feeds/:id", method = "patch", operation_id = "update_feed")]
    async fn update_feed(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        body: Json<crate::organise::FeedPatchRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<FeedBody>, Failure<PatchFeed>> {
        let patch = crate::organise::subscription_patch(body.0)?;
        let subscription = engine.update_subscription(auth.0, id.0, &patch).await?;
        Ok(Json(feed_body(subscription, Utc::now())))
    }

    /// Polls the feed now, at most once a minute per feed; brings a dead or failed feed back.
    #[oai(path = "/feeds/:id/refresh", method = "post", operation_id = "refresh_feed")]
    async fn refresh(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        engine: Data<&Engine>,
    ) -> Result<RefreshResponse, Failure<Refresh>> {
        let outcome = match engine.refresh(auth.0, id.0).await {
            Ok(outcome) => outcome,
            // An unsubscribe racing the refresh stops the feed's actor before it answers: if the
            // subscription is gone, say so (404) rather than report an outage.
            Err(EngineError::Unavailable(detail)) => {
                engine.get_subscription(auth.0, id.0).await?;
                return Err(ApiError::from(EngineError::Unavailable(detail)).into());
            }
            Err(other) => return Err(other.into()),
        };
        match outcome {
            RefreshOutcome::Accepted => Ok(RefreshResponse::Accepted(Json(RefreshBody {
                feed_id: id.0,
                status: RefreshStatus::Refreshing,
            }))),
            RefreshOutcome::TooSoon { retry_after } => Err(ApiError::RateLimited {
                message: "this feed was refreshed less than a minute ago".to_owned(),
                retry_after_seconds: retry_after.as_secs().max(1),
            }
            .into()),
        }
    }

    /// Unsubscribes; the user's read and starred marks on the feed's articles go too.
    #[oai(path = "/feeds/:id", method = "delete", operation_id = "unsubscribe")]
    async fn unsubscribe(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        engine: Data<&Engine>,
    ) -> Result<UnsubscribeResponse, Failure<ById>> {
        engine.unsubscribe(auth.0, id.0).await?;
        Ok(UnsubscribeResponse::Deleted)
    }
}

/// Checks the listing's page parameters poem could parse but the API does not accept.
fn feed_page(limit: Option<i64>, cursor: Option<&str>) -> Result<(u32, Option<SubscriptionCursor>), ApiError> {
    let limit = u32::try_from(limit.unwrap_or(FEEDS_DEFAULT_LIMIT))
        .ok()
        .filter(|limit| (1..=FEEDS_MAX_LIMIT).contains(&i64::from(*limit)))
        .ok_or_else(|| ApiError::validation("limit", format!("must be between 1 and {FEEDS_MAX_LIMIT}")))?;
    let cursor = cursor
        .map(SubscriptionCursor::decode)
        .transpose()
        .map_err(|invalid| ApiError::validation("cursor", invalid.to_string()))?;
    Ok((limit, cursor))
}

fn validate_urls(urls: &[String]) -> Result<(), ApiError> {
    if urls.is_empty() || urls.len() > URLS_MAX {
        return Err(ApiError::validation("urls", format!("must hold 1 to {URLS_MAX} URLs")));
    }
    Ok(())
}

impl From<SubscribeOutcome> for SubscribeResult {
    fn from(outcome: SubscribeOutcome) -> Self {
        let status = match outcome.status {
            SubscribeStatus::Ready => SubscribeStatusBody::Ready,
            SubscribeStatus::Pending => SubscribeStatusBody::Pending,
            SubscribeStatus::Invalid => SubscribeStatusBody::Invalid,
        };
        SubscribeResult {
            url: outcome.url,
            feed_url: outcome.feed_url.into(),
            feed_id: outcome.feed_id.into(),
            status,
            error: outcome.error.into(),
        }
    }
}

pub(crate) fn feed_body(subscription: Subscription, now: DateTime<Utc>) -> FeedBody {
    let title = subscription.shown_title().map(str::to_owned);
    let (category_id, category) = match subscription.category {
        Some(category) => (Some(category.id), Some(category.name)),
        None => (None, None),
    };
    let feed = subscription.feed;
    let status = FeedStatusBody::from(feed.status);
    let next_poll_in_seconds = feed.next_poll_at.map(|next| (next - now).num_seconds().max(0));
    FeedBody {
        id: feed.id,
        url: feed.url,
        title: title.into(),
        feed_title: feed.title.into(),
        site_url: feed.site_url.into(),
        status,
        last_polled_at: feed.last_polled_at.into(),
        next_poll_at: feed.next_poll_at.into(),
        next_poll_in_seconds: next_poll_in_seconds.into(),
        error_count: feed.error_count,
        last_error: feed.last_error.into(),
        dead_since: feed.dead_since.into(),
        unread_count: subscription.unread_count,
        subscribed_at: subscription.subscribed_at,
        category_id: category_id.into(),
        category: category.into(),
        tags: subscription.tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use syndic_actors::domain::Feed;

    fn subscription(next_poll_at: Option<DateTime<Utc>>) -> Subscription {
        Subscription {
            feed: Feed {
                id: 7,
                url: "https://example.com/feed.xml".to_owned(),
                title: Some("Example".to_owned()),
                site_url: None,
                etag: Some("\"abc\"".to_owned()),
                last_modified: None,
                status: FeedStatus::Error,
                last_polled_at: None,
                next_poll_at,
                error_count: 2,
                last_error: Some("timed out".to_owned()),
                dead_since: None,
            },
            unread_count: 5,
            subscribed_at: DateTime::UNIX_EPOCH,
            title: None,
            category: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn next_poll_in_seconds_counts_down_from_now() {
        let now = DateTime::UNIX_EPOCH + TimeDelta::days(1);
        let body = feed_body(subscription(Some(now + TimeDelta::seconds(90))), now);
        assert_eq!(body.next_poll_in_seconds, Nullable(Some(90)));
        assert_eq!(
            (body.id, body.status, body.error_count, body.unread_count),
            (7, FeedStatusBody::Error, 2, 5)
        );
    }

    #[test]
    fn an_overdue_poll_is_zero_seconds_away() {
        let now = DateTime::UNIX_EPOCH + TimeDelta::days(1);
        let body = feed_body(subscription(Some(now - TimeDelta::seconds(30))), now);
        assert_eq!(body.next_poll_in_seconds, Nullable(Some(0)));
    }

    #[test]
    fn no_scheduled_poll_has_no_countdown() {
        let body = feed_body(subscription(None), Utc::now());
        assert_eq!(body.next_poll_in_seconds, Nullable(None));
    }

    #[test]
    fn feed_page_bounds_and_cursor() {
        let field = |result: Result<_, ApiError>| match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        for bad in [0, -1, 501, i64::MAX] {
            assert_eq!(field(feed_page(Some(bad), None)), "limit", "limit {bad}");
        }
        assert_eq!(field(feed_page(None, Some("banana!"))), "cursor");
        assert_eq!(feed_page(None, None).expect("defaults"), (100, None));
        let cursor = SubscriptionCursor {
            subscribed_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
            feed_id: 3,
        };
        assert_eq!(
            feed_page(Some(500), Some(&cursor.encode())).expect("valid"),
            (500, Some(cursor))
        );
    }

    #[test]
    fn url_count_bounds() {
        let urls = |count: usize| vec!["https://example.com/feed".to_owned(); count];
        assert!(matches!(
            validate_urls(&urls(0)),
            Err(ApiError::Validation { field: "urls", .. })
        ));
        assert!(validate_urls(&urls(1)).is_ok());
        assert!(validate_urls(&urls(URLS_MAX)).is_ok());
        assert!(matches!(
            validate_urls(&urls(URLS_MAX + 1)),
            Err(ApiError::Validation { field: "urls", .. })
        ));
    }

    #[test]
    fn outcomes_keep_their_fields() {
        let outcome = SubscribeOutcome {
            url: "nope".to_owned(),
            feed_url: None,
            feed_id: None,
            status: SubscribeStatus::Invalid,
            error: Some("not a URL".to_owned()),
        };
        let expected = SubscribeResult {
            url: "nope".to_owned(),
            feed_url: Nullable(None),
            feed_id: Nullable(None),
            status: SubscribeStatusBody::Invalid,
            error: Nullable(Some("not a URL".to_owned())),
        };
        assert_eq!(SubscribeResult::from(outcome), expected);
    }
}
