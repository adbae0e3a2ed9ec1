//! Organising subscriptions: the body of `PATCH /v1/feeds/{id}` (own title, category, tags; the route is with
//! the other feed routes, as the spec lists a path once), the user's categories
//! (`/v1/categories`), their tags (`GET /v1/tags`) and the unread counters (`GET /v1/counters`).
//!
//! A category is named, in a feed's patch, by its name: one the user does not have is created. The routes of
//! `/v1/categories` address one by id, as renaming changes its name.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use syndic_actors::domain::FeedId;
use syndic_actors::engine::Engine;
use syndic_actors::organise::{Category, CategoryId, InvalidName, Name, SubscriptionPatch, TagCount, Title, TAGS_MAX};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Authenticated, ById, CreateCategory, Failure, ListNamed, RenameCategory};
use crate::id_pages::{bounded, cursor, next_page};
use crate::nullable::Nullable;
use crate::ApiTags;

/// The listings' page size when none is asked for, and the most it may be.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

pub struct OrganiseApi;

/// An edit of a subscription: fields left out stay as they are, `null` clears one.
#[derive(Debug, Object)]
#[oai(rename = "FeedPatch")]
pub struct FeedPatchRequest {
    /// Your own title for the feed, 1–300 characters; `null` shows the feed's own again.
    #[oai(deserialize_with = "crate::strict_json::patched_title", nullable)]
    pub title: MaybeUndefined<String>,
    /// The name of one of your categories, 1–1024 characters, created if you have none of that name; `null`
    /// takes the feed out of its category.
    #[oai(deserialize_with = "crate::strict_json::patched_category", nullable)]
    pub category: MaybeUndefined<String>,
    /// Every tag the feed carries, replacing those it had: up to 50, each 1–100 characters; `[]` removes all.
    #[oai(deserialize_with = "crate::strict_json::tags")]
    pub tags: Option<Vec<String>>,
}

/// A category's name.
#[derive(Debug, Object)]
#[oai(rename = "CategoryRequest")]
pub struct CategoryRequest {
    /// 1–1024 characters, trimmed; unique among your categories.
    #[oai(deserialize_with = "crate::strict_json::name")]
    pub name: String,
}

/// One of your categories.
#[derive(Debug, Object)]
#[oai(rename = "Category")]
pub struct CategoryBody {
    pub id: CategoryId,
    pub name: String,
    /// Feeds in the category.
    pub feed_count: i64,
    /// Unread articles of those feeds.
    pub unread_count: i64,
}

#[derive(Debug, Object)]
#[oai(rename = "CategoryList")]
pub struct CategoriesBody {
    /// In name order.
    pub categories: Vec<CategoryBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

/// One of your tags.
#[derive(Debug, Object)]
#[oai(rename = "Tag")]
pub struct TagBody {
    pub name: String,
    /// Feeds carrying the tag.
    pub feed_count: i64,
}

#[derive(Debug, Object)]
#[oai(rename = "TagList")]
pub struct TagsBody {
    /// In name order.
    pub tags: Vec<TagBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "FeedCounter")]
pub struct FeedCounterBody {
    pub feed_id: FeedId,
    pub unread_count: i64,
}

#[derive(Debug, Object)]
#[oai(rename = "CategoryCounter")]
pub struct CategoryCounterBody {
    pub category_id: CategoryId,
    pub unread_count: i64,
}

/// Unread counts for badges, read at one moment: a category's count is the sum of its feeds'.
#[derive(Debug, Object)]
#[oai(rename = "Counters")]
pub struct CountersBody {
    /// Every feed you follow, by id.
    pub feeds: Vec<FeedCounterBody>,
    /// Every category of yours, by id, empty ones included.
    pub categories: Vec<CategoryCounterBody>,
}

#[derive(ApiResponse)]
pub enum CreateCategoryResponse {
    /// The category, with no feeds yet.
    #[oai(status = 201)]
    Created(Json<CategoryBody>),
}

