//! The load test's API client: registers the load user, subscribes it to the farm 100 URLs per request, asks
//! for the warm round, and pages the timeline as concurrent readers do, timing each page.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use syndic_testkit::api_client;

/// Most URLs one subscribe request may carry (the API's limit).
const URLS_PER_REQUEST: usize = 100;
/// Articles per timeline page the readers ask for.
const PAGE_SIZE: u32 = 50;
pub const USERNAME: &str = "loadtest";
const PASSWORD: &str = "load test password";

/// A logged-in client of the engine under test.
#[derive(Clone)]
pub struct ApiClient {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// Statuses of the subscribe answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscribeSummary {
    pub ready: usize,
    pub pending: usize,
}

impl ApiClient {
    /// Registers the load user on a fresh engine and logs it in.
    pub async fn register(base: &str) -> anyhow::Result<ApiClient> {
        ApiClient::register_as(base, USERNAME).await
    }

    /// Registers a user of that name on the engine and logs it in.
    pub async fn register_as(base: &str, username: &str) -> anyhow::Result<ApiClient> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        let token = api_client::register_and_log_in(&client, base, username, PASSWORD).await?;
        Ok(ApiClient {
            client,
            base: base.to_owned(),
            token,
        })
    }

    /// The access token, for clients the harness drives by hand.
    pub fn token(&self) -> &str {
        &self.token
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Subscribes to every URL, one request per 100, in order. Fails if the engine refuses any URL.
    pub async fn subscribe_all(&self, urls: &[String]) -> anyhow::Result<SubscribeSummary> {
        let mut summary = SubscribeSummary::default();
        for chunk in urls.chunks(URLS_PER_REQUEST) {
            let response = self
                .request(reqwest::Method::POST, "/v1/feeds")
                .json(&json!({ "urls": chunk }))
                .send()
                .await?;
            let body = expect_success(response).await?;
            for result in body["results"]
                .as_array()
                .context("The subscribe answer has no results")?
            {
                match result["status"].as_str() {
                    Some("ready") => summary.ready += 1,
                    Some("pending") => summary.pending += 1,
                    _ => bail!("The engine refused a farm URL: {result}"),
                }
            }
        }
        Ok(summary)
    }

    /// Asks the engine to poll every feed now (the admin route, with a zero age); returns how many it polls.
    pub async fn refresh_all(&self) -> anyhow::Result<u64> {
        let response = self
            .request(reqwest::Method::POST, "/v1/admin/feeds/refresh-stale?older_than=0s")
            .send()
            .await?;
        let body = expect_success(response).await?;
        body["refreshed"].as_u64().context("The refresh answer has no count")
    }

    /// GETs `path` (with its query) and returns the JSON body and how long the request took.
    pub async fn get_timed(&self, path: &str) -> anyhow::Result<(Value, Duration)> {
        let started = Instant::now();
        let body = expect_success(self.request(reqwest::Method::GET, path).send().await?).await?;
        Ok((body, started.elapsed()))
    }

    /// PATCHes `path` with a JSON body and returns the JSON answer.
    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        expect_success(self.request(reqwest::Method::PATCH, path).json(body).send().await?).await
    }

    /// `readers` concurrent readers each fetch `pages` timeline pages, following the cursor and starting over
    /// at the end. Returns every page's latency.
    pub async fn read_timelines(&self, readers: usize, pages: usize) -> anyhow::Result<Vec<Duration>> {
        let tasks: Vec<_> = (0..readers)
            .map(|_| {
                let client = self.clone();
                tokio::spawn(async move { client.read_pages(pages).await })
            })
            .collect();
        let mut latencies = Vec::with_capacity(readers * pages);
        for task in tasks {
            latencies.extend(task.await.context("A reader task failed")??);
        }
        Ok(latencies)
    }

    async fn read_pages(&self, pages: usize) -> anyhow::Result<Vec<Duration>> {
        let mut latencies = Vec::with_capacity(pages);
        let mut cursor: Option<String> = None;
        for _ in 0..pages {
            let mut path = format!("/v1/articles?limit={PAGE_SIZE}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let started = Instant::now();
            let body = expect_success(self.request(reqwest::Method::GET, &path).send().await?).await?;
            latencies.push(started.elapsed());
            cursor = body["next_cursor"].as_str().map(str::to_owned);
        }
        Ok(latencies)
    }
}

/// The JSON body of a 2xx answer, or an error with the status and body.
async fn expect_success(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("The API answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("The API answered {status} with no JSON: {text}"))
}
