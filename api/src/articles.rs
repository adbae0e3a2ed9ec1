//! The timeline: `GET /v1/articles`, `GET /v1/articles/{id}` and `PATCH /v1/articles/{id}`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use syndic_actors::domain::{
    Article, ArticleCursor, ArticleFilter, ArticleId, ArticlePatch, ArticleQuery, Enclosure, FeedId, ReadFilter,
};
use syndic_actors::engine::Engine;
use syndic_actors::sanitize;
use syndic_actors::saved_filter::SavedFilterId;
use syndic_actors::store::StoreError;

use crate::article_filter::{article_filter, cursor_fits, with_saved_filter, ArticleOrder, FilterParams};
use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{ById, Failure, ListArticles, PatchArticle};
use crate::nullable::Nullable;
use crate::ApiTags;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub struct ArticlesApi;

/// Which articles to list by read state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ReadStatus {
    Unread,
    Read,
    All,
}

/// An article as the user sees it.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename = "Article")]
pub struct ArticleBody {
    pub id: ArticleId,
    pub feed_id: FeedId,
    /// The feed's current title.
    #[oai(nullable)]
    pub feed_title: Nullable<String>,
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(nullable)]
    pub url: Nullable<String>,
    /// HTML, sanitised: no script, style, frame, form or event handler; links and images only over http, https
    /// and mailto, relative ones made absolute against `url` (dropped without one); tracking pixels removed;
    /// `rel="noopener noreferrer nofollow"` on links. The feed's own HTML is kept as it came.
    #[oai(nullable)]
    pub summary: Nullable<String>,
    /// HTML, sanitised as `summary` is.
    #[oai(nullable)]
    pub content: Nullable<String>,
    #[oai(nullable)]
    pub author: Nullable<String>,
    pub categories: Vec<String>,
    /// Files attached to the article (podcast episodes); empty when there are none.
    pub enclosures: Vec<EnclosureBody>,
    pub published_at: DateTime<Utc>,
    pub read: bool,
    pub starred: bool,
}

/// A file attached to an article, as the feed describes it.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename = "Enclosure")]
pub struct EnclosureBody {
    pub url: String,
    /// The media type the feed gives, such as `audio/mpeg`.
    #[oai(rename = "type", skip_serializing_if_is_none)]
    pub media_type: Option<String>,
    /// The size in bytes the feed gives.
    #[oai(skip_serializing_if_is_none)]
    pub length: Option<u64>,
}

