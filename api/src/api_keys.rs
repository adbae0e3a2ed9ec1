//! API keys for scripts and reader apps: `POST /v1/api-keys`, `GET /v1/api-keys`, `DELETE /v1/api-keys/{id}`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::session::{ApiKey, ApiKeyId};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, CreateApiKey, Failure, ListFeeds};
use crate::id_pages::{self, bounded, next_page};
use crate::nullable::Nullable;
use crate::ApiTags;

const API_KEYS_DEFAULT_LIMIT: i64 = 50;
const API_KEYS_MAX_LIMIT: i64 = 200;
const NAME_MAX: usize = 100;

pub struct ApiKeysApi;

#[derive(Debug, Object)]
pub struct ApiKeyRequest {
    /// What the key is for, 1–100 characters: shown in the listing.
    #[oai(deserialize_with = "crate::strict_json::name", validator(max_length = 100))]
    pub name: String,
}

#[derive(Debug, Object)]
#[oai(rename = "ApiKey")]
pub struct ApiKeyBody {
    pub id: ApiKeyId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Its last use, to within a minute; `null` until it is first used.
    #[oai(nullable)]
    pub last_used_at: Nullable<DateTime<Utc>>,
}

#[derive(Debug, Object)]
#[oai(rename = "CreatedApiKey")]
pub struct CreatedApiKeyBody {
    pub id: ApiKeyId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The key, shown this once: send it as `Authorization: Bearer <key>`. Only a hash of it is kept.
    pub key: String,
}

#[derive(Debug, Object)]
#[oai(rename = "ApiKeys")]
pub struct ApiKeysBody {
    /// Newest first.
    pub api_keys: Vec<ApiKeyBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(ApiResponse)]
pub enum CreateApiKeyResponse {
    /// The key was created; this is the only time it is shown.
    #[oai(status = 201)]
    Created(Json<CreatedApiKeyBody>),
}

#[derive(ApiResponse)]
pub enum DeleteApiKeyResponse {
    /// The key is deleted and no longer works.
    #[oai(status = 204)]
    Deleted,
}

fn api_key_body(key: ApiKey) -> ApiKeyBody {
    ApiKeyBody {
        id: key.id,
        name: key.name,
        created_at: key.created_at,
        last_used_at: key.last_used_at.into(),
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl ApiKeysApi {
    /// Creates a named key that works wherever an access token does, until it is deleted.
    #[oai(path = "/api-keys", method = "post", operation_id = "create_api_key")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<ApiKeyRequest>,
        engine: Data<&Engine>,
    ) -> Result<CreateApiKeyResponse, Failure<CreateApiKey>> {
        let name = body.0.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
            return Err(ApiError::validation("name", "must be 1–100 characters, with no control characters").into());
        }
        let created = engine.create_api_key(auth.0, name).await?;
        Ok(CreateApiKeyResponse::Created(Json(CreatedApiKeyBody {
            id: created.key.id,
            name: created.key.name,
            created_at: created.key.created_at,
            key: created.secret,
        })))
    }

    /// The user's API keys, newest first, without their secrets.
    #[oai(path = "/api-keys", method = "get", operation_id = "list_api_keys")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<ApiKeysBody>, Failure<ListFeeds>> {
        let limit = bounded("limit", limit.0, API_KEYS_DEFAULT_LIMIT, API_KEYS_MAX_LIMIT)?;
        let before = id_pages::cursor::<ApiKeyId>(cursor.0)?;
        let keys = engine.list_api_keys(auth.0, limit, before).await?;
        let next_cursor = next_page(&keys, limit, |key| key.id.to_string());
        Ok(Json(ApiKeysBody {
            api_keys: keys.into_iter().map(api_key_body).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Deletes an API key: it stops working at once.
    #[oai(path = "/api-keys/:id", method = "delete", operation_id = "delete_api_key")]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// The key's id.
        id: Path<ApiKeyId>,
        engine: Data<&Engine>,
    ) -> Result<DeleteApiKeyResponse, Failure<ById>> {
        engine.delete_api_key(auth.0, id.0).await?;
        Ok(DeleteApiKeyResponse::Deleted)
    }
}
