//! Fetching feeds over HTTP: one shared client, conditional GET, bounded time, size and redirects, and no
//! connections to private addresses unless they are allowed.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{redirect, StatusCode};

use crate::feed_url::{check_literal_address, FeedUrl};
use crate::network_policy;

const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub connect_timeout: Duration,
    /// Covers the whole exchange: connecting, redirects and reading the body.
    pub total_timeout: Duration,
    /// Cap on the decompressed body.
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub user_agent: String,
    pub allow_private_networks: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            user_agent: format!("syndic/{}", env!("CARGO_PKG_VERSION")),
            allow_private_networks: false,
        }
    }
}

/// The validators of the last stored response, sent back so an unchanged feed answers 304.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum FetchOutcome {
    NotModified,
    Fetched(FetchedDocument),
}

#[derive(Debug)]
pub struct FetchedDocument {
    pub body: Bytes,
    pub validators: Validators,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Blocked(String),
    #[error("timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("the server answered HTTP {0}")]
    Status(u16),
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
            FetchError::Connect(_) => "connect",
            FetchError::TooManyRedirects(_) => "redirects",
            FetchError::Status(_) => "status",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Request(_) => "request",
        }
    }
}

/// Raised by the resolver and the redirect policy, and recognised again in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BlockedDestination(String);

#[derive(Debug, thiserror::Error)]
#[error("more than {0} redirects")]
struct RedirectLimit(usize);

/// Resolves names to public addresses only. It runs for every connection, redirects included, and the
/// addresses it returns are the ones connected to, so DNS rebinding cannot reach a private address.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| network_policy::is_public(address.ip()))
                .collect();
            if public.is_empty() {
                let message = format!("{host} resolves only to private or reserved addresses");
                return Err(Box::new(BlockedDestination(message)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The one HTTP client all feed actors share.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        let max_redirects = settings.max_redirects;
        let allow_private = settings.allow_private_networks;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error(RedirectLimit(max_redirects));
            }
            let url = attempt.url();
            if url.scheme() != "http" && url.scheme() != "https" {
                let message = format!("redirect to a {} URL", url.scheme());
                return attempt.error(BlockedDestination(message));
            }
            if !allow_private {
                if let Err(error) = check_literal_address(url) {
                    return attempt.error(BlockedDestination(error.to_string()));
                }
            }
            attempt.follow()
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .redirect(policy)
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(PublicOnlyResolver);
        }
        let client = builder
            .build()
            .map_err(|error| FetchError::Request(error.to_string()))?;
        Ok(Fetcher { client, settings })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// Fetches a feed, conditionally when validators are known. Never panics; every failure is a `FetchError`.
    pub async fn fetch(&self, url: &FeedUrl, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        if !self.settings.allow_private_networks {
            url.check_literal_address()
                .map_err(|error| FetchError::Blocked(error.to_string()))?;
        }
        let mut request = self.client.get(url.as_str()).header(ACCEPT, ACCEPT_FEEDS);
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, last_modified);
        }
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let validators = read_validators(response.headers());
        let body = self.read_body(response).await?;
        Ok(FetchOutcome::Fetched(FetchedDocument { body, validators }))
    }

    /// Reads the decompressed body, stopping as soon as it passes the cap.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, FetchError> {
        let limit = self.settings.max_body_bytes;
        let encoded = response.headers().contains_key(reqwest::header::CONTENT_ENCODING);
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
}

fn read_validators(headers: &HeaderMap) -> Validators {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    Validators {
        etag: text(ETAG),
        last_modified: text(LAST_MODIFIED),
    }
}

fn classify(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(blocked) = cause.downcast_ref::<BlockedDestination>() {
            return FetchError::Blocked(blocked.0.clone());
        }
        if let Some(limit) = cause.downcast_ref::<RedirectLimit>() {
            return FetchError::TooManyRedirects(limit.0);
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
