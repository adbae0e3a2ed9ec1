//! Shares: sending a link to friends, the notifications it leaves with them, and the shares you sent.

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::social::ShareId;

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{CreateShare, Failure, ListNamed, MarkSeen};
use crate::id_pages::{self, bounded, next_page};
use crate::share_bodies::{
    MarkSeenRequest, MarkedSeenBody, NotificationsBody, SentSharesBody, ShareCreatedBody, ShareRequest, MAX_SEEN_IDS,
};
use crate::ApiTags;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

pub struct SharesApi;

#[derive(ApiResponse)]
pub enum CreateShareResponse {
    /// Sent: each recipient has a notification, and `share.new` on their event stream and webhooks.
    #[oai(status = 201)]
    Created(Json<ShareCreatedBody>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Social")]
impl SharesApi {
    /// Shares a link with your friends: every friend, or those `to` names. An article you share must be in a
    /// feed you follow. Sharing with no friends at all is a 422 naming `to`.
    #[oai(path = "/shares", method = "post", operation_id = "create_share")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<ShareRequest>,
        engine: Data<&Engine>,
    ) -> Result<CreateShareResponse, Failure<CreateShare>> {
        let share = body.0.into_new_share(auth.0)?;
        let committed = engine.share(&share).await?;
        Ok(CreateShareResponse::Created(Json(ShareCreatedBody {
            recipients: committed.recipients.len() as u64,
            share: committed.share.into(),
        })))
    }

    /// The shares you sent, newest first, each with how many friends got it and how many have not seen it.
    #[oai(path = "/shares/sent", method = "get", operation_id = "list_sent_shares")]
    async fn list_sent(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<SentSharesBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let before = id_pages::cursor::<ShareId>(cursor.0)?;
        let shares = engine.list_sent_shares(auth.0, limit, before).await?;
        let next_cursor = next_page(&shares, limit, |sent| sent.share.id.to_string());
        Ok(Json(SentSharesBody {
            shares: shares.into_iter().map(Into::into).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// The shares your friends sent you, newest first. They stay after an unfriending.
    #[oai(path = "/notifications", method = "get", operation_id = "list_notifications")]
    async fn list_notifications(
        &self,
        auth: BearerAuth,
        /// `false`: only those not seen yet; `true`: only those seen; left out, both.
        seen: Query<Option<bool>>,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<NotificationsBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let before = id_pages::cursor::<ShareId>(cursor.0)?;
        let notifications = engine.list_notifications(auth.0, seen.0, limit, before).await?;
        let next_cursor = next_page(&notifications, limit, |notification| notification.share.id.to_string());
        Ok(Json(NotificationsBody {
            notifications: notifications.into_iter().map(Into::into).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Marks notifications seen, by share id (at most 1000); ids not among your notifications are ignored.
    #[oai(
        path = "/notifications/seen",
        method = "post",
        operation_id = "mark_notifications_seen"
    )]
    async fn mark_seen(
        &self,
        auth: BearerAuth,
        body: Json<MarkSeenRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<MarkedSeenBody>, Failure<MarkSeen>> {
        if body.0.ids.len() > MAX_SEEN_IDS {
            return Err(ApiError::validation("ids", format!("at most {MAX_SEEN_IDS} ids")).into());
        }
        let changed = engine.mark_notifications_seen(auth.0, &body.0.ids).await?;
        Ok(Json(MarkedSeenBody { changed }))
    }
}
