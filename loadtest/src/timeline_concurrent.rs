//! The timeline-read scenario's concurrent phase: readers of one user's first page at once, where one request in
//! `write_every` marks an article of that page read or unread instead (which drops the cached page), and the
//! timeline cache's hits and misses over the phase, from `/metrics`.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::driver::ApiClient;
use crate::scraped::Scrape;
use crate::timeline_read::{latency_of, ReadLatency};

/// The first page with the API's defaults but an explicit limit, as the sequential phase reads it.
const FIRST_PAGE: &str = "/v1/articles?limit=50";

#[derive(Debug, Clone, Copy, Default)]
pub struct ConcurrentReads {
    pub readers: usize,
    pub reads: usize,
    pub writes: usize,
    pub elapsed: Duration,
    pub latency: ReadLatency,
    /// Growth of the timeline cache's counters over the phase.
    pub hits: f64,
    pub misses: f64,
}

impl ConcurrentReads {
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0.0 {
            0.0
        } else {
            self.hits / lookups
        }
    }
}

pub async fn read_first_pages(
    client: &ApiClient,
    metrics_url: &str,
    readers: usize,
    requests_per_reader: usize,
    write_every: usize,
) -> anyhow::Result<ConcurrentReads> {
    let before = cache_counters(metrics_url).await?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..readers)
        .map(|reader| {
            let client = client.clone();
            tokio::spawn(async move { one_reader(&client, reader, requests_per_reader, write_every).await })
        })
        .collect();
    let mut latencies = Vec::with_capacity(readers * requests_per_reader);
    let mut writes = 0;
    for task in tasks {
        let (read, written) = task.await.context("A reader task failed")??;
        latencies.extend(read);
        writes += written;
    }
    let elapsed = started.elapsed();
    let after = cache_counters(metrics_url).await?;
    Ok(ConcurrentReads {
        readers,
        reads: latencies.len(),
        writes,
        elapsed,
        latency: latency_of(&mut latencies),
        hits: after.0 - before.0,
        misses: after.1 - before.1,
    })
}

/// One reader's read latencies and how many writes it made.
async fn one_reader(
    client: &ApiClient,
    reader: usize,
    requests: usize,
    write_every: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut latencies = Vec::with_capacity(requests);
    let mut writes = 0;
    let mut last_page: Option<serde_json::Value> = None;
    for request in 1..=requests {
        let write = write_every > 0 && request % write_every == 0;
        match (&last_page, write) {
            (Some(page), true) => {
                let articles = page["articles"].as_array().context("The first page has no articles")?;
                anyhow::ensure!(!articles.is_empty(), "The first page is empty: nothing to mark read");
                let article = &articles[reader % articles.len()];
                let id = article["id"].as_i64().context("An article has no id")?;
                let read = article["read"].as_bool().context("An article has no read flag")?;
                client
                    .patch(&format!("/v1/articles/{id}"), &json!({ "read": !read }))
                    .await?;
                writes += 1;
            }
            _ => {
                let (body, elapsed) = client.get_timed(FIRST_PAGE).await?;
                latencies.push(elapsed);
                last_page = Some(body);
            }
        }
    }
    Ok((latencies, writes))
}

/// The timeline cache's hit and miss counters.
async fn cache_counters(metrics_url: &str) -> anyhow::Result<(f64, f64)> {
    let metrics = Scrape::read(metrics_url).await?;
    Ok((
        metrics.value("syndic_timeline_cache_hits_total"),
        metrics.value("syndic_timeline_cache_misses_total"),
    ))
}