impl From<Enclosure> for EnclosureBody {
    fn from(enclosure: Enclosure) -> Self {
        EnclosureBody {
            url: enclosure.url,
            media_type: enclosure.media_type,
            length: enclosure.length,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "ArticlePage")]
pub struct ArticlesBody {
    /// Newest first; best match first in a search by relevance.
    pub articles: Vec<ArticleBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

/// At least one of the flags.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ArticlePatchRequest {
    #[oai(nullable, deserialize_with = "crate::strict_json::read")]
    pub read: Option<bool>,
    #[oai(nullable, deserialize_with = "crate::strict_json::starred")]
    pub starred: Option<bool>,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Articles")]
impl ArticlesApi {
    /// The user's timeline, newest first, one page at a time; with `q`, the articles that match a search.
    #[oai(path = "/articles", method = "get", operation_id = "list_articles")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Only this feed's articles.
        feed_id: Query<Option<FeedId>>,
        /// Read state to show; `all` by default.
        status: Query<Option<ReadStatus>>,
        /// Only starred (`true`) or only unstarred (`false`) articles.
        starred: Query<Option<bool>>,
        /// Page size, 1–200; 50 by default.
        #[oai(validator(minimum(value = 1.0), maximum(value = 200.0)))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only the feeds in your category of this name.
        category: Query<Option<String>>,
        /// Only the feeds you tagged with this name.
        tag: Query<Option<String>>,
        /// Only articles published at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only articles published before this time (RFC 3339); later than `since`.
        until: Query<Option<DateTime<Utc>>>,
        /// Only articles by this author: the whole name, in any case (ASCII letters).
        author: Query<Option<String>>,
        /// Only articles whose title, summary or content match this search, at most 256 characters and 16 terms.
        /// Words match whole, in any case; a word is a run of letters and digits, so punctuation only separates
        /// words (`rust-lang` is the phrase `"rust lang"`). Every term must match: `rust async` finds articles with
        /// both words. `"a phrase"` matches those words next to each other, in that order. `-word` or
        /// `-"a phrase"` excludes the articles that have it. `OR` between two terms matches either, and binds
        /// tighter than the implicit AND: `rust OR go async` is (rust or go) and async. A title match weighs more
        /// than a summary match, which weighs more than a content match. HTML tags in the text are not searched.
        q: Query<Option<String>>,
        /// `relevance` (best match first; only with `q`, and the default with it) or `date` (newest first; the
        /// default without `q`). By relevance, the 500 most recently stored matches (after the other filters) are
        /// ranked: a query with more matches, such as one of common words, does not rank older ones and leaves
        /// them out; `date` still finds every match. A cursor only continues the order it was issued for.
        order: Query<Option<ArticleOrder>>,
        /// The id of one of your saved filters (`/v1/filters`): its members apply as if given here. A member
        /// given both ways is a 422 naming it; an id that is not one of your filters is a 422 naming `filter`.
        #[oai(validator(minimum(value = 1.0)))]
        filter: Query<Option<SavedFilterId>>,
        engine: Data<&Engine>,
    ) -> Result<Json<ArticlesBody>, Failure<ListArticles>> {
        let mut query = article_query(feed_id.0, status.0, starred.0, limit.0, cursor.0.as_deref())?;
        let mut params = FilterParams {
            category: category.0,
            tag: tag.0,
            since: since.0,
            until: until.0,
            author: author.0,
            q: q.0,
            order: order.0,
        };
        if let Some(filter) = filter.0 {
            let saved = match engine.get_saved_filter(auth.0, filter).await {
                Ok(saved) => saved,
                Err(StoreError::NotFound) => {
                    return Err(ApiError::validation("filter", "you have no saved filter of this id").into())
                }
                Err(error) => return Err(error.into()),
            };
            params = with_saved_filter(params, &saved.query)?;
        }
        query.filter = article_filter(params)?;
        if query.cursor.is_some_and(|cursor| !cursor_fits(&cursor, &query.filter)) {
            return Err(ApiError::validation("cursor", "the cursor was issued for another order").into());
        }
        let page = engine.list_articles(auth.0, &query).await?;
        Ok(Json(ArticlesBody {
            articles: bodies(page.articles).await?,
            next_cursor: page.next_cursor.map(|cursor| cursor.encode()).into(),
        }))
    }

    /// One article.
    #[oai(path = "/articles/:id", method = "get", operation_id = "get_article")]
    async fn get(
        &self,
        auth: BearerAuth,
        /// The article's id.
        id: Path<ArticleId>,
        engine: Data<&Engine>,
    ) -> Result<Json<ArticleBody>, Failure<ById>> {
        let article = engine.get_article(auth.0, id.0).await?;
        Ok(Json(served(article).await?))
    }

    /// Marks an article read or unread, starred or not.
    #[oai(path = "/articles/:id", method = "patch", operation_id = "update_article")]
    async fn update(
        &self,
        auth: BearerAuth,
        /// The article's id.
        id: Path<ArticleId>,
        body: Json<ArticlePatchRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<ArticleBody>, Failure<PatchArticle>> {
        let patch = article_patch(body.0)?;
        let article = engine.update_article(auth.0, id.0, patch).await?;
        Ok(Json(served(article).await?))
    }
}

/// Checks the timeline parameters poem could parse but the API does not accept.
fn article_query(
    feed_id: Option<FeedId>,
    status: Option<ReadStatus>,
    starred: Option<bool>,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<ArticleQuery, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(&i64::from(*limit)))
        .ok_or_else(|| ApiError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")))?;
    let cursor = cursor
        .map(ArticleCursor::decode)
        .transpose()
        .map_err(|invalid| ApiError::validation("cursor", invalid.to_string()))?;
    let status = match status.unwrap_or(ReadStatus::All) {
        ReadStatus::Unread => ReadFilter::Unread,
        ReadStatus::Read => ReadFilter::Read,
        ReadStatus::All => ReadFilter::All,
    };
    Ok(ArticleQuery {
        feed_id,
        status,
        starred,
        limit,
        cursor,
        filter: ArticleFilter::default(),
    })
}

fn article_patch(request: ArticlePatchRequest) -> Result<ArticlePatch, ApiError> {
    if request.read.is_none() && request.starred.is_none() {
        return Err(ApiError::validation("read", "set `read`, `starred` or both"));
    }
    Ok(ArticlePatch {
        read: request.read,
        starred: request.starred,
    })
}

/// Articles as the API serves them, their HTML sanitised on the blocking pool: about 150 µs per 4 KiB of HTML
/// (benches/sanitize.rs), too long to hold an async worker for a page of them.
async fn bodies(articles: Vec<Article>) -> Result<Vec<ArticleBody>, ApiError> {
    tokio::task::spawn_blocking(move || articles.into_iter().map(ArticleBody::from).collect())
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))
}

