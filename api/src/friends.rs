//! Friends and profiles: friend requests and their answers, the friend list, a user's public profile, mutual
//! friends and the user search. Users are named by username, any case.

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::domain::UserId;
use syndic_actors::engine::Engine;
use syndic_actors::social::{Friendship, Profile, RequestDirection, RequestOutcome};
use syndic_actors::store::StoreError;

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, Failure, ListNamed, SendFriendRequest};
use crate::id_pages::{bounded, next_page};
use crate::nullable::Nullable;
use crate::ApiTags;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
const SEARCH_DEFAULT_LIMIT: i64 = 20;
const SEARCH_MAX_LIMIT: i64 = 50;
const SEARCH_MAX_CHARS: usize = 100;

pub struct FriendsApi;

/// Where you stand with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "Friendship", rename_all = "snake_case")]
pub enum FriendshipBody {
    None,
    /// You asked; they have not answered.
    PendingSent,
    /// They asked you.
    PendingReceived,
    Friends,
}

impl From<Friendship> for FriendshipBody {
    fn from(friendship: Friendship) -> Self {
        match friendship {
            Friendship::None => FriendshipBody::None,
            Friendship::PendingSent => FriendshipBody::PendingSent,
            Friendship::PendingReceived => FriendshipBody::PendingReceived,
            Friendship::Friends => FriendshipBody::Friends,
        }
    }
}

/// A user as you may see them: what they hide from you is `null`.
#[derive(Debug, Object)]
#[oai(rename = "Profile")]
pub struct ProfileBody {
    pub id: UserId,
    pub username: String,
    #[oai(nullable)]
    pub display_name: Nullable<String>,
    /// Only a friend's, and only when they show it to friends.
    #[oai(nullable)]
    pub email: Nullable<String>,
    pub friendship: FriendshipBody,
}

impl From<Profile> for ProfileBody {
    fn from(profile: Profile) -> Self {
        ProfileBody {
            id: profile.id,
            username: profile.username,
            display_name: profile.display_name.into(),
            email: profile.email.into(),
            friendship: profile.friendship.into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct FriendRequestRequest {
    /// The user to ask, by username.
    #[oai(deserialize_with = "crate::strict_json::username", validator(max_length = 64))]
    pub username: String,
}

/// What a request did: `pending_sent`, or `friends` when they had asked you already.
#[derive(Debug, Object)]
#[oai(rename = "FriendRequestOutcome")]
pub struct FriendRequestOutcomeBody {
    pub friendship: FriendshipBody,
}

#[derive(Debug, Object)]
#[oai(rename = "FriendRequest")]
pub struct FriendRequestBody {
    /// The other side: who asked you, or whom you asked.
    pub user: ProfileBody,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(rename = "FriendRequests")]
pub struct FriendRequestsBody {
    /// In username order.
    pub requests: Vec<FriendRequestBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "Friends")]
pub struct FriendsBody {
    /// In username order.
    pub friends: Vec<ProfileBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "MutualFriends")]
pub struct MutualFriendsBody {
    pub count: u64,
    /// In username order.
    pub friends: Vec<ProfileBody>,
}

#[derive(Debug, Object)]
#[oai(rename = "UserSearch")]
pub struct UserSearchBody {
    /// Usernames or display names starting with the search first, then ending with it, then holding it.
    pub users: Vec<ProfileBody>,
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "RequestDirection", rename_all = "lowercase")]
pub enum RequestDirectionParam {
    Received,
    Sent,
}

#[derive(ApiResponse)]
pub enum SendFriendRequestResponse {
    /// The request is sent, or it answered theirs and you are friends.
    #[oai(status = 201)]
    Created(Json<FriendRequestOutcomeBody>),
}

#[derive(ApiResponse)]
pub enum FriendChangedResponse {
    /// Done.
    #[oai(status = 204)]
    Done,
}

