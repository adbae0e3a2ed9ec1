//! Fetching feeds over HTTP: one shared client, conditional GET, bounded time, size and redirects, and no
//! connections to private addresses unless they are allowed.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    HeaderValue, ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, IF_MODIFIED_SINCE, IF_NONE_MATCH, LOCATION,
};
use reqwest::{redirect, StatusCode};
use url::Url;

use crate::feed_url::FeedUrl;
use crate::fetch_headers::{is_redirect, read_hints, read_retry_after, read_validators, vet_redirect};
use crate::network_policy;
use crate::politeness::{host_key, Politeness, PolitenessSettings};
use crate::resolver::{BlockedDestination, CheckedResolver, UnresolvedHost};

const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub connect_timeout: Duration,
    /// Covers the network part of the whole exchange: connecting, every redirect and reading the body.
    /// Time spent waiting for a politeness slot is not counted: that is queueing, not a slow server.
    pub total_timeout: Duration,
    /// Cap on the decompressed body.
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub allow_private_networks: bool,
    /// Sent in the User-Agent: `syndic/<version> (+<contact_url>)`; without it, `syndic/<version>`.
    pub contact_url: Option<String>,
    /// Global cap on requests in flight (default 64).
    pub max_fetches: usize,
    /// Cap on requests in flight to one host (default 2).
    pub per_host_concurrency: usize,
    /// Minimum gap between the starts of two requests to one host (default 1000 ms; zero = no gap).
    pub per_host_interval: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            allow_private_networks: false,
            contact_url: None,
            max_fetches: 64,
            per_host_concurrency: 2,
            per_host_interval: Duration::from_millis(1000),
        }
    }
}

impl FetchSettings {
    /// `syndic/<version> (+<contact_url>)`, so a publisher can find who is polling them.
    pub fn user_agent(&self) -> String {
        let product = format!("syndic/{}", env!("CARGO_PKG_VERSION"));
        match self.contact_url.as_deref().map(str::trim) {
            Some(contact) if !contact.is_empty() => format!("{product} (+{contact})"),
            _ => product,
        }
    }
}

/// The validators of the last stored response, sent back so an unchanged feed answers 304.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the publisher says about how often to poll. All optional; durations from "now".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublisherHints {
    pub max_age: Option<Duration>,
    pub expires_in: Option<Duration>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug)]
pub enum FetchOutcome {
    NotModified { hints: PublisherHints },
    Fetched(FetchedDocument),
}

#[derive(Debug)]
pub struct FetchedDocument {
    pub body: Bytes,
    /// Where the document was fetched from, after redirects: relative links in it resolve against this.
    /// Boxed, so that the outcome of a 304 stays small.
    pub url: Box<Url>,
    /// The `Content-Type` the server sent, if any.
    pub content_type: Option<String>,
    pub validators: Validators,
    pub hints: PublisherHints,
    /// The final URL when every redirect on the way was permanent (301 or 308); None when there was no
    /// redirect or any hop was temporary (302, 303, 307).
    pub permanent_redirect: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Blocked(String),
    #[error("timed out")]
    Timeout,
    /// The host's name did not resolve; often transient, so the poll is retried like any failure.
    #[error("the host could not be resolved: {0}")]
    Unresolved(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// A non-success status other than 304 and 410. `retry_after` is parsed from Retry-After on 429 and 503.
    #[error("the server answered HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    /// 410 Gone: the publisher says the feed will not come back.
    #[error("the feed is gone (HTTP 410)")]
    Gone,
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("request failed: {0}")]
    Request(String),
}

impl FetchError {
    /// A short, bounded label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Blocked(_) => "blocked",
            FetchError::Timeout => "timeout",
            FetchError::Unresolved(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::TooManyRedirects(_) => "redirects",
            FetchError::Status { .. } => "status",
            FetchError::Gone => "gone",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Request(_) => "request",
        }
    }
}

/// The one HTTP client all feed actors share, with the limiter that keeps them polite.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    politeness: Politeness,
    settings: FetchSettings,
}