async fn served(article: Article) -> Result<ArticleBody, ApiError> {
    let mut one = bodies(vec![article]).await?;
    one.pop()
        .ok_or_else(|| ApiError::Internal("sanitising an article returned none".into()))
}

impl From<Article> for ArticleBody {
    /// Sanitises the article's HTML (`summary`, `content`) against its own address.
    fn from(article: Article) -> Self {
        let base = sanitize::base_of(article.url.as_deref());
        let safe = |html: Option<String>| html.map(|html| sanitize::sanitize_html(&html, base.as_ref()));
        ArticleBody {
            id: article.id,
            feed_id: article.feed_id,
            feed_title: article.feed_title.into(),
            title: article.title.into(),
            url: article.url.into(),
            summary: safe(article.summary).into(),
            content: safe(article.content).into(),
            author: article.author.into(),
            categories: article.categories,
            enclosures: article.enclosures.into_iter().map(EnclosureBody::from).collect(),
            published_at: article.published_at,
            read: article.read,
            starred: article.starred,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: std::fmt::Debug>(result: Result<T, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_page_is_the_one_the_timeline_cache_keeps() {
        let cached = i64::from(syndic_actors::cache::timeline::CACHED_LIMIT);
        assert_eq!(DEFAULT_LIMIT, cached, "a default page would never be cached");
    }

    #[test]
    fn defaults_are_all_and_fifty() {
        let query = article_query(None, None, None, None, None).expect("valid");
        assert_eq!((query.status, query.limit, query.cursor), (ReadFilter::All, 50, None));
        assert_eq!((query.feed_id, query.starred), (None, None));
    }

    #[test]
    fn parameters_pass_through() {
        let query = article_query(Some(3), Some(ReadStatus::Unread), Some(true), Some(10), None).expect("valid");
        assert_eq!(
            (query.feed_id, query.status, query.starred, query.limit),
            (Some(3), ReadFilter::Unread, Some(true), 10)
        );
        let read = article_query(None, Some(ReadStatus::Read), None, None, None).expect("valid");
        assert_eq!(read.status, ReadFilter::Read);
    }

    #[test]
    fn limit_bounds() {
        for bad in [0, -1, 201, i64::MAX, i64::MIN] {
            assert_eq!(
                field_of(article_query(None, None, None, Some(bad), None)),
                "limit",
                "{bad}"
            );
        }
        for good in [1, 200] {
            assert_eq!(
                article_query(None, None, None, Some(good), None).expect("valid").limit as i64,
                good
            );
        }
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_rejected() {
        let cursor = ArticleCursor {
            published_at: DateTime::UNIX_EPOCH,
            article_id: 9,
            rank: None,
        };
        let query = article_query(None, None, None, None, Some(&cursor.encode())).expect("valid");
        assert_eq!(query.cursor, Some(cursor));
        assert_eq!(
            field_of(article_query(None, None, None, None, Some("banana!"))),
            "cursor"
        );
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        let empty = ArticlePatchRequest {
            read: None,
            starred: None,
        };
        assert_eq!(field_of(article_patch(empty)), "read");
        let starred = ArticlePatchRequest {
            read: None,
            starred: Some(true),
        };
        let patch = article_patch(starred).expect("valid");
        assert_eq!((patch.read, patch.starred), (None, Some(true)));
    }
}
