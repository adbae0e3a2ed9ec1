//! Discovery: `POST /v1/discover` lists the feeds a URL leads to, without subscribing.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use syndic_actors::discovery::DiscoveredFeed;
use syndic_actors::engine::Engine;
use syndic_actors::parse::FeedKind;

use crate::auth::BearerAuth;
use crate::error_responses::{Discover, Failure};
use crate::nullable::Nullable;
use crate::ApiTags;

pub struct DiscoveryApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct DiscoverRequest {
    /// A web page or a feed.
    #[oai(deserialize_with = "crate::strict_json::url", validator(max_length = 2048))]
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "FeedType", rename_all = "lowercase")]
pub enum FeedTypeBody {
    Rss,
    Atom,
    Json,
}

/// A feed the URL leads to.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "DiscoveredFeed")]
pub struct DiscoveredFeedBody {
    /// The feed's URL, normalised: pass it to `POST /v1/feeds`.
    pub url: String,
    /// The title the page gives the link, else the feed's own.
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(rename = "type")]
    pub kind: FeedTypeBody,
}

#[derive(Debug, Object)]
#[oai(rename = "Discovery")]
pub struct DiscoveryBody {
    /// The URL as sent.
    pub url: String,
    /// The URL itself when it is a feed; else the feeds its page announces, in page order; else those found
    /// at the usual paths (`/feed`, `/rss.xml`, `/atom.xml`, `/index.xml`). Empty when there is none.
    pub feeds: Vec<DiscoveredFeedBody>,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Feeds")]
impl DiscoveryApi {
    /// Lists the feeds a web page leads to, with their titles and types, without subscribing. A URL this
    /// server may not fetch, or that cannot be fetched, is a 422 on `url`.
    #[oai(path = "/discover", method = "post", operation_id = "discover")]
    async fn discover(
        &self,
        _auth: BearerAuth,
        body: Json<DiscoverRequest>,
        engine: Data<&Engine>,
    ) -> Result<Json<DiscoveryBody>, Failure<Discover>> {
        let Json(request) = body;
        let feeds = engine.discover(&request.url).await?;
        Ok(Json(DiscoveryBody {
            url: request.url,
            feeds: feeds.into_iter().map(DiscoveredFeedBody::from).collect(),
        }))
    }
}

impl From<DiscoveredFeed> for DiscoveredFeedBody {
    fn from(feed: DiscoveredFeed) -> Self {
        let kind = match feed.kind {
            FeedKind::Rss => FeedTypeBody::Rss,
            FeedKind::Atom => FeedTypeBody::Atom,
            FeedKind::Json => FeedTypeBody::Json,
        };
        DiscoveredFeedBody {
            url: feed.url.as_str().to_owned(),
            title: feed.title.into(),
            kind,
        }
    }
}