/// Where one request led.
enum Step {
    Done(FetchOutcome),
    Redirect { status: StatusCode, location: String },
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        let user_agent = HeaderValue::from_str(&settings.user_agent())
            .map_err(|_| FetchError::Request("the contact URL cannot be sent in a User-Agent header".into()))?;
        // Redirects are followed by `fetch` itself, so that each hop is vetted, takes its host's
        // politeness slot and says whether it was permanent.
        let builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .redirect(redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy()
            .dns_resolver(CheckedResolver {
                allow_private_networks: settings.allow_private_networks,
            });
        let client = builder
            .build()
            .map_err(|error| FetchError::Request(error.to_string()))?;
        let politeness = Politeness::new(PolitenessSettings {
            max_fetches: settings.max_fetches,
            per_host_concurrency: settings.per_host_concurrency,
            per_host_interval: settings.per_host_interval,
        });
        Ok(Fetcher {
            client,
            politeness,
            settings,
        })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// The shared client, whose resolver refuses private addresses at connect time and which follows no
    /// redirect: webhook deliveries are sent with it.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The per-host and global limits that every request to a host shares, feeds and webhooks alike.
    pub(crate) fn politeness(&self) -> &Politeness {
        &self.politeness
    }

    /// Fetches a feed, conditionally when validators are known, following redirects. Never panics; every
    /// failure is a `FetchError`.
    pub async fn fetch(&self, url: &FeedUrl, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        self.fetch_timed(url, validators).await.0
    }

    /// [`Fetcher::fetch`], with how long it waited for politeness slots (global and per host, the per-host
    /// gap included, over every hop). That wait is queueing on this side, so it is reported apart from the
    /// time the server took.
    pub async fn fetch_timed(
        &self,
        url: &FeedUrl,
        validators: &Validators,
    ) -> (Result<FetchOutcome, FetchError>, Duration) {
        let mut waited = Duration::ZERO;
        let limit = self.settings.max_body_bytes;
        let result = self.follow(url, validators, limit, &mut waited).await;
        (result, waited)
    }

    /// [`Fetcher::fetch`] unconditionally, with a smaller cap on the body than a feed's (an icon's).
    pub async fn fetch_small(&self, url: &FeedUrl, max_body_bytes: usize) -> Result<FetchOutcome, FetchError> {
        let limit = max_body_bytes.min(self.settings.max_body_bytes);
        let mut waited = Duration::ZERO;
        self.follow(url, &Validators::default(), limit, &mut waited).await
    }

    async fn follow(
        &self,
        url: &FeedUrl,
        validators: &Validators,
        limit: usize,
        waited: &mut Duration,
    ) -> Result<FetchOutcome, FetchError> {
        if !self.settings.allow_private_networks {
            url.check_literal_address()
                .map_err(|error| FetchError::Blocked(network_policy::refusal(&error.to_string())))?;
        }
        let mut current = url.as_url().clone();
        let mut redirects = 0;
        let mut all_permanent = true;
        let mut budget = self.settings.total_timeout;
        loop {
            let queued = tokio::time::Instant::now();
            let permit = self
                .politeness
                .acquire(&host_key(&current))
                .await
                .map_err(|closed| FetchError::Request(closed.to_string()))?;
            let started = tokio::time::Instant::now();
            *waited += started - queued;
            let step = tokio::time::timeout(budget, self.request(&current, validators, limit)).await;
            budget = budget.saturating_sub(started.elapsed());
            drop(permit);
            let (status, location) = match step.map_err(|_| FetchError::Timeout)?? {
                Step::Done(outcome) => return Ok(with_redirect(outcome, redirects > 0 && all_permanent, &current)),
                Step::Redirect { status, location } => (status, location),
            };
            if redirects >= self.settings.max_redirects {
                return Err(FetchError::TooManyRedirects(self.settings.max_redirects));
            }
            current = vet_redirect(&current, &location, self.settings.allow_private_networks)?;
            redirects += 1;
            all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
        }
    }

    /// One request to one URL, body included when it is the document.
    async fn request(&self, url: &Url, validators: &Validators, limit: usize) -> Result<Step, FetchError> {
        let mut request = self.client.get(url.as_str()).header(ACCEPT, ACCEPT_FEEDS);
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, last_modified);
        }
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let headers = response.headers();
        let now = SystemTime::now();
        if is_redirect(status) {
            if let Some(location) = headers.get(LOCATION).and_then(|value| value.to_str().ok()) {
                let location = location.to_owned();
                return Ok(Step::Redirect { status, location });
            }
        }
        if status == StatusCode::NOT_MODIFIED {
            let hints = read_hints(headers, now);
            return Ok(Step::Done(FetchOutcome::NotModified { hints }));
        }
        if status == StatusCode::GONE {
            return Err(FetchError::Gone);
        }
        if !status.is_success() {
            let asks_to_wait = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE);
            let retry_after = asks_to_wait.then(|| read_retry_after(headers, now)).flatten();
            let status = status.as_u16();
            return Err(FetchError::Status { status, retry_after });
        }
        let validators = read_validators(headers);
        let hints = read_hints(headers, now);
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = read_body(response, limit).await?;
        Ok(Step::Done(FetchOutcome::Fetched(FetchedDocument {
            body,
            url: Box::new(url.clone()),
            content_type,
            validators,
            hints,
            permanent_redirect: None,
        })))
    }
}

/// Reads the decompressed body, stopping as soon as it passes the cap.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, FetchError> {
    // A declared length is only the length on the wire; with an encoding the decoded body decides.
    let encoded = response.headers().contains_key(CONTENT_ENCODING);
    if !encoded && response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(FetchError::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn with_redirect(outcome: FetchOutcome, permanent: bool, last: &Url) -> FetchOutcome {
    match outcome {
        FetchOutcome::Fetched(mut document) if permanent => {
            document.permanent_redirect = Some(last.as_str().to_owned());
            FetchOutcome::Fetched(document)
        }
        other => other,
    }
}

fn classify(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(blocked) = cause.downcast_ref::<BlockedDestination>() {
            return FetchError::Blocked(blocked.0.clone());
        }
        if let Some(unresolved) = cause.downcast_ref::<UnresolvedHost>() {
            return FetchError::Unresolved(unresolved.to_string());
        }
        source = cause.source();
    }
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_connect() {
        FetchError::Connect(root_cause(&error))
    } else {
        FetchError::Request(root_cause(&error))
    }
}

/// The innermost message, which is the one that says what went wrong ("connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_names_a_contact_when_there_is_one() {
        let version = env!("CARGO_PKG_VERSION");
        let mut settings = FetchSettings::default();
        assert_eq!(settings.user_agent(), format!("syndic/{version}"));
        settings.contact_url = Some("https://example.com/bot".into());
        assert_eq!(
            settings.user_agent(),
            format!("syndic/{version} (+https://example.com/bot)")
        );
        settings.contact_url = Some("bad\nvalue".into());
        assert!(matches!(Fetcher::new(settings), Err(FetchError::Request(_))));
    }
}
