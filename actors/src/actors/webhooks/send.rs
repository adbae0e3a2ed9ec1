//! Sending one delivery: a signed JSON POST through the feeds' client (its resolver refuses private addresses
//! at connect time, and it follows no redirect: a 3xx is a failed attempt), under the host's politeness limits,
//! within a timeout, reading at most a bounded part of the response body.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::feed_url::FeedUrl;
use crate::fetch::Fetcher;
use crate::fetch_headers::read_retry_after;
use crate::network_policy;
use crate::politeness::host_key;
use crate::webhook::{Delivery, WebhookTarget};
use crate::webhook_signature::sign;

/// How one attempt went, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub status: Option<u16>,
    /// What the receiver asked for with `Retry-After` on 429 or 503.
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
    /// From the request's start to the end of the (capped) body, the politeness wait excluded.
    pub latency: Duration,
}

impl Sent {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|status| (200..300).contains(&status))
    }

    fn failed(error: String, latency: Duration) -> Sent {
        Sent {
            status: None,
            retry_after: None,
            error: Some(error),
            latency,
        }
    }
}

/// The limits of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    pub timeout: Duration,
    pub max_response_bytes: usize,
    pub allow_private_networks: bool,
}

/// Posts `delivery` to the webhook's URL, signed with its secret. Never fails: every failure is in [`Sent`].
pub async fn send(fetcher: &Fetcher, target: &WebhookTarget, delivery: &Delivery, limits: SendLimits) -> Sent {
    let url = match FeedUrl::parse(&target.url) {
        Ok(url) => url,
        Err(error) => return Sent::failed(error.to_string(), Duration::ZERO),
    };
    if !limits.allow_private_networks {
        if let Err(error) = url.check_literal_address() {
            return Sent::failed(network_policy::refusal(&error.to_string()), Duration::ZERO);
        }
    }
    let permit = match fetcher.politeness().acquire(&host_key(url.as_url())).await {
        Ok(permit) => permit,
        Err(closed) => return Sent::failed(closed.to_string(), Duration::ZERO),
    };
    let started = Instant::now();
    let exchange = tokio::time::timeout(limits.timeout, post(fetcher, url.as_str(), target, delivery, limits));
    let sent = match exchange.await {
        Ok(Ok((status, retry_after))) => Sent {
            status: Some(status.as_u16()),
            retry_after,
            error: (!status.is_success()).then(|| format!("the receiver answered HTTP {}", status.as_u16())),
            latency: started.elapsed(),
        },
        Ok(Err(error)) => Sent::failed(describe(&error), started.elapsed()),
        Err(_) => Sent::failed(
            format!("timed out after {} s", limits.timeout.as_secs_f64()),
            started.elapsed(),
        ),
    };
    drop(permit);
    sent
}

async fn post(
    fetcher: &Fetcher,
    url: &str,
    target: &WebhookTarget,
    delivery: &Delivery,
    limits: SendLimits,
) -> Result<(StatusCode, Option<Duration>), reqwest::Error> {
    let timestamp = chrono::Utc::now().timestamp();
    let body = delivery.payload.clone().into_bytes();
    let signature = sign(&target.secret, timestamp, &body);
    let response = fetcher
        .client()
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header("X-Syndic-Event", delivery.event.as_str())
        .header("X-Syndic-Delivery", delivery.id.to_string())
        .header("X-Syndic-Timestamp", timestamp.to_string())
        .header("X-Syndic-Signature", signature)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let retry_after = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
        .then(|| read_retry_after(response.headers(), SystemTime::now()))
        .flatten();
    // The body says nothing the outcome needs; reading a bounded part lets the connection be reused.
    let mut read = 0;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        read += chunk?.len();
        if read >= limits.max_response_bytes {
            break;
        }
    }
    Ok((status, retry_after))
}

/// The error and its causes on one line: the resolver's refusal of a private address is a cause.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
