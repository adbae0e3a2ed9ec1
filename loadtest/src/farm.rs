//! The load test's feed farm: N generated feeds behind one loopback listener. It honours ETag and
//! Last-Modified, lets a share of the feeds gain entries at each round, serves a few broken ones, and records
//! when each feed is first requested in a round (the poll latency the report shows), how often each feed was
//! requested, and when each of the traced feeds was (`arrivals`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use poem::http::StatusCode;
use poem::{Request, Response};

use syndic_testkit::documents::{numbered, Format};
use syndic_testkit::feed_server;

use crate::arrivals::{Arrival, ArrivalLog};

#[derive(Debug, Clone)]
pub struct FarmSettings {
    pub feeds: usize,
    /// Entries in every document.
    pub entries: usize,
    /// Share of the healthy feeds that gain `new_entries` at each round.
    pub change_share: f64,
    /// Share of all feeds that answer 500, garbage, or only after `stall`.
    pub broken_share: f64,
    pub new_entries: usize,
    /// How long a stalling feed waits before answering; longer than the engine's fetch timeout.
    pub stall: Duration,
}

/// What one feed of the farm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Healthy(Format),
    /// Answers 500.
    Failing,
    /// Answers 200 with an HTML page.
    Garbage,
    /// Answers 503 only after the stall, so a client with a shorter timeout gives up first.
    Stalling,
}

/// Responses the farm gave in the current round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseCounts {
    pub full: u64,
    pub not_modified: u64,
    pub broken: u64,
}

struct FarmState {
    settings: FarmSettings,
    epoch: Instant,
    /// Per feed: how many times its window has moved.
    generations: Vec<AtomicU32>,
    round: AtomicU32,
    round_started: AtomicU64,
    /// Per feed: nanoseconds since `epoch` (plus one; 0 = not yet) of its first request in this round.
    first_request: Vec<AtomicU64>,
    /// Per feed: requests since the farm started, every round together.
    requests: Vec<AtomicU32>,
    arrivals: ArrivalLog,
    full: AtomicU64,
    not_modified: AtomicU64,
    broken: AtomicU64,
}

pub struct Farm {
    address: SocketAddr,
    state: Arc<FarmState>,
}

/// A well-mixed 64-bit hash (splitmix64), so that broken and changing feeds are spread over the index range.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fraction in [0, 1) that is fixed for one (feed, salt) pair.
fn fraction(feed: usize, salt: u64) -> f64 {
    (mix(feed as u64 ^ salt) >> 11) as f64 / (1u64 << 53) as f64
}

impl FarmSettings {
    pub fn kind(&self, feed: usize) -> FeedKind {
        if fraction(feed, 0xB40C) < self.broken_share {
            return match mix(feed as u64) % 3 {
                0 => FeedKind::Failing,
                1 => FeedKind::Garbage,
                _ => FeedKind::Stalling,
            };
        }
        FeedKind::Healthy(match feed % 3 {
            0 => Format::Rss,
            1 => Format::Atom,
            _ => Format::JsonFeed,
        })
    }

    /// Whether a healthy feed gains entries in the given round (round 1 is the first change).
    pub fn changes_in(&self, feed: usize, round: u32) -> bool {
        matches!(self.kind(feed), FeedKind::Healthy(_)) && fraction(feed, 0xC4A6 + u64::from(round)) < self.change_share
    }

    pub fn healthy_feeds(&self) -> usize {
        (0..self.feeds)
            .filter(|feed| matches!(self.kind(*feed), FeedKind::Healthy(_)))
            .count()
    }

    pub fn path(&self, feed: usize) -> String {
        let extension = match self.kind(feed) {
            FeedKind::Healthy(format) => format.extension(),
            _ => "xml",
        };
        format!("/feeds/{feed}.{extension}")
    }
}

