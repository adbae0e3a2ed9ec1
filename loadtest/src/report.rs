//! The load test's figures: what one run measured, as a table for people and as JSON for tools.

use std::time::Duration;

use serde_json::{json, Value};

use crate::farm::ResponseCounts;

/// One polling round, as the store and the farm saw it.
#[derive(Debug, Clone, Default)]
pub struct RoundFigures {
    /// Until every healthy feed was done: its entries stored (cold), or polled and its new entries stored (warm).
    pub elapsed: Duration,
    /// Until every feed, the broken ones too, had its poll recorded: the stalling feeds' fetch timeout included.
    pub all_polled_elapsed: Duration,
    /// The healthy feeds, which the round's feeds/s counts.
    pub feeds: usize,
    pub articles_stored: i64,
    pub responses: ResponseCounts,
    /// Per feed: time from the round's start to the farm receiving its first request.
    pub first_request_p50: Duration,
    pub first_request_p99: Duration,
    /// Polls in the round that got a feed (200) or a 304, as their actors timed them: from the poll's start,
    /// waiting for a fetch slot included, to the parsed answer. Millisecond resolution.
    pub polls_answered: usize,
    pub poll_p50: Duration,
    pub poll_p99: Duration,
}

impl RoundFigures {
    pub fn feeds_per_second(&self) -> f64 {
        per_second(self.feeds as f64, self.elapsed)
    }

    pub fn articles_per_second(&self) -> f64 {
        per_second(self.articles_stored as f64, self.elapsed)
    }

    fn to_json(&self) -> Value {
        json!({
            "seconds": self.elapsed.as_secs_f64(),
            "all_feeds_polled_seconds": self.all_polled_elapsed.as_secs_f64(),
            "feeds": self.feeds,
            "feeds_per_second": self.feeds_per_second(),
            "articles_stored": self.articles_stored,
            "articles_per_second": self.articles_per_second(),
            "responses_200": self.responses.full,
            "responses_304": self.responses.not_modified,
            "responses_broken": self.responses.broken,
            "first_request_p50_ms": millis(self.first_request_p50),
            "first_request_p99_ms": millis(self.first_request_p99),
            "polls_answered": self.polls_answered,
            "poll_p50_ms": millis(self.poll_p50),
            "poll_p99_ms": millis(self.poll_p99),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub database: String,
    pub feeds: usize,
    pub healthy_feeds: usize,
    pub entries: usize,
    pub change_share: f64,
    pub max_fetches: usize,
    pub subscribe_requests_elapsed: Duration,
    pub cold: RoundFigures,
    pub warm: RoundFigures,
    pub resident_after_cold: u64,
    pub startup_elapsed: Duration,
    pub startup_actors: usize,
    pub resident_after_startup: u64,
    pub timeline_readers: usize,
    pub timeline_pages: usize,
    pub timeline_elapsed: Duration,
    pub timeline_p50: Duration,
    pub timeline_p99: Duration,
}

fn per_second(count: f64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        count / elapsed.as_secs_f64()
    }
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The value at quantile `q` (0..=1) of `samples`, nearest rank; zero when there are none.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

impl Report {
    pub fn to_json(&self) -> Value {
        json!({
            "database": self.database,
            "feeds": self.feeds,
            "healthy_feeds": self.healthy_feeds,
            "entries_per_feed": self.entries,
            "change_share": self.change_share,
            "max_fetches": self.max_fetches,
            "subscribe_requests_seconds": self.subscribe_requests_elapsed.as_secs_f64(),
            "cold": self.cold.to_json(),
            "warm": self.warm.to_json(),
            "resident_bytes_after_cold": self.resident_after_cold,
            "resident_bytes_per_feed_after_cold": self.resident_after_cold / self.feeds.max(1) as u64,
            "startup_seconds": self.startup_elapsed.as_secs_f64(),
            "startup_actors": self.startup_actors,
            "resident_bytes_after_startup": self.resident_after_startup,
            "timeline_readers": self.timeline_readers,
            "timeline_pages": self.timeline_pages,
            "timeline_pages_per_second": per_second(self.timeline_pages as f64, self.timeline_elapsed),
            "timeline_p50_ms": millis(self.timeline_p50),
            "timeline_p99_ms": millis(self.timeline_p99),
        })
    }

    /// The figures as a two-column table.
    pub fn table(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let rows = [
            ("database", self.database.clone()),
            ("feeds (healthy)", format!("{} ({})", self.feeds, self.healthy_feeds)),
            ("entries per feed", self.entries.to_string()),
            ("max fetches in flight", self.max_fetches.to_string()),
            (
                "subscribe requests",
                format!("{:.2} s", self.subscribe_requests_elapsed.as_secs_f64()),
            ),
            ("cold round", round_line(&self.cold)),
            ("cold first request p50 / p99", latency_line(&self.cold)),
            ("cold poll duration p50 / p99", poll_line(&self.cold)),
            ("warm round", round_line(&self.warm)),
            ("warm first request p50 / p99", latency_line(&self.warm)),
            ("warm poll duration p50 / p99", poll_line(&self.warm)),
            (
                "warm responses 200 / 304 / broken",
                responses_line(&self.warm.responses),
            ),
            (
                "resident after cold round",
                format!(
                    "{:.1} MiB ({:.1} KiB per feed)",
                    mib(self.resident_after_cold),
                    self.resident_after_cold as f64 / 1024.0 / self.feeds.max(1) as f64
                ),
            ),
            (
                "second engine start-up",
                format!(
                    "{:.2} s to {} running actors",
                    self.startup_elapsed.as_secs_f64(),
                    self.startup_actors
                ),
            ),
            (
                "resident after start-up",
                format!("{:.1} MiB", mib(self.resident_after_startup)),
            ),
            (
                "timeline pages p50 / p99",
                format!(
                    "{:.1} ms / {:.1} ms ({} readers, {} pages, {:.0} pages/s)",
                    millis(self.timeline_p50),
                    millis(self.timeline_p99),
                    self.timeline_readers,
                    self.timeline_pages,
                    per_second(self.timeline_pages as f64, self.timeline_elapsed)
                ),
            ),
        ];
        two_columns(&rows)
    }
}

/// Rows of (name, value) as a table with the names padded to one width.
pub(crate) fn two_columns(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(name, value)| format!("{name:<width$}  {value}\n"))
        .collect()
}

fn round_line(round: &RoundFigures) -> String {
    format!(
        "{:.2} s: {} feeds, {:.0} feeds/s; {} articles, {:.0} articles/s; broken ones too by {:.2} s",
        round.elapsed.as_secs_f64(),
        round.feeds,
        round.feeds_per_second(),
        round.articles_stored,
        round.articles_per_second(),
        round.all_polled_elapsed.as_secs_f64()
    )
}

fn latency_line(round: &RoundFigures) -> String {
    format!(
        "{:.0} ms / {:.0} ms",
        millis(round.first_request_p50),
        millis(round.first_request_p99)
    )
}

fn poll_line(round: &RoundFigures) -> String {
    format!(
        "{:.0} ms / {:.0} ms ({} answered polls)",
        millis(round.poll_p50),
        millis(round.poll_p99),
        round.polls_answered
    )
}

fn responses_line(responses: &ResponseCounts) -> String {
    format!("{} / {} / {}", responses.full, responses.not_modified, responses.broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&mut samples, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&mut samples, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&mut [], 0.5), Duration::ZERO);
    }
}
