//! Saved filters: a user's named timeline query (`q`, `category`, `tag`, `author`), which parses as the
//! timeline's parameters do, and which the timeline, the event stream, webhooks and digest timers name by id.

use chrono::{DateTime, Utc};

use crate::domain::{ArticleFilter, ArticleSearch, SearchOrder};
use crate::organise::{Name, Title};
use crate::search_query::SearchQuery;

pub type SavedFilterId = i64;

/// The most saved filters one user may have.
pub const MAX_SAVED_FILTERS: u64 = 100;

/// Why a filter's query was refused: the member at fault (`q`, `category`, `tag`, `author`, or none when the
/// query is empty) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidFilterQuery {
    pub member: Option<&'static str>,
    pub message: String,
}

/// A saved filter's query: at least one member, each checked exactly as the timeline's parameter of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterQuery {
    /// The search as written, and as parsed.
    q: Option<(String, SearchQuery)>,
    category: Option<String>,
    tag: Option<String>,
    author: Option<String>,
}

impl FilterQuery {
    pub fn parse(
        q: Option<&str>,
        category: Option<&str>,
        tag: Option<&str>,
        author: Option<&str>,
    ) -> Result<FilterQuery, InvalidFilterQuery> {
        let invalid = |member: &'static str, message: String| InvalidFilterQuery {
            member: Some(member),
            message,
        };
        let q = q
            .map(|q| match SearchQuery::parse(q) {
                Ok(parsed) => Ok((q.to_owned(), parsed)),
                Err(error) => Err(invalid("q", error.to_string())),
            })
            .transpose()?;
        let category = category
            .map(|name| Name::category(name).map_err(|error| invalid("category", error.to_string())))
            .transpose()?;
        let tag = tag
            .map(|name| Name::tag(name).map_err(|error| invalid("tag", error.to_string())))
            .transpose()?;
        let author = author
            .map(|author| Title::parse(author).map_err(|error| invalid("author", error.to_string())))
            .transpose()?;
        if q.is_none() && category.is_none() && tag.is_none() && author.is_none() {
            return Err(InvalidFilterQuery {
                member: None,
                message: "name at least one of q, category, tag and author".to_owned(),
            });
        }
        Ok(FilterQuery {
            q,
            category: category.map(Name::into_string),
            tag: tag.map(Name::into_string),
            author: author.map(|author| author.as_str().to_owned()),
        })
    }

    pub fn q(&self) -> Option<&str> {
        self.q.as_ref().map(|(text, _)| text.as_str())
    }

    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn author(&self) -> Option<&str> {
        self.author.as_deref()
    }

    /// The timeline filter this query is: what decides which articles match it, everywhere. A search is by
    /// relevance, as the timeline's `q` is by default.
    pub fn article_filter(&self) -> ArticleFilter {
        ArticleFilter {
            category: self.category.clone(),
            tag: self.tag.clone(),
            author: self.author.clone(),
            search: self.q.as_ref().map(|(_, query)| ArticleSearch {
                query: query.clone(),
                order: SearchOrder::Relevance,
            }),
            ..ArticleFilter::default()
        }
    }
}

/// A saved filter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFilter {
    pub id: SavedFilterId,
    pub name: String,
    pub query: FilterQuery,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to a saved filter; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedFilterEdit {
    pub name: Option<Name>,
    pub query: Option<FilterQuery>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_member_is_checked_as_the_timeline_checks_it() {
        let member = |result: Result<FilterQuery, InvalidFilterQuery>| result.unwrap_err().member;
        assert_eq!(
            member(FilterQuery::parse(Some("\"unclosed"), None, None, None)),
            Some("q")
        );
        assert_eq!(
            member(FilterQuery::parse(None, Some(" "), None, None)),
            Some("category")
        );
        assert_eq!(member(FilterQuery::parse(None, None, Some(""), None)), Some("tag"));
        assert_eq!(member(FilterQuery::parse(None, None, None, Some(" "))), Some("author"));
        assert_eq!(member(FilterQuery::parse(None, None, None, None)), None);
    }

    #[test]
    fn a_query_becomes_the_timeline_filter_of_its_members() {
        let query = FilterQuery::parse(Some("rust"), Some(" News "), None, Some("Ann")).unwrap();
        let filter = query.article_filter();
        assert_eq!(filter.category.as_deref(), Some("News"));
        assert_eq!(filter.author.as_deref(), Some("Ann"));
        assert_eq!(filter.tag, None);
        assert_eq!(filter.search.map(|search| search.order), Some(SearchOrder::Relevance));
    }
}
