//! `/v1/filters`: a user's saved filters, named timeline queries (`q`, `category`, `tag`, `author`) that
//! `GET /v1/articles?filter=`, `GET /v1/events?filter=`, a webhook's `filter.saved_filter` and a digest timer's
//! `payload.filter` name by id.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::organise::Name;
use syndic_actors::saved_filter::{FilterQuery, SavedFilter, SavedFilterEdit, SavedFilterId};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Authenticated, ById, CreateSavedFilter, Failure, PatchSavedFilter};
use crate::ApiTags;

pub struct SavedFiltersApi;

/// A saved filter's query: at least one member, each checked exactly as the timeline's parameter of that name
/// (`GET /v1/articles`); together they all apply. An article matches when that timeline would list it.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "SavedFilterQuery")]
pub struct FilterQueryBody {
    /// A search of title, summary and content, as the timeline's `q`.
    #[oai(skip_serializing_if_is_none, deserialize_with = "crate::strict_json::filter_q")]
    pub q: Option<String>,
    /// The name of one of your categories (it need not exist yet; while it does not, nothing matches).
    #[oai(
        skip_serializing_if_is_none,
        deserialize_with = "crate::strict_json::filter_category"
    )]
    pub category: Option<String>,
    /// One of your tags.
    #[oai(skip_serializing_if_is_none, deserialize_with = "crate::strict_json::filter_tag")]
    pub tag: Option<String>,
    /// An author's whole name, any case.
    #[oai(skip_serializing_if_is_none, deserialize_with = "crate::strict_json::filter_author")]
    pub author: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "SavedFilterRequest")]
pub struct SavedFilterRequest {
    /// 1–100 characters, trimmed; unique among your saved filters.
    #[oai(deserialize_with = "crate::strict_json::name")]
    pub name: String,
    pub query: FilterQueryBody,
}

/// An edit of a saved filter: fields left out stay as they are; a `query` replaces the whole query.
#[derive(Debug, Object)]
#[oai(rename = "SavedFilterPatch")]
pub struct SavedFilterPatchRequest {
    #[oai(deserialize_with = "crate::strict_json::name_if_given")]
    pub name: Option<String>,
    #[oai(deserialize_with = "crate::strict_json::query")]
    pub query: Option<FilterQueryBody>,
}

/// One of your saved filters.
#[derive(Debug, Object)]
#[oai(rename = "SavedFilter")]
pub struct SavedFilterBody {
    pub id: SavedFilterId,
    pub name: String,
    pub query: FilterQueryBody,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(rename = "SavedFilterList")]
pub struct SavedFiltersBody {
    /// In name order; at most 100.
    pub filters: Vec<SavedFilterBody>,
}

#[derive(ApiResponse)]
pub enum CreateSavedFilterResponse {
    #[oai(status = 201)]
    Created(Json<SavedFilterBody>),
}

#[derive(ApiResponse)]
pub enum DeleteSavedFilterResponse {
    /// The filter is gone. A webhook, a digest timer or a stream that named it now matches nothing (never
    /// everything); the timeline refuses its id.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Articles")]
impl SavedFiltersApi {
    /// Saves a filter. At most 100 per user (422 naming `name` beyond); a taken name is a 409.
    #[oai(path = "/filters", method = "post", operation_id = "create_saved_filter")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<SavedFilterRequest>,
        engine: Data<&Engine>,
    ) -> Result<CreateSavedFilterResponse, Failure<CreateSavedFilter>> {
        let Json(request) = body;
        let name = filter_name(&request.name)?;
        let query = filter_query(&request.query)?;
        let saved = engine.create_saved_filter(auth.0, &name, &query).await?;
        Ok(CreateSavedFilterResponse::Created(Json(saved.into())))
    }

    /// Your saved filters, in name order.
    #[oai(path = "/filters", method = "get", operation_id = "list_saved_filters")]
    async fn list(
        &self,
        auth: BearerAuth,
        engine: Data<&Engine>,
    ) -> Result<Json<SavedFiltersBody>, Failure<Authenticated>> {
        let filters = engine.list_saved_filters(auth.0).await?;
        Ok(Json(SavedFiltersBody {
            filters: filters.into_iter().map(SavedFilterBody::from).collect(),
        }))
    }

    /// One of your saved filters; another user's is a 404.
    #[oai(path = "/filters/:id", method = "get", operation_id = "get_saved_filter")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The filter's id.
        id: Path<SavedFilterId>,
        engine: Data<&Engine>,
    ) -> Result<Json<SavedFilterBody>, Failure<ById>> {
        Ok(Json(engine.get_saved_filter(auth.0, id.0).await?.into()))
    }

    /// Renames a saved filter and/or replaces its query. What names it (a webhook, a digest, a stream) follows
    /// the new query from its next match on.
    #[oai(path = "/filters/:id", method = "patch", operation_id = "update_saved_filter")]
    async fn update(
        &self,
        auth: BearerAuth,
        /// The filter's id.
        id: Path<SavedFilterId>,
        body: Json<SavedFilterPatchRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<SavedFilterBody>, Failure<PatchSavedFilter>> {
        let Json(patch) = body;
        let edit = SavedFilterEdit {
            name: patch.name.as_deref().map(filter_name).transpose()?,
            query: patch.query.as_ref().map(filter_query).transpose()?,
        };
        Ok(Json(engine.update_saved_filter(auth.0, id.0, &edit).await?.into()))
    }

    /// Deletes a saved filter. A webhook, digest timer or stream naming it then matches nothing.
    #[oai(path = "/filters/:id", method = "delete", operation_id = "delete_saved_filter")]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// The filter's id.
        id: Path<SavedFilterId>,
        engine: Data<&Engine>,
    ) -> Result<DeleteSavedFilterResponse, Failure<ById>> {
        engine.delete_saved_filter(auth.0, id.0).await?;
        Ok(DeleteSavedFilterResponse::Deleted)
    }
}

fn filter_name(value: &str) -> Result<Name, ApiError> {
    Name::saved_filter(value).map_err(|invalid| ApiError::validation("name", invalid.to_string()))
}

fn filter_query(body: &FilterQueryBody) -> Result<FilterQuery, ApiError> {
    FilterQuery::parse(
        body.q.as_deref(),
        body.category.as_deref(),
        body.tag.as_deref(),
        body.author.as_deref(),
    )
    .map_err(|invalid| {
        let field = match invalid.member {
            Some("q") => "query.q",
            Some("category") => "query.category",
            Some("tag") => "query.tag",
            Some("author") => "query.author",
            _ => "query",
        };
        ApiError::validation(field, invalid.message)
    })
}

impl From<SavedFilter> for SavedFilterBody {
    fn from(saved: SavedFilter) -> Self {
        SavedFilterBody {
            id: saved.id,
            name: saved.name,
            query: FilterQueryBody {
                q: saved.query.q().map(str::to_owned),
                category: saved.query.category().map(str::to_owned),
                tag: saved.query.tag().map(str::to_owned),
                author: saved.query.author().map(str::to_owned),
            },
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        }
    }
}
