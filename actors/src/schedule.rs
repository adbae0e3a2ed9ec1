//! Poll schedule math: adaptive intervals from how often a feed publishes, publisher hints, jitter, error
//! backoff and start-up spreading. Pure, so it is tested alone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// The window over which publishing frequency is measured.
const MEASURE_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Interval of a feed whose frequency cannot be measured (no dated entries yet).
    pub interval: Duration,
    /// Shortest interval, whatever the feed or its publisher say.
    pub min_interval: Duration,
    /// Longest interval, errors and hints included: every feed is checked at least this often.
    pub max_interval: Duration,
    /// Fraction of the delay added or removed at random, so feeds do not poll in lockstep.
    pub jitter_ratio: f64,
    /// Feeds that are overdue at start-up are spread over this window instead of all polling at once.
    pub startup_spread: Duration,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            interval: Duration::from_secs(30 * 60),
            min_interval: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
            jitter_ratio: 0.1,
            startup_spread: Duration::from_secs(60),
        }
    }
}

/// Why an interval was chosen; operators see it per feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalReason {
    /// No dated entries to measure: the configured interval.
    Default,
    /// Measured from the feed's recent entries.
    Adaptive,
    /// The feed's RSS `<ttl>`.
    Ttl,
    /// `Cache-Control: max-age`.
    MaxAge,
    /// `Expires`.
    Expires,
    /// `Retry-After` on a 429 or 503.
    RetryAfter,
    /// Consecutive errors.
    Backoff,
}

impl IntervalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalReason::Default => "default",
            IntervalReason::Adaptive => "adaptive",
            IntervalReason::Ttl => "ttl",
            IntervalReason::MaxAge => "max-age",
            IntervalReason::Expires => "expires",
            IntervalReason::RetryAfter => "retry-after",
            IntervalReason::Backoff => "backoff",
        }
    }
}

