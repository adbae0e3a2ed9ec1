//! Bulk marking: `POST /v1/articles/mark` marks the selected articles read or unread, starred or unstarred, in
//! one request whatever their number.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use syndic_actors::domain::{ArticleId, FeedId};
use syndic_actors::engine::Engine;
use syndic_actors::organise::{MarkSelection, Marking, Name, MARK_IDS_MAX};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Failure, MarkArticles};
use crate::ApiTags;

pub struct BulkMarkApi;

/// What to mark (`read`, `starred`, at least one) and which articles: those of the feeds you follow, narrowed by
/// every selector given (`ids`, `feed_id`, `category`, `before`); none given takes every feed you follow.
#[derive(Debug, Object)]
#[oai(rename = "MarkRequest")]
pub struct MarkRequest {
    /// `true` marks the selected articles read, `false` unread; absent leaves the read state alone.
    #[oai(deserialize_with = "crate::strict_json::mark_read")]
    pub read: Option<bool>,
    /// `true` stars the selected articles, `false` unstars them; absent leaves stars alone.
    #[oai(deserialize_with = "crate::strict_json::mark_starred")]
    pub starred: Option<bool>,
    /// Only these articles, at most 1,000; ids of articles you cannot see are ignored.
    #[oai(deserialize_with = "crate::strict_json::mark_ids")]
    pub ids: Option<Vec<ArticleId>>,
    /// Only this feed's articles.
    #[oai(deserialize_with = "crate::strict_json::mark_feed_id")]
    pub feed_id: Option<FeedId>,
    /// Only the articles of the feeds in your category of this name.
    #[oai(deserialize_with = "crate::strict_json::category")]
    pub category: Option<String>,
    /// Only the articles published before this instant.
    #[oai(deserialize_with = "crate::strict_json::mark_before")]
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
    /// Marks the selected articles read or unread, starred or unstarred, in one request whatever their number;
    /// answers how many articles changed state.
    #[oai(path = "/articles/mark", method = "post", operation_id = "mark_articles")]
    async fn mark(
        &self,
        auth: BearerAuth,
        body: Json<MarkRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<MarkBody>, Failure<MarkArticles>> {
        let (marking, selection) = parse_request(body.0)?;
        let marked = engine.mark_articles(auth.0, marking, &selection).await?;
        Ok(Json(MarkBody {
            marked: i64::try_from(marked).unwrap_or(i64::MAX),
        }))
    }
}

fn parse_request(request: MarkRequest) -> Result<(Marking, MarkSelection), ApiError> {
    if request.read.is_none() && request.starred.is_none() {
        return Err(ApiError::validation("read", "give `read`, `starred` or both"));
    }
    if request.ids.as_ref().is_some_and(|ids| ids.len() > MARK_IDS_MAX) {
        return Err(ApiError::validation(
            "ids",
            format!("must hold at most {MARK_IDS_MAX} ids"),
        ));
    }
    let category = request
        .category
        .map(|name| Name::category(&name).map_err(|invalid| ApiError::validation("category", invalid.to_string())))
        .transpose()?;
    let marking = Marking {
        read: request.read,
        starred: request.starred,
    };
    let selection = MarkSelection {
        feed_id: request.feed_id,
        category: category.map(Name::into_string),
        ids: request.ids,
        before: request.before,
    };
    Ok((marking, selection))
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

    fn field_of(result: Result<(Marking, MarkSelection), ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_selector_is_taken_as_given() {
        let before = chrono::Utc::now();
        let (marking, selection) = parse_request(MarkRequest {
            read: Some(false),
            starred: Some(true),
            ids: Some(vec![1, 2]),
            feed_id: Some(7),
            category: Some(" News ".to_owned()),
            before: Some(before),
        })
        .unwrap();
        assert_eq!(
            marking,
            Marking {
                read: Some(false),
                starred: Some(true)
            }
        );
        assert_eq!(
            selection,
            MarkSelection {
                feed_id: Some(7),
                category: Some("News".to_owned()),
                ids: Some(vec![1, 2]),
                before: Some(before),
            }
        );
        assert_eq!(parse_request(request()).unwrap().1, MarkSelection::default());
    }

    #[test]
    fn a_request_that_marks_nothing_or_too_much_names_the_field() {
        assert_eq!(
            field_of(parse_request(MarkRequest {
                read: None,
                ..request()
            })),
            "read"
        );
        assert_eq!(
            field_of(parse_request(MarkRequest {
                ids: Some(vec![1; MARK_IDS_MAX + 1]),
                ..request()
            })),
            "ids"
        );
        assert!(parse_request(MarkRequest {
            ids: Some(vec![1; MARK_IDS_MAX]),
            ..request()
        })
        .is_ok());
        assert_eq!(
            field_of(parse_request(MarkRequest {
                category: Some(" ".to_owned()),
                ..request()
            })),
            "category"
        );
    }
}