impl Farm {
    /// Serves the farm on `127.0.0.1:port` (0: any free port) until the runtime stops.
    pub async fn start(settings: FarmSettings, port: u16) -> anyhow::Result<Farm> {
        let feeds = settings.feeds;
        let state = Arc::new(FarmState {
            settings,
            epoch: Instant::now(),
            generations: (0..feeds).map(|_| AtomicU32::new(0)).collect(),
            round: AtomicU32::new(0),
            round_started: AtomicU64::new(0),
            first_request: (0..feeds).map(|_| AtomicU64::new(0)).collect(),
            requests: (0..feeds).map(|_| AtomicU32::new(0)).collect(),
            arrivals: ArrivalLog::new(feeds),
            full: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            broken: AtomicU64::new(0),
        });
        let endpoint_state = state.clone();
        let endpoint = poem::endpoint::make(move |request: Request| {
            let state = endpoint_state.clone();
            async move { Ok::<_, poem::Error>(serve(&state, &request).await) }
        });
        let address = feed_server::serve(port, endpoint)
            .await
            .context("Failed to start the feed farm")?;
        Ok(Farm { address, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn settings(&self) -> &FarmSettings {
        &self.state.settings
    }

    /// Every feed's URL, in index order.
    pub fn urls(&self) -> Vec<String> {
        (0..self.state.settings.feeds)
            .map(|feed| format!("http://{}{}", self.address, self.state.settings.path(feed)))
            .collect()
    }

    /// Whether a farm URL is one of its healthy feeds.
    pub fn is_healthy(&self, url: &str) -> bool {
        let path = url
            .strip_prefix(&format!("http://{}", self.address))
            .unwrap_or_default();
        feed_index(path, self.state.settings.feeds)
            .is_some_and(|feed| matches!(self.state.settings.kind(feed), FeedKind::Healthy(_)))
    }

    /// Moves the changing feeds' windows on; returns how many new entries the farm now offers in all.
    pub fn advance(&self) -> usize {
        self.state.advance()
    }

    /// Starts timing a round: clears the per-feed first-request times and the response counts.
    pub fn start_round(&self) {
        self.state.start_round();
    }

    pub fn responses(&self) -> ResponseCounts {
        ResponseCounts {
            full: self.state.full.load(Ordering::Relaxed),
            not_modified: self.state.not_modified.load(Ordering::Relaxed),
            broken: self.state.broken.load(Ordering::Relaxed),
        }
    }

    /// How many times each feed was requested since the farm started, in index order.
    pub fn requests_per_feed(&self) -> Vec<u32> {
        self.state
            .requests
            .iter()
            .map(|requests| requests.load(Ordering::Relaxed))
            .collect()
    }

    /// From now on, logs when each of these feeds (indexes) is requested.
    pub fn trace(&self, feeds: impl IntoIterator<Item = usize>) {
        self.state.arrivals.trace(feeds);
    }

    /// The arrivals logged for the traced feeds so far, in the order they came.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.arrivals.logged()
    }

    /// For each feed requested since the round started: how long after the start its first request came.
    pub fn first_request_delays(&self) -> Vec<Duration> {
        let started = self.state.round_started.load(Ordering::Relaxed);
        self.state
            .first_request
            .iter()
            .map(|at| at.load(Ordering::Relaxed))
            .filter(|at| *at != 0)
            .map(|at| Duration::from_nanos((at - 1).saturating_sub(started)))
            .collect()
    }
}

impl FarmState {
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn advance(&self) -> usize {
        let round = self.round.fetch_add(1, Ordering::Relaxed) + 1;
        let mut added = 0;
        for (feed, generation) in self.generations.iter().enumerate() {
            if self.settings.changes_in(feed, round) {
                generation.fetch_add(1, Ordering::Relaxed);
                added += self.settings.new_entries;
            }
        }
        added
    }

    fn start_round(&self) {
        for at in &self.first_request {
            at.store(0, Ordering::Relaxed);
        }
        for counter in [&self.full, &self.not_modified, &self.broken] {
            counter.store(0, Ordering::Relaxed);
        }
        self.round_started.store(self.now_nanos(), Ordering::Relaxed);
    }
}

/// A feed's ETag while it is at `generation` (0 until it first changes); `seed::seed_polled_feeds` writes the
/// first one in SQL.
pub fn etag(feed: usize, generation: u32) -> String {
    format!("\"{feed}-{generation}\"")
}

/// The feed index in `/feeds/{index}.{extension}`.
fn feed_index(path: &str, feeds: usize) -> Option<usize> {
    let name = path.strip_prefix("/feeds/")?;
    let (index, _) = name.split_once('.')?;
    index.parse().ok().filter(|index| *index < feeds)
}

async fn serve(state: &FarmState, request: &Request) -> Response {
    let settings = &state.settings;
    let path = request.uri().path();
    if path == "/feeds.txt" {
        return feed_list(state, request);
    }
    if path == "/advance" && request.method() == poem::http::Method::POST {
        return Response::builder().body(format!("{}\n", state.advance()));
    }
    let Some(feed) = feed_index(path, settings.feeds) else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("no such feed");
    };
    let _ = state.first_request[feed].compare_exchange(0, state.now_nanos() + 1, Ordering::Relaxed, Ordering::Relaxed);
    state.requests[feed].fetch_add(1, Ordering::Relaxed);
    state.arrivals.record(feed);
    match settings.kind(feed) {
        FeedKind::Healthy(format) => serve_feed(state, request, feed, format),
        broken => {
            state.broken.fetch_add(1, Ordering::Relaxed);
            serve_broken(broken, settings.stall).await
        }
    }
}

fn feed_list(state: &FarmState, request: &Request) -> Response {
    let host = request
        .headers()
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or("127.0.0.1");
    let list: String = (0..state.settings.feeds)
        .map(|feed| format!("http://{host}{}\n", state.settings.path(feed)))
        .collect();
    Response::builder().content_type("text/plain").body(list)
}

fn serve_feed(state: &FarmState, request: &Request, feed: usize, format: Format) -> Response {
    let generation = state.generations[feed].load(Ordering::Relaxed);
    let etag = etag(feed, generation);
    let modified = numbered::published_at(generation as usize)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); the dates are exact, so equality suffices.
    let unchanged = match header("if-none-match") {
        Some(tags) => tags.split(',').any(|tag| tag.trim() == etag),
        None => header("if-modified-since") == Some(modified.as_str()),
    };
    if unchanged {
        state.not_modified.fetch_add(1, Ordering::Relaxed);
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", etag)
            .header("last-modified", modified)
            .finish();
    }
    state.full.fetch_add(1, Ordering::Relaxed);
    let first = generation as usize * state.settings.new_entries;
    let body = numbered::document(format, feed, first, state.settings.entries);
    Response::builder()
        .content_type(format.content_type())
        .header("etag", etag)
        .header("last-modified", modified)
        .body(body)
}