fn profiles(profiles: Vec<Profile>) -> Vec<ProfileBody> {
    profiles.into_iter().map(ProfileBody::from).collect()
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Social")]
impl FriendsApi {
    /// Asks a user to be your friend. When they had asked you already, you are friends at once.
    #[oai(path = "/friends/requests", method = "post", operation_id = "send_friend_request")]
    async fn send_request(
        &self,
        auth: BearerAuth,
        body: Json<FriendRequestRequest>,
        engine: Data<&Engine>,
    ) -> Result<SendFriendRequestResponse, Failure<SendFriendRequest>> {
        let outcome = match engine.send_friend_request(auth.0, body.0.username.trim()).await {
            Ok(outcome) => outcome,
            Err(StoreError::NotFound) => return Err(ApiError::NotFound("no user of that name".to_owned()).into()),
            Err(StoreError::Conflict { .. }) => {
                return Err(ApiError::Http {
                    status: StatusCode::CONFLICT,
                    message: "you are friends already, or one of you asked already".to_owned(),
                }
                .into())
            }
            Err(error) => return Err(error.into()),
        };
        let friendship = match outcome {
            RequestOutcome::Sent => FriendshipBody::PendingSent,
            RequestOutcome::Accepted => FriendshipBody::Friends,
        };
        Ok(SendFriendRequestResponse::Created(Json(FriendRequestOutcomeBody {
            friendship,
        })))
    }

    /// Your pending requests, received or sent, in username order.
    #[oai(path = "/friends/requests", method = "get", operation_id = "list_friend_requests")]
    async fn list_requests(
        &self,
        auth: BearerAuth,
        /// `received` (the default) or `sent`.
        direction: Query<Option<RequestDirectionParam>>,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<FriendRequestsBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let direction = match direction.0 {
            Some(RequestDirectionParam::Sent) => RequestDirection::Sent,
            Some(RequestDirectionParam::Received) | None => RequestDirection::Received,
        };
        let requests = engine
            .list_friend_requests(auth.0, direction, limit, cursor.0.as_deref())
            .await?;
        let next_cursor = next_page(&requests, limit, |(profile, _)| profile.username.to_lowercase());
        Ok(Json(FriendRequestsBody {
            requests: requests
                .into_iter()
                .map(|(profile, created_at)| FriendRequestBody {
                    user: profile.into(),
                    created_at,
                })
                .collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Accepts the request a user sent you.
    #[oai(
        path = "/friends/requests/:username/accept",
        method = "post",
        operation_id = "accept_friend_request"
    )]
    async fn accept(
        &self,
        auth: BearerAuth,
        /// Who asked you.
        username: Path<String>,
        engine: Data<&Engine>,
    ) -> Result<FriendChangedResponse, Failure<ById>> {
        engine.accept_friend_request(auth.0, &username.0).await?;
        Ok(FriendChangedResponse::Done)
    }

    /// Declines a request a user sent you, or withdraws one you sent them.
    #[oai(
        path = "/friends/requests/:username",
        method = "delete",
        operation_id = "delete_friend_request"
    )]
    async fn delete_request(
        &self,
        auth: BearerAuth,
        /// The other side of the request.
        username: Path<String>,
        engine: Data<&Engine>,
    ) -> Result<FriendChangedResponse, Failure<ById>> {
        engine.delete_friend_request(auth.0, &username.0).await?;
        Ok(FriendChangedResponse::Done)
    }

    /// Your friends, in username order.
    #[oai(path = "/friends", method = "get", operation_id = "list_friends")]
    async fn list_friends(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<FriendsBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let friends = engine.list_friends(auth.0, limit, cursor.0.as_deref()).await?;
        let next_cursor = next_page(&friends, limit, |profile| profile.username.to_lowercase());
        Ok(Json(FriendsBody {
            friends: profiles(friends),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Ends a friendship, on both sides. Shares already received stay.
    #[oai(path = "/friends/:username", method = "delete", operation_id = "unfriend")]
    async fn unfriend(
        &self,
        auth: BearerAuth,
        /// The friend.
        username: Path<String>,
        engine: Data<&Engine>,
    ) -> Result<FriendChangedResponse, Failure<ById>> {
        engine.unfriend(auth.0, &username.0).await?;
        Ok(FriendChangedResponse::Done)
    }

    /// Searches users by username and by display name where they show it to you: names starting with the
    /// search first, then ending with it, then holding it. Never an email but a friend's who shows it.
    #[oai(path = "/users", method = "get", operation_id = "search_users")]
    async fn search(
        &self,
        auth: BearerAuth,
        /// 1–100 characters, any case.
        q: Query<String>,
        /// Results, 1–50; 20 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 50.0)))]
        limit: Query<Option<i64>>,
        engine: Data<&Engine>,
    ) -> Result<Json<UserSearchBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT)?;
        let query = q.0.trim();
        if query.is_empty() || query.chars().count() > SEARCH_MAX_CHARS || query.chars().any(char::is_control) {
            return Err(ApiError::validation("q", "must be 1–100 characters, with no control characters").into());
        }
        let users = engine.search_users(auth.0, query, limit).await?;
        Ok(Json(UserSearchBody { users: profiles(users) }))
    }

    /// A user's profile as you may see it, with where you stand with them.
    #[oai(path = "/users/:username", method = "get", operation_id = "get_profile")]
    async fn profile(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        engine: Data<&Engine>,
    ) -> Result<Json<ProfileBody>, Failure<ById>> {
        Ok(Json(engine.profile(auth.0, &username.0).await?.into()))
    }

    /// The friends you and a user have in common, with their count.
    #[oai(
        path = "/users/:username/mutual-friends",
        method = "get",
        operation_id = "list_mutual_friends"
    )]
    async fn mutual_friends(
        &self,
        auth: BearerAuth,
        username: Path<String>,
        engine: Data<&Engine>,
    ) -> Result<Json<MutualFriendsBody>, Failure<ById>> {
        let friends = engine.mutual_friends(auth.0, &username.0).await?;
        Ok(Json(MutualFriendsBody {
            count: friends.len() as u64,
            friends: profiles(friends),
        }))
    }
}
