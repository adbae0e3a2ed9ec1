//! Finding the feed behind a URL a person gave: the URL itself when it answers with a feed, else the feeds its
//! HTML page announces, else the usual feed paths of its site. Every fetch goes through the shared fetcher, so
//! the SSRF rules, the body cap, the timeouts and politeness hold for discovery as for polls.

pub mod page_links;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use url::Url;

use crate::feed_url::FeedUrl;
use crate::fetch::{FetchError, FetchOutcome, FetchedDocument, Fetcher, Validators};
use crate::parse::{encoding, parse_feed, FeedKind, ParsedFeed};
pub use page_links::{looks_like_html, read_page_links, LinkedFeed, PageLinks};

/// Where sites usually publish their feed, tried when a page announces none.
pub const WELL_KNOWN_PATHS: [&str; 4] = ["/feed", "/rss.xml", "/atom.xml", "/index.xml"];

/// How many candidate feeds one request may fetch, over all its pages: a request of 100 pages does not
/// turn into 500 fetches.
pub const CANDIDATE_FETCHES_PER_REQUEST: usize = 8;

/// The candidate fetches a request may still make, shared by its pages.
#[derive(Debug)]
pub struct FetchBudget(AtomicUsize);

impl FetchBudget {
    pub fn new(fetches: usize) -> Self {
        FetchBudget(AtomicUsize::new(fetches))
    }

    /// Takes one fetch; false when none is left.
    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok()
    }
}

/// A feed a page leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub url: FeedUrl,
    pub title: Option<String>,
    /// What the page says it is; `None` for a usual path, which says nothing until fetched.
    pub kind: Option<FeedKind>,
}

/// A feed found for a person to choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFeed {
    pub url: FeedUrl,
    pub title: Option<String>,
    pub kind: FeedKind,
}

/// One fetch of a URL, timed as a poll's is: made by a subscribe request, it becomes the feed's first poll.
#[derive(Debug)]
pub struct ProbedFetch {
    pub outcome: Result<FetchOutcome, FetchError>,
    pub polled_at: DateTime<Utc>,
    pub started: Instant,
    /// Time spent waiting for politeness slots, which is not the server's.
    pub waited: Duration,
}

impl ProbedFetch {
    /// The fetched document when it is an HTML page rather than a feed (or an error).
    pub fn html_page(&self) -> Option<&FetchedDocument> {
        match &self.outcome {
            Ok(FetchOutcome::Fetched(document)) if looks_like_html(&document.body) => Some(document),
            _ => None,
        }
    }
}

/// The fetch a subscribe request made of a new feed, handed to the feed's actor as its first poll: done, or
/// still under way when the request stopped waiting for it.
#[derive(Debug)]
pub enum FirstFetch {
    Done(Box<ProbedFetch>),
    Underway(JoinHandle<ProbedFetch>),
}

/// Fetches a URL unconditionally, timing it as a poll.
pub async fn probe(fetcher: &Fetcher, url: &FeedUrl) -> ProbedFetch {
    let polled_at = Utc::now();
    let started = Instant::now();
    let (outcome, waited) = fetcher.fetch_timed(url, &Validators::default()).await;
    ProbedFetch {
        outcome,
        polled_at,
        started,
        waited,
    }
}

/// The first of an HTML page's candidates that reads as a feed, with its fetch, trying them in order while the
/// request's budget lasts.
pub async fn find_in_page(
    fetcher: &Fetcher,
    page: &FetchedDocument,
    budget: &FetchBudget,
) -> Option<(FeedUrl, ProbedFetch)> {
    for candidate in page_candidates(page) {
        if !budget.take() {
            break;
        }
        let fetched = probe(fetcher, &candidate.url).await;
        if let Ok(FetchOutcome::Fetched(document)) = &fetched.outcome {
            if read_feed(document.body.clone()).await.is_some() {
                return Some((candidate.url, fetched));
            }
        }
    }
    None
}

/// Every feed a URL leads to: the URL itself when it reads as a feed; else the feeds its page announces, as
/// announced (not fetched); else those of the usual paths that read as feeds. `Err` when the URL itself
/// cannot be fetched.
pub async fn list_feeds(
    fetcher: &Fetcher,
    url: &FeedUrl,
    budget: &FetchBudget,
) -> Result<Vec<DiscoveredFeed>, FetchError> {
    let FetchOutcome::Fetched(page) = fetcher.fetch(url, &Validators::default()).await? else {
        return Ok(Vec::new());
    };
    if !looks_like_html(&page.body) {
        let feed = read_feed(page.body).await;
        return Ok(feed.map(|feed| discovered(url.clone(), feed)).into_iter().collect());
    }
    let candidates = page_candidates(&page);
    let mut found = Vec::new();
    for candidate in candidates {
        if let Some(kind) = candidate.kind {
            found.push(DiscoveredFeed {
                url: candidate.url,
                title: candidate.title,
                kind,
            });
            continue;
        }
        if !budget.take() {
            break;
        }
        if let Ok(FetchOutcome::Fetched(document)) = fetcher.fetch(&candidate.url, &Validators::default()).await {
            if let Some(feed) = read_feed(document.body).await {
                found.push(discovered(candidate.url, feed));
            }
        }
    }
    Ok(found)
}

