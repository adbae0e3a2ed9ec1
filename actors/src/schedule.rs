//! Poll schedule math: jittered intervals, error backoff and start-up spreading. Pure, so it is tested alone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// The longest any feed waits between polls, errors included.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Time between two polls of a healthy feed.
    pub interval: Duration,
    /// Fraction of the delay added or removed at random, so feeds do not poll in lockstep.
    pub jitter_ratio: f64,
    /// Feeds that are overdue at start-up are spread over this window instead of all polling at once.
    pub startup_spread: Duration,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            interval: Duration::from_secs(30 * 60),
            jitter_ratio: 0.1,
            startup_spread: Duration::from_secs(60),
        }
    }
}

/// `delay` moved at random by up to ±`ratio` of itself.
pub fn with_jitter(delay: Duration, ratio: f64, rng: &mut impl Rng) -> Duration {
    if ratio <= 0.0 || delay.is_zero() {
        return delay;
    }
    let factor = 1.0 + rng.random_range(-ratio..=ratio);
    delay.mul_f64(factor.max(0.0))
}

impl ScheduleSettings {
    /// Delay before the next poll of a healthy feed.
    pub fn next_delay(&self, rng: &mut impl Rng) -> Duration {
        with_jitter(self.interval, self.jitter_ratio, rng).min(MAX_DELAY)
    }

    /// Delay after the `consecutive_errors`-th failure in a row: the interval doubled for each earlier
    /// failure, capped at 24 h.
    pub fn delay_after_errors(&self, consecutive_errors: u32, rng: &mut impl Rng) -> Duration {
        let doublings = consecutive_errors.saturating_sub(1).min(20);
        let backoff = self
            .interval
            .saturating_mul(1u32 << doublings)
            .min(MAX_DELAY);
        with_jitter(backoff, self.jitter_ratio, rng).min(MAX_DELAY)
    }

    /// Delay before the first poll after an actor starts: what is left of its stored schedule, or a random
    /// point in the start-up window when it is overdue or was never polled.
    pub fn delay_at_start(
        &self,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Duration {
        match next_poll_at
            .map(|at| at - now)
            .and_then(|left| left.to_std().ok())
        {
            Some(left) if !left.is_zero() => left.min(MAX_DELAY),
            _ if self.startup_spread.is_zero() => Duration::ZERO,
            _ => self.startup_spread.mul_f64(rng.random_range(0.0..1.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn settings() -> ScheduleSettings {
        ScheduleSettings {
            interval: Duration::from_secs(1800),
            jitter_ratio: 0.1,
            startup_spread: Duration::from_secs(60),
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..1000).map(|_| settings().next_delay(&mut rng)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= Duration::from_secs(1620) && *d <= Duration::from_secs(1980)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 900,
            "jitter should spread polls, got {} distinct delays",
            distinct.len()
        );
    }

    #[test]
    fn errors_back_off_exponentially_up_to_a_day() {
        let no_jitter = ScheduleSettings {
            jitter_ratio: 0.0,
            ..settings()
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            no_jitter.delay_after_errors(1, &mut rng),
            Duration::from_secs(1800)
        );
        assert_eq!(
            no_jitter.delay_after_errors(2, &mut rng),
            Duration::from_secs(3600)
        );
        assert_eq!(
            no_jitter.delay_after_errors(3, &mut rng),
            Duration::from_secs(7200)
        );
        assert_eq!(no_jitter.delay_after_errors(10, &mut rng), MAX_DELAY);
        assert_eq!(no_jitter.delay_after_errors(u32::MAX, &mut rng), MAX_DELAY);
        assert!(settings().delay_after_errors(40, &mut rng) <= MAX_DELAY);
    }

    #[test]
    fn start_resumes_the_stored_schedule() {
        let mut rng = StdRng::seed_from_u64(3);
        let now = Utc::now();
        let due_in_three_hours = now + chrono::Duration::hours(3);
        assert_eq!(
            settings().delay_at_start(Some(due_in_three_hours), now, &mut rng),
            Duration::from_secs(3 * 3600)
        );
    }

    #[test]
    fn overdue_and_new_feeds_are_spread_over_the_startup_window() {
        let mut rng = StdRng::seed_from_u64(4);
        let now = Utc::now();
        let overdue = Some(now - chrono::Duration::hours(5));
        let delays: Vec<Duration> = (0..200)
            .map(|_| settings().delay_at_start(overdue, now, &mut rng))
            .collect();
        assert!(delays.iter().all(|d| *d < Duration::from_secs(60)));
        assert!(
            delays.iter().any(|d| *d > Duration::from_secs(30)),
            "spread should use the whole window"
        );
        assert!(settings().delay_at_start(None, now, &mut rng) < Duration::from_secs(60));
        let immediate = ScheduleSettings {
            startup_spread: Duration::ZERO,
            ..settings()
        };
        assert_eq!(
            immediate.delay_at_start(None, now, &mut rng),
            Duration::ZERO
        );
    }
}
