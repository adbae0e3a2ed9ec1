//! Bulk marking: `POST /v1/articles/mark`. Marking whole feeds read (all of them, one, or a category's) is
//! served now; marking by article ids, by date (`before`) or starring in bulk is refused with a 422 naming the
//! field, until the store can do those without a statement per article.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use syndic_actors::domain::{ArticleId, FeedId};
use syndic_actors::engine::Engine;
use syndic_actors::organise::{Name, ReadSelection};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Failure, MarkArticles};
use crate::ApiTags;

pub struct BulkMarkApi;

/// Which articles to mark, and how. Today: `read: true`, with `feed_id`, `category`, both or neither (every
/// feed you follow).
#[derive(Debug, Object)]
#[oai(rename = "MarkRequest")]
pub struct MarkRequest {
    /// `true` marks the selected articles read. `false` is not supported yet (422).
    pub read: Option<bool>,
    /// Not supported yet (422).
    pub starred: Option<bool>,
    /// Not supported yet (422).
    pub ids: Option<Vec<ArticleId>>,
    /// Only this feed's articles.
    pub feed_id: Option<FeedId>,
    /// Only the articles of the feeds in your category of this name.
    pub category: Option<String>,
    /// Not supported yet (422).
    pub before: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Object)]
#[oai(rename = "MarkResult")]
pub struct MarkBody {
    /// How many articles changed state.
    pub marked: i64,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Articles")]
impl BulkMarkApi {
    /// Marks every article of the selected feeds read, in one request whatever their number.
    #[oai(path = "/articles/mark", method = "post", operation_id = "mark_articles")]
    async fn mark(
        &self,
        auth: BearerAuth,
        body: Json<MarkRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<MarkBody>, Failure<MarkArticles>> {
        let selection = read_selection(body.0)?;
        let marked = engine.mark_all_read(auth.0, &selection).await?;
        Ok(Json(MarkBody {
            marked: i64::try_from(marked).unwrap_or(i64::MAX),
        }))
    }
}

fn read_selection(request: MarkRequest) -> Result<ReadSelection, ApiError> {
    let not_yet = |field| ApiError::validation(field, "not supported yet: mark whole feeds read with `read: true`");
    if request.starred.is_some() {
        return Err(not_yet("starred"));
    }
    if request.ids.is_some() {
        return Err(not_yet("ids"));
    }
    if request.before.is_some() {
        return Err(not_yet("before"));
    }
    if request.read != Some(true) {
        return Err(not_yet("read"));
    }
    let category = request
        .category
        .map(|name| Name::category(&name).map_err(|invalid| ApiError::validation("category", invalid.to_string())))
        .transpose()?;
    Ok(ReadSelection {
        feed_id: request.feed_id,
        category: category.map(Name::into_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> MarkRequest {
        MarkRequest {
            read: Some(true),
            starred: None,
            ids: None,
            feed_id: None,
            category: None,
            before: None,
        }
    }

    fn field_of(result: Result<ReadSelection, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn only_marking_whole_feeds_read_is_taken_and_the_rest_is_named() {
        assert_eq!(read_selection(request()).unwrap(), ReadSelection::default());
        assert_eq!(
            field_of(read_selection(MarkRequest {
                read: Some(false),
                ..request()
            })),
            "read"
        );
        assert_eq!(
            field_of(read_selection(MarkRequest {
                read: None,
                ..request()
            })),
            "read"
        );
        assert_eq!(
            field_of(read_selection(MarkRequest {
                starred: Some(true),
                ..request()
            })),
            "starred"
        );
        assert_eq!(
            field_of(read_selection(MarkRequest {
                ids: Some(vec![1]),
                ..request()
            })),
            "ids"
        );
        assert_eq!(
            field_of(read_selection(MarkRequest {
                category: Some(" ".to_owned()),
                ..request()
            })),
            "category"
        );
    }
}