fn discovered(url: FeedUrl, feed: ParsedFeed) -> DiscoveredFeed {
    DiscoveredFeed {
        url,
        title: feed.title,
        kind: feed.kind,
    }
}

/// The feeds a fetched page announces, or the usual paths of its site when it announces none.
fn page_candidates(page: &FetchedDocument) -> Vec<Candidate> {
    let html = encoding::decode_to_utf8(&page.body);
    let linked = linked_candidates(&page.url, &read_page_links(&html));
    if linked.is_empty() {
        well_known_candidates(&page.url)
    } else {
        linked
    }
}

/// The announced feeds, resolved against the page's `<base>` (itself resolved against the page) and else the
/// page's own URL (after redirects); each once, in document order; those that are not http(s) URLs dropped.
pub fn linked_candidates(page: &Url, links: &PageLinks) -> Vec<Candidate> {
    let base = links
        .base
        .as_deref()
        .and_then(|base| page.join(base).ok())
        .unwrap_or_else(|| page.clone());
    let mut candidates: Vec<Candidate> = Vec::new();
    for link in &links.feeds {
        let Some(url) = base
            .join(&link.href)
            .ok()
            .and_then(|url| FeedUrl::parse(url.as_str()).ok())
        else {
            continue;
        };
        if candidates.iter().all(|known| known.url != url) {
            candidates.push(Candidate {
                url,
                title: link.title.clone(),
                kind: Some(link.kind),
            });
        }
    }
    candidates
}

/// The usual feed paths on the page's site.
pub fn well_known_candidates(page: &Url) -> Vec<Candidate> {
    WELL_KNOWN_PATHS
        .iter()
        .filter_map(|path| page.join(path).ok())
        .filter_map(|url| FeedUrl::parse(url.as_str()).ok())
        .map(|url| Candidate {
            url,
            title: None,
            kind: None,
        })
        .collect()
}

/// Reads a document as a feed off the async threads; `None` when it is not one.
async fn read_feed(body: Bytes) -> Option<ParsedFeed> {
    tokio::task::spawn_blocking(move || parse_feed(&body)).await.ok()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(candidates: &[Candidate]) -> Vec<&str> {
        candidates.iter().map(|candidate| candidate.url.as_str()).collect()
    }

    #[test]
    fn relative_links_resolve_against_the_page_after_redirects() {
        let page = Url::parse("https://blog.example.com/posts/hello").unwrap();
        let links = read_page_links(
            r#"<link rel="alternate" type="application/rss+xml" href="../feed.xml" title="All">
               <link rel="alternate" type="application/atom+xml" href="atom.xml">
               <link rel="alternate" type="application/rss+xml" href="/feed.xml">
               <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
               <link rel="alternate" type="application/rss+xml" href="//other.example.net/rss">"#,
        );
        let candidates = linked_candidates(&page, &links);
        assert_eq!(
            urls(&candidates),
            vec![
                "https://blog.example.com/feed.xml",
                "https://blog.example.com/posts/atom.xml",
                "https://other.example.net/rss",
            ]
        );
        assert_eq!(candidates[0].title.as_deref(), Some("All"));
        assert_eq!(candidates[1].kind, Some(FeedKind::Atom));
    }

    #[test]
    fn a_base_element_moves_relative_links() {
        let page = Url::parse("https://example.com/a/b").unwrap();
        let links =
            read_page_links(r#"<base href="/static/"><link rel="alternate" type="application/rss+xml" href="rss">"#);
        assert_eq!(
            urls(&linked_candidates(&page, &links)),
            vec!["https://example.com/static/rss"]
        );
    }

    #[test]
    fn usual_paths_are_on_the_pages_site() {
        let page = Url::parse("http://example.com:8080/deep/page?x=1").unwrap();
        assert_eq!(
            urls(&well_known_candidates(&page)),
            vec![
                "http://example.com:8080/feed",
                "http://example.com:8080/rss.xml",
                "http://example.com:8080/atom.xml",
                "http://example.com:8080/index.xml",
            ]
        );
    }

    #[test]
    fn the_budget_runs_out() {
        let budget = FetchBudget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
    }
}
