//! The timeline's narrowing parameters (`category`, `tag`, `since`, `until`, `author`, the search `q` and its
//! `order`) read into the engine's [`ArticleFilter`], each checked here with a 422 naming it.

use chrono::{DateTime, Utc};
use poem_openapi::Enum;
use syndic_actors::domain::{ArticleCursor, ArticleFilter, ArticleSearch, SearchOrder};
use syndic_actors::organise::{Name, Title};
use syndic_actors::saved_filter::FilterQuery;
use syndic_actors::search_query::SearchQuery;

use crate::error::ApiError;

/// The parameters as the route took them.
#[derive(Debug, Default)]
pub(crate) struct FilterParams {
    pub category: Option<String>,
    pub tag: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub author: Option<String>,
    pub q: Option<String>,
    pub order: Option<ArticleOrder>,
}

/// The order of the timeline: `relevance` (best match first; only with `q`, and its default) or `date` (newest
/// first; the default without `q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ArticleOrder {
    Relevance,
    Date,
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
    let search = article_search(params.q.as_deref(), params.order)?;
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
        search,
    })
}

/// Adds a saved filter's members to the parameters, to be checked with them. A member the request gives too is
/// refused (422 naming it) rather than guessed at: the two would narrow to their intersection, or one replace the
/// other, and neither is what every client means.
pub(crate) fn with_saved_filter(mut params: FilterParams, saved: &FilterQuery) -> Result<FilterParams, ApiError> {
    for (field, given, saved) in [
        ("q", &mut params.q, saved.q()),
        ("category", &mut params.category, saved.category()),
        ("tag", &mut params.tag, saved.tag()),
        ("author", &mut params.author, saved.author()),
    ] {
        if let Some(saved) = saved {
            if given.is_some() {
                return Err(ApiError::validation(field, "the saved `filter` sets it already"));
            }
            *given = Some(saved.to_owned());
        }
    }
    Ok(params)
}

fn article_search(q: Option<&str>, order: Option<ArticleOrder>) -> Result<Option<ArticleSearch>, ApiError> {
    let Some(q) = q else {
        return match order {
            Some(ArticleOrder::Relevance) => Err(ApiError::validation("order", "`relevance` needs a search `q`")),
            _ => Ok(None),
        };
    };
    let query = SearchQuery::parse(q).map_err(|invalid| ApiError::validation("q", invalid.to_string()))?;
    let order = match order.unwrap_or(ArticleOrder::Relevance) {
        ArticleOrder::Relevance => SearchOrder::Relevance,
        ArticleOrder::Date => SearchOrder::Date,
    };
    Ok(Some(ArticleSearch { query, order }))
}

/// Whether a cursor was issued for a timeline in this order: a relevance cursor carries a rank, a date one not.
pub(crate) fn cursor_fits(cursor: &ArticleCursor, filter: &ArticleFilter) -> bool {
    let by_relevance = filter
        .search
        .as_ref()
        .is_some_and(|search| search.order == SearchOrder::Relevance);
    cursor.rank.is_some() == by_relevance
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
    fn a_search_is_by_relevance_unless_told_and_date_needs_no_search() {
        let search = |q: Option<&str>, order| {
            article_filter(FilterParams {
                q: q.map(str::to_owned),
                order,
                ..Default::default()
            })
            .expect("valid")
            .search
            .map(|search| search.order)
        };
        assert_eq!(search(Some("rust"), None), Some(SearchOrder::Relevance));
        assert_eq!(search(Some("rust"), Some(ArticleOrder::Date)), Some(SearchOrder::Date));
        assert_eq!(search(None, Some(ArticleOrder::Date)), None);
        assert_eq!(search(None, None), None);
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
        for (q, order, field) in [
            (Some("\"unclosed"), None, "q"),
            (Some("-only -excluded"), None, "q"),
            (Some("a OR"), Some(ArticleOrder::Date), "q"),
            (None, Some(ArticleOrder::Relevance), "order"),
        ] {
            let params = FilterParams {
                q: q.map(str::to_owned),
                order,
                ..Default::default()
            };
            assert_eq!(field_of(article_filter(params)), field, "{q:?} {order:?}");
        }
        let backwards = FilterParams {
            since: Some(now),
            until: Some(now),
            ..Default::default()
        };
        assert_eq!(field_of(article_filter(backwards)), "until");
    }

    #[test]
    fn a_saved_filter_adds_its_members_and_refuses_one_given_twice() {
        let saved = FilterQuery::parse(Some("rust"), None, Some("lang"), None).unwrap();
        let merged = with_saved_filter(
            FilterParams {
                author: Some("Ann".to_owned()),
                ..Default::default()
            },
            &saved,
        )
        .unwrap();
        assert_eq!(merged.q.as_deref(), Some("rust"));
        assert_eq!(merged.tag.as_deref(), Some("lang"));
        assert_eq!(merged.author.as_deref(), Some("Ann"));
        let twice = with_saved_filter(
            FilterParams {
                tag: Some("other".to_owned()),
                ..Default::default()
            },
            &saved,
        );
        assert!(matches!(twice, Err(ApiError::Validation { field: "tag", .. })));
    }
}