/// An interval and why; `delay` adds jitter to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollInterval {
    pub interval: Duration,
    pub reason: IntervalReason,
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
    fn clamp(&self, interval: Duration) -> Duration {
        interval
            .max(self.min_interval)
            .min(self.max_interval.max(self.min_interval))
    }

    /// About a week's worth of time divided by the number of entries published in the last week.
    pub fn adaptive_interval(&self, published: &[DateTime<Utc>], now: DateTime<Utc>) -> PollInterval {
        if published.is_empty() {
            return PollInterval {
                interval: self.clamp(self.interval),
                reason: IntervalReason::Default,
            };
        }
        let window = chrono::Duration::from_std(MEASURE_WINDOW).unwrap_or(chrono::Duration::MAX);
        let recent = published
            .iter()
            .filter(|at| **at > now - window && **at <= now + chrono::Duration::hours(1))
            .count();
        let interval = match recent {
            0 => self.max_interval,
            count => MEASURE_WINDOW / count as u32,
        };
        PollInterval {
            interval: self.clamp(interval),
            reason: IntervalReason::Adaptive,
        }
    }

    /// The interval after a successful poll: the measured one, raised (never lowered) by the publisher's
    /// hints, within the bounds.
    pub fn with_hints(&self, measured: PollInterval, hints: &[(Option<Duration>, IntervalReason)]) -> PollInterval {
        hints
            .iter()
            .filter_map(|(hint, reason)| hint.map(|hint| (self.clamp(hint), *reason)))
            .filter(|(hint, _)| *hint > measured.interval)
            .max_by_key(|(hint, _)| *hint)
            .map_or(measured, |(interval, reason)| PollInterval { interval, reason })
    }

    /// The interval after the `consecutive_errors`-th failure in a row: the feed's interval doubled for each
    /// earlier failure, capped at the maximum, or the publisher's Retry-After when that is longer.
    pub fn after_errors(&self, base: Duration, consecutive_errors: u32, retry_after: Option<Duration>) -> PollInterval {
        let doublings = consecutive_errors.saturating_sub(1).min(20);
        let backoff = self
            .clamp(base)
            .saturating_mul(1u32 << doublings)
            .min(self.max_interval);
        match retry_after.map(|hint| self.clamp(hint)) {
            Some(hint) if hint > backoff => PollInterval {
                interval: hint,
                reason: IntervalReason::RetryAfter,
            },
            _ => PollInterval {
                interval: backoff,
                reason: IntervalReason::Backoff,
            },
        }
    }

    /// The jittered delay for an interval, never past the maximum.
    pub fn delay(&self, interval: Duration, rng: &mut impl Rng) -> Duration {
        with_jitter(interval, self.jitter_ratio, rng).min(self.max_interval.max(self.min_interval))
    }

    /// Delay before the first poll after an actor starts: what is left of its stored schedule, or a random
    /// point in the start-up window when it is overdue or was never polled.
    pub fn delay_at_start(
        &self,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Duration {
        match next_poll_at.map(|at| at - now).and_then(|left| left.to_std().ok()) {
            Some(left) if !left.is_zero() => left.min(self.max_interval),
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

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn settings() -> ScheduleSettings {
        ScheduleSettings {
            interval: 30 * MINUTE,
            min_interval: 5 * MINUTE,
            max_interval: 24 * HOUR,
            jitter_ratio: 0.1,
            startup_spread: MINUTE,
        }
    }

    fn entries_every(spacing: chrono::Duration, count: i32, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        (0..count).map(|n| now - spacing * n).collect()
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..1000).map(|_| settings().delay(30 * MINUTE, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d >= 27 * MINUTE && *d <= 33 * MINUTE));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 900,
            "jitter should spread polls, got {} distinct delays",
            distinct.len()
        );
    }

    #[test]
    fn adaptive_interval_is_a_week_divided_by_last_weeks_entries() {
        let now = Utc::now();
        // 14 entries in the last week: one every 12 hours.
        let twice_a_day = entries_every(chrono::Duration::hours(12), 14, now);
        assert_eq!(
            settings().adaptive_interval(&twice_a_day, now),
            PollInterval {
                interval: 12 * HOUR,
                reason: IntervalReason::Adaptive
            }
        );
        // Very busy feeds are held at the minimum, quiet ones at the maximum.
        let busy = entries_every(chrono::Duration::minutes(1), 3000, now);
        assert_eq!(settings().adaptive_interval(&busy, now).interval, 5 * MINUTE);
        let stale = entries_every(chrono::Duration::days(30), 5, now - chrono::Duration::days(10));
        assert_eq!(settings().adaptive_interval(&stale, now).interval, 24 * HOUR);
        // Undated feeds use the configured interval.
        assert_eq!(
            settings().adaptive_interval(&[], now),
            PollInterval {
                interval: 30 * MINUTE,
                reason: IntervalReason::Default
            }
        );
    }

    #[test]
    fn hints_raise_the_interval_but_never_lower_it() {
        let measured = PollInterval {
            interval: HOUR,
            reason: IntervalReason::Adaptive,
        };
        let raised = settings().with_hints(
            measured,
            &[
                (Some(2 * HOUR), IntervalReason::Ttl),
                (Some(3 * HOUR), IntervalReason::MaxAge),
            ],
        );
        assert_eq!(
            raised,
            PollInterval {
                interval: 3 * HOUR,
                reason: IntervalReason::MaxAge
            }
        );
        let lower = settings().with_hints(
            measured,
            &[(Some(MINUTE), IntervalReason::MaxAge), (None, IntervalReason::Ttl)],
        );
        assert_eq!(lower, measured);
        // A hint past the maximum is held at the maximum.
        let huge = settings().with_hints(measured, &[(Some(100 * HOUR), IntervalReason::Expires)]);
        assert_eq!(
            huge,
            PollInterval {
                interval: 24 * HOUR,
                reason: IntervalReason::Expires
            }
        );
    }

    #[test]
    fn errors_back_off_exponentially_up_to_the_maximum() {
        let s = settings();
        assert_eq!(
            s.after_errors(30 * MINUTE, 1, None),
            PollInterval {
                interval: 30 * MINUTE,
                reason: IntervalReason::Backoff
            }
        );
        assert_eq!(s.after_errors(30 * MINUTE, 2, None).interval, HOUR);
        assert_eq!(s.after_errors(30 * MINUTE, 3, None).interval, 2 * HOUR);
        assert_eq!(s.after_errors(30 * MINUTE, 10, None).interval, 24 * HOUR);
        assert_eq!(s.after_errors(30 * MINUTE, u32::MAX, None).interval, 24 * HOUR);
        let mut rng = StdRng::seed_from_u64(1);
        assert!(s.delay(s.after_errors(HOUR, 40, None).interval, &mut rng) <= 24 * HOUR);
    }

    #[test]
    fn retry_after_wins_when_it_is_longer_than_the_backoff() {
        let s = settings();
        assert_eq!(
            s.after_errors(5 * MINUTE, 1, Some(2 * HOUR)),
            PollInterval {
                interval: 2 * HOUR,
                reason: IntervalReason::RetryAfter
            }
        );
        assert_eq!(s.after_errors(HOUR, 3, Some(MINUTE)).reason, IntervalReason::Backoff);
    }

    #[test]
    fn start_resumes_the_stored_schedule() {
        let mut rng = StdRng::seed_from_u64(3);
        let now = Utc::now();
        let due_in_three_hours = now + chrono::Duration::hours(3);
        assert_eq!(
            settings().delay_at_start(Some(due_in_three_hours), now, &mut rng),
            3 * HOUR
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
        assert!(delays.iter().all(|d| *d < MINUTE));
        assert!(
            delays.iter().any(|d| *d > MINUTE / 2),
            "spread should use the whole window"
        );
        assert!(settings().delay_at_start(None, now, &mut rng) < MINUTE);
        let immediate = ScheduleSettings {
            startup_spread: Duration::ZERO,
            ..settings()
        };
        assert_eq!(immediate.delay_at_start(None, now, &mut rng), Duration::ZERO);
    }
}
