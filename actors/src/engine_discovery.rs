//! The engine's door for discovery: which feed each URL of a subscribe request stands for, and the listing of
//! every feed a URL leads to (`POST /v1/discover`). The looking itself is `discovery`.

use std::time::Duration;

use crate::actors::router::{StartedFetch, SubscribeTarget};
use crate::discovery::{self, DiscoveredFeed, FetchBudget, FirstFetch, CANDIDATE_FETCHES_PER_REQUEST};
use crate::engine::{Engine, EngineError, SubscribeOutcome, SubscribeStatus};

/// How long a subscribe request waits for a URL's own fetch. Past it, the URL is subscribed to as sent, as
/// before discovery, and its actor takes the fetch under way as its first poll: a slow or hanging feed holds up
/// neither the request nor anyone's refresh.
const FIRST_FETCH_WAIT: Duration = Duration::from_secs(1);
/// How long a subscribe request looks through an HTML page's candidates.
const FIND_FEED_TIMEOUT: Duration = Duration::from_secs(20);
/// The most candidates one discovery lists.
const LISTED_MAX: usize = 50;
/// Why a page was refused.
pub const NO_FEED_FOUND: &str = "no feed found";

impl Engine {
    /// The feed to subscribe to for one URL of a subscribe request, or (`Err`) its refusal. A known feed is
    /// subscribed to as it is, without a fetch; any other URL is fetched, and an HTML page replaced by the first
    /// feed it leads to.
    pub(crate) async fn subscribe_target(
        &self,
        requested: String,
        budget: &FetchBudget,
    ) -> Result<Result<SubscribeTarget, SubscribeOutcome>, EngineError> {
        let refused = |requested: String, reason: String| SubscribeOutcome {
            url: requested,
            feed_url: None,
            feed_id: None,
            status: SubscribeStatus::Invalid,
            error: Some(reason),
        };
        let url = match self.check_url(&requested).await {
            Ok(url) => url,
            Err(reason) => return Ok(Err(refused(requested, reason))),
        };
        if self.engine_store().feed_id_by_url(url.as_str()).await?.is_some() {
            return Ok(Ok(SubscribeTarget {
                requested,
                url,
                first_fetch: None,
            }));
        }
        // Counted as a poll under way from here until the feed's actor stores it (or it comes to nothing).
        let Some(poll) = self.polls().enter() else {
            return Err(EngineError::Unavailable("the engine is shutting down".into()));
        };
        let fetcher = self.fetcher().clone();
        let probed_url = url.clone();
        let mut first = tokio::spawn(async move { discovery::probe(&fetcher, &probed_url).await });
        let probed = match tokio::time::timeout(FIRST_FETCH_WAIT, &mut first).await {
            Ok(Ok(probed)) => probed,
            Ok(Err(join_error)) => {
                tracing::warn!(%join_error, "the subscribe-time fetch failed; the feed's actor polls instead");
                return Ok(Ok(SubscribeTarget {
                    requested,
                    url,
                    first_fetch: None,
                }));
            }
            // A slow server: the URL is taken as the feed, and its actor takes the fetch over where it is.
            Err(_elapsed) => {
                return Ok(Ok(SubscribeTarget {
                    requested,
                    url,
                    first_fetch: Some(StartedFetch {
                        fetch: FirstFetch::Underway(first),
                        poll,
                    }),
                }))
            }
        };
        let Some(page) = probed.html_page() else {
            return Ok(Ok(SubscribeTarget {
                requested,
                url,
                first_fetch: Some(StartedFetch {
                    fetch: FirstFetch::Done(Box::new(probed)),
                    poll,
                }),
            }));
        };
        let found =
            tokio::time::timeout(FIND_FEED_TIMEOUT, discovery::find_in_page(self.fetcher(), page, budget)).await;
        match found {
            Ok(Some((url, fetched))) => Ok(Ok(SubscribeTarget {
                requested,
                url,
                first_fetch: Some(StartedFetch {
                    fetch: FirstFetch::Done(Box::new(fetched)),
                    poll,
                }),
            })),
            Ok(None) | Err(_) => Ok(Err(refused(requested, NO_FEED_FOUND.to_owned()))),
        }
    }

    /// Every feed a URL leads to, without subscribing: the URL itself when it is a feed; else the feeds its page
    /// announces; else those at the usual paths. Only feeds this server may fetch are listed. An unusable URL,
    /// or one that cannot be fetched, is `Invalid` on `url`.
    pub async fn discover(&self, url: &str) -> Result<Vec<DiscoveredFeed>, EngineError> {
        let invalid = |message: String| EngineError::Invalid { field: "url", message };
        let url = self.check_url(url).await.map_err(invalid)?;
        let budget = FetchBudget::new(CANDIDATE_FETCHES_PER_REQUEST);
        let listed = discovery::list_feeds(self.fetcher(), &url, &budget)
            .await
            .map_err(|error| invalid(format!("could not fetch the page: {error}")))?;
        let mut allowed = Vec::new();
        // A page may point anywhere, private addresses included: list only what this server would fetch.
        for feed in listed.into_iter().take(LISTED_MAX) {
            match self.check_url(feed.url.as_str()).await {
                Ok(_) => allowed.push(feed),
                Err(reason) => tracing::debug!(url = %feed.url.as_str(), %reason, "discovered feed left out"),
            }
        }
        Ok(allowed)
    }
}