#[derive(ApiResponse)]
pub enum DeleteCategoryResponse {
    /// The category is gone; its feeds are in no category.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Feeds")]
impl OrganiseApi {
    /// Your categories in name order, with their feed and unread counts.
    #[oai(path = "/categories", method = "get", operation_id = "list_categories")]
    async fn list_categories(
        &self,
        auth: BearerAuth,
        /// Page size, 1–500; 100 by default.
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<CategoriesBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let after: Option<String> = self::cursor(cursor.0)?;
        let categories = engine.list_categories(auth.0, limit, after.as_deref()).await?;
        let next_cursor = next_page(&categories, limit, |category| category.name.clone());
        Ok(Json(CategoriesBody {
            categories: categories.into_iter().map(CategoryBody::from).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Creates an empty category.
    #[oai(path = "/categories", method = "post", operation_id = "create_category")]
    async fn create_category(
        &self,
        auth: BearerAuth,
        body: Json<CategoryRequest>,
        engine: Data<&Engine>,
    ) -> Result<CreateCategoryResponse, Failure<CreateCategory>> {
        let name = category_name(&body.0.name)?;
        let category = engine.create_category(auth.0, &name).await?;
        Ok(CreateCategoryResponse::Created(Json(category.into())))
    }

    /// One category with its counts.
    #[oai(path = "/categories/:id", method = "get", operation_id = "get_category")]
    async fn get_category(
        &self,
        auth: BearerAuth,
        /// The category's id.
        id: Path<CategoryId>,
        engine: Data<&Engine>,
    ) -> Result<Json<CategoryBody>, Failure<ById>> {
        Ok(Json(engine.get_category(auth.0, id.0).await?.into()))
    }

    /// Renames a category; its feeds stay in it.
    #[oai(path = "/categories/:id", method = "patch", operation_id = "rename_category")]
    async fn rename_category(
        &self,
        auth: BearerAuth,
        /// The category's id.
        id: Path<CategoryId>,
        body: Json<CategoryRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<CategoryBody>, Failure<RenameCategory>> {
        let name = category_name(&body.0.name)?;
        Ok(Json(engine.rename_category(auth.0, id.0, &name).await?.into()))
    }

    /// Deletes a category; its feeds stay subscribed, in no category.
    #[oai(path = "/categories/:id", method = "delete", operation_id = "delete_category")]
    async fn delete_category(
        &self,
        auth: BearerAuth,
        /// The category's id.
        id: Path<CategoryId>,
        engine: Data<&Engine>,
    ) -> Result<DeleteCategoryResponse, Failure<ById>> {
        engine.delete_category(auth.0, id.0).await?;
        Ok(DeleteCategoryResponse::Deleted)
    }

    /// Your tags in name order, with how many feeds carry each.
    #[oai(path = "/tags", method = "get", operation_id = "list_tags")]
    async fn list_tags(
        &self,
        auth: BearerAuth,
        /// Page size, 1–500; 100 by default.
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<Json<TagsBody>, Failure<ListNamed>> {
        let limit = bounded("limit", limit.0, DEFAULT_LIMIT, MAX_LIMIT)?;
        let after: Option<String> = self::cursor(cursor.0)?;
        let tags = engine.list_tags(auth.0, limit, after.as_deref()).await?;
        let next_cursor = next_page(&tags, limit, |tag| tag.name.clone());
        Ok(Json(TagsBody {
            tags: tags.into_iter().map(TagBody::from).collect(),
            next_cursor: next_cursor.into(),
        }))
    }

    /// Unread counts per feed and per category, in one response.
    #[oai(path = "/counters", method = "get", operation_id = "counters")]
    async fn counters(
        &self,
        auth: BearerAuth,
        engine: Data<&Engine>,
    ) -> Result<Json<CountersBody>, Failure<Authenticated>> {
        let counters = engine.counters(auth.0).await?;
        Ok(Json(CountersBody {
            feeds: counters
                .feeds
                .into_iter()
                .map(|(feed_id, unread_count)| FeedCounterBody { feed_id, unread_count })
                .collect(),
            categories: counters
                .categories
                .into_iter()
                .map(|(category_id, unread_count)| CategoryCounterBody {
                    category_id,
                    unread_count,
                })
                .collect(),
        }))
    }
}

fn category_name(value: &str) -> Result<Name, ApiError> {
    Name::category(value).map_err(|invalid| invalid_name("name", invalid))
}

fn invalid_name(field: &'static str, invalid: InvalidName) -> ApiError {
    ApiError::validation(field, invalid.to_string())
}

/// The patch a request asks for, each value parsed, or a 422 naming the first field that is wrong.
pub(crate) fn subscription_patch(request: FeedPatchRequest) -> Result<SubscriptionPatch, ApiError> {
    let title = match request.title {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(title) => Some(Some(
            Title::parse(&title).map_err(|invalid| invalid_name("title", invalid))?,
        )),
    };
    let category = match request.category {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(name) => Some(Some(
            Name::category(&name).map_err(|invalid| invalid_name("category", invalid))?,
        )),
    };
    let tags = match request.tags {
        None => None,
        Some(tags) if tags.len() > TAGS_MAX => {
            return Err(ApiError::validation(
                "tags",
                format!("must hold at most {TAGS_MAX} tags"),
            ));
        }
        Some(tags) => Some(
            tags.iter()
                .map(|tag| Name::tag(tag).map_err(|invalid| invalid_name("tags", invalid)))
                .collect::<Result<Vec<Name>, ApiError>>()?,
        ),
    };
    if title.is_none() && category.is_none() && tags.is_none() {
        return Err(ApiError::validation(
            "title",
            "set `title`, `category`, `tags` or several",
        ));
    }
    Ok(SubscriptionPatch { title, category, tags })
}

impl From<Category> for CategoryBody {
    fn from(category: Category) -> Self {
        CategoryBody {
            id: category.id,
            name: category.name,
            feed_count: category.feed_count,
            unread_count: category.unread_count,
        }
    }
}

impl From<TagCount> for TagBody {
    fn from(tag: TagCount) -> Self {
        TagBody {
            name: tag.name,
            feed_count: tag.feed_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<SubscriptionPatch, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn request(
        title: MaybeUndefined<String>,
        category: MaybeUndefined<String>,
        tags: Option<Vec<&str>>,
    ) -> FeedPatchRequest {
        FeedPatchRequest {
            title,
            category,
            tags: tags.map(|tags| tags.into_iter().map(str::to_owned).collect()),
        }
    }

    #[test]
    fn null_clears_and_absent_leaves_alone() {
        let patch = subscription_patch(request(MaybeUndefined::Null, MaybeUndefined::Undefined, None)).unwrap();
        assert_eq!(patch.title, Some(None));
        assert_eq!(patch.category, None);
        assert_eq!(patch.tags, None);
        let patch = subscription_patch(request(
            MaybeUndefined::Undefined,
            MaybeUndefined::Value(" News ".to_owned()),
            Some(vec![]),
        ))
        .unwrap();
        assert_eq!(patch.category, Some(Some(Name::category("News").unwrap())));
        assert_eq!(patch.tags, Some(vec![]));
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let blank = || MaybeUndefined::Value("  ".to_owned());
        assert_eq!(
            field_of(subscription_patch(request(blank(), MaybeUndefined::Undefined, None))),
            "title"
        );
        assert_eq!(
            field_of(subscription_patch(request(MaybeUndefined::Undefined, blank(), None))),
            "category"
        );
        assert_eq!(
            field_of(subscription_patch(request(
                MaybeUndefined::Undefined,
                MaybeUndefined::Undefined,
                Some(vec!["ok", ""])
            ))),
            "tags"
        );
        assert_eq!(
            field_of(subscription_patch(request(
                MaybeUndefined::Undefined,
                MaybeUndefined::Undefined,
                Some(vec!["t"; TAGS_MAX + 1])
            ))),
            "tags"
        );
        assert_eq!(
            field_of(subscription_patch(request(
                MaybeUndefined::Undefined,
                MaybeUndefined::Undefined,
                None
            ))),
            "title"
        );
    }
}
