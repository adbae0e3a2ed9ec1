//! The timeline's narrowing parameters (`category`, `tag`, `since`, `until`, `author`) read into the engine's
//! [`ArticleFilter`], each checked here with a 422 naming it. A text search (`q`) would be read here too.

use chrono::{DateTime, Utc};
use syndic_actors::domain::ArticleFilter;
use syndic_actors::organise::{Name, Title};

use crate::error::ApiError;

/// The parameters as the route took them.
#[derive(Debug, Default)]
pub(crate) struct FilterParams {
    pub category: Option<String>,
    pub tag: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub author: Option<String>,
}

pub(crate) fn article_filter(params: FilterParams) -> Result<ArticleFilter, ApiError> {
    let category = params
        .category
        .map(|name| Name::category(&name).map_err(|invalid| ApiError::validation("category", invalid.to_string())))
        .transpose()?;
    let tag = params
        .tag
        .map(|name| Name::tag(&name).map_err(|invalid| ApiError::validation("tag", invalid.to_string())))
        .transpose()?;
    // An author is bounded as a title is.
    let author = params
        .author
        .map(|author| Title::parse(&author).map_err(|invalid| ApiError::validation("author", invalid.to_string())))
        .transpose()?;
    if let (Some(since), Some(until)) = (params.since, params.until) {
        if since >= until {
            return Err(ApiError::validation("until", "must be later than `since`"));
        }
    }
    Ok(ArticleFilter {
        category: category.map(Name::into_string),
        tag: tag.map(Name::into_string),
        since: params.since,
        until: params.until,
        author: author.map(|author| author.as_str().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<ArticleFilter, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn no_parameter_keeps_everything() {
        assert!(article_filter(FilterParams::default()).unwrap().is_empty());
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let blank = || Some(" ".to_owned());
        assert_eq!(
            field_of(article_filter(FilterParams {
                category: blank(),
                ..Default::default()
            })),
            "category"
        );
        assert_eq!(
            field_of(article_filter(FilterParams {
                tag: blank(),
                ..Default::default()
            })),
            "tag"
        );
        assert_eq!(
            field_of(article_filter(FilterParams {
                author: blank(),
                ..Default::default()
            })),
            "author"
        );
        let now = Utc::now();
        let backwards = FilterParams {
            since: Some(now),
            until: Some(now),
            ..Default::default()
        };
        assert_eq!(field_of(article_filter(backwards)), "until");
    }
}
