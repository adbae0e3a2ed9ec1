//! Poll lateness against the engine's own schedule: every `next_poll_at` the engine recorded for a traced feed,
//! paired with the farm's request that carried it out. Pure, so it is tested alone.
//!
//! The engine jitters each delay by up to ±10%, so the gap between two requests of a feed says nothing about
//! lateness at the second's scale; the recorded intent does. A feed's first poll has no recorded intent (the
//! engine picks it in memory at start-up), so lateness is measured from its second poll on.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::arrivals::Arrival;

/// How late the polls of the traced feeds came, in seconds (negative: early).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lateness {
    /// One per intent due within the window: its request's arrival minus the intent, in seconds. An intent
    /// with no request by the end of the window counts with the end minus the intent, a lower bound.
    pub seconds: Vec<f64>,
    /// Intents due within the window that had no request by its end.
    pub unserved: usize,
}

/// Pairs each intent of `intents` (per feed index, every `next_poll_at` seen) that falls due within `window` with
/// the feed's first arrival after the intent minus half the `interval`.
///
/// Half an interval back is safe both ways: the request before it came before the intent was recorded, so at
/// least 0.9 interval before the intent, and no request of the feed comes in between, however late the one that
/// carries the intent out (nothing but the schedule polls in this scenario).
pub fn measure(
    intents: &HashMap<usize, BTreeSet<DateTime<Utc>>>,
    arrivals: &[Arrival],
    interval: Duration,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Lateness {
    let (start, end) = window;
    let mut by_feed: HashMap<usize, Vec<DateTime<Utc>>> = HashMap::new();
    for arrival in arrivals {
        by_feed.entry(arrival.feed).or_default().push(arrival.at);
    }
    for times in by_feed.values_mut() {
        times.sort_unstable();
    }
    let look_back = chrono::Duration::from_std(interval / 2).unwrap_or(chrono::Duration::MAX);
    let mut lateness = Lateness::default();
    for (feed, due) in intents {
        let times = by_feed.get(feed).map(Vec::as_slice).unwrap_or_default();
        for intent in due.iter().filter(|intent| **intent >= start && **intent <= end) {
            let earliest = *intent - look_back;
            let served = times[times.partition_point(|at| *at < earliest)..].first();
            let seconds = match served {
                Some(at) => seconds_between(*intent, *at),
                None => {
                    lateness.unserved += 1;
                    seconds_between(*intent, end)
                }
            };
            lateness.seconds.push(seconds);
        }
    }
    lateness
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// The value at quantile `q` (0..=1) of `samples`, nearest rank, as `report::quantile` but signed; zero when
/// there are none.
pub fn quantile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable_by(f64::total_cmp);
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(300);

    fn at(seconds: f64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_800_000_000_000_000 + (seconds * 1e6) as i64).unwrap()
    }

    fn arrival(feed: usize, seconds: f64) -> Arrival {
        Arrival { feed, at: at(seconds) }
    }

    fn intents(feed: usize, seconds: &[f64]) -> HashMap<usize, BTreeSet<DateTime<Utc>>> {
        HashMap::from([(feed, seconds.iter().map(|second| at(*second)).collect())])
    }

    #[test]
    fn each_intent_is_served_by_the_first_request_after_it() {
        // Requests at 0, 300.5 and 601: the intents recorded after the first two were 300 and 600.
        let arrivals = [arrival(7, 0.0), arrival(7, 300.5), arrival(7, 601.0), arrival(8, 300.0)];
        let measured = measure(&intents(7, &[300.0, 600.0]), &arrivals, INTERVAL, (at(0.0), at(900.0)));
        assert_eq!(measured.seconds, vec![0.5, 1.0]);
        assert_eq!(measured.unserved, 0);
    }

    #[test]
    fn a_request_far_later_than_its_intent_is_still_paired_with_it() {
        let arrivals = [arrival(1, 0.0), arrival(1, 420.0)];
        let measured = measure(&intents(1, &[290.0]), &arrivals, INTERVAL, (at(0.0), at(900.0)));
        assert_eq!(measured.seconds, vec![130.0]);
    }

    #[test]
    fn a_slightly_early_request_counts_as_negative_lateness() {
        let arrivals = [arrival(1, 0.0), arrival(1, 299.998)];
        let measured = measure(&intents(1, &[300.0]), &arrivals, INTERVAL, (at(0.0), at(900.0)));
        assert!((measured.seconds[0] + 0.002).abs() < 1e-9, "{measured:?}");
    }

    #[test]
    fn an_intent_not_served_by_the_end_counts_as_late_as_the_end() {
        let arrivals = [arrival(1, 0.0)];
        let measured = measure(&intents(1, &[300.0]), &arrivals, INTERVAL, (at(0.0), at(310.0)));
        assert_eq!(measured.seconds, vec![10.0]);
        assert_eq!(measured.unserved, 1);
    }

    #[test]
    fn intents_due_outside_the_window_are_left_out() {
        let arrivals = [arrival(1, 0.0), arrival(1, 300.0), arrival(1, 600.0)];
        let measured = measure(
            &intents(1, &[300.0, 600.0]),
            &arrivals,
            INTERVAL,
            (at(301.0), at(590.0)),
        );
        assert!(measured.seconds.is_empty(), "{measured:?}");
        assert_eq!(measured.unserved, 0);
    }

    #[test]
    fn signed_quantiles_use_the_nearest_rank() {
        let mut samples: Vec<f64> = (-50..50).map(f64::from).collect();
        assert_eq!(quantile(&mut samples, 0.5), -1.0);
        assert_eq!(quantile(&mut samples, 0.99), 48.0);
        assert_eq!(quantile(&mut [], 0.5), 0.0);
    }
}