async fn serve_broken(kind: FeedKind, stall: Duration) -> Response {
    match kind {
        // Not HTML: a page would be looked through for feeds at subscribe time and refused with "no feed found";
        // a broken document is subscribed to, and its polls fail.
        FeedKind::Garbage => Response::builder()
            .content_type("application/rss+xml")
            .body("This is not a feed."),
        FeedKind::Stalling => {
            tokio::time::sleep(stall).await;
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body("too late")
        }
        _ => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body("broken on purpose"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(feeds: usize) -> FarmSettings {
        FarmSettings {
            feeds,
            entries: 20,
            change_share: 0.1,
            broken_share: 0.01,
            new_entries: 5,
            stall: Duration::from_secs(5),
        }
    }

    #[test]
    fn broken_and_changing_feeds_are_near_their_shares() {
        let farm = settings(10_000);
        let kinds: Vec<FeedKind> = (0..10_000).map(|feed| farm.kind(feed)).collect();
        let broken = 10_000 - farm.healthy_feeds();
        assert!((70..=130).contains(&broken), "{broken} broken");
        for kind in [FeedKind::Failing, FeedKind::Garbage, FeedKind::Stalling] {
            assert!(kinds.contains(&kind), "no {kind:?}");
        }
        let changing = (0..10_000).filter(|feed| farm.changes_in(*feed, 1)).count();
        assert!((850..=1150).contains(&changing), "{changing} changing");
    }

    #[test]
    fn paths_round_trip_to_indexes() {
        let farm = settings(100);
        for feed in [0, 1, 2, 99] {
            assert_eq!(feed_index(&farm.path(feed), 100), Some(feed));
        }
        assert_eq!(feed_index("/feeds/100.rss", 100), None);
        assert_eq!(feed_index("/other", 100), None);
    }
}
