//! When a failed delivery is tried again: exponential backoff with jitter from a base, and a receiver's
//! `Retry-After` (on 429 and 503) honoured up to a bound.

use std::time::Duration;

use rand::Rng;

/// Each wait is this many times the previous one.
const FACTOR: u32 = 4;
/// The longest `Retry-After` honoured: a receiver cannot park its deliveries for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// The wait after `attempts` failed attempts (1 for the first): `base × 4^(attempts − 1)`, scaled by a random
/// factor in [0.75, 1.25) so that receivers that failed together are not retried together. With the default
/// base of 15 s, the seven waits between eight attempts add up to about 23 hours.
pub fn delay(base: Duration, attempts: i32, random: &mut impl Rng) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(12);
    let wait = base.saturating_mul(FACTOR.saturating_pow(exponent));
    wait.mul_f64(random.random_range(0.75..1.25))
}

/// The wait before the next attempt: the backoff, or longer when the receiver asked for it (up to
/// [`MAX_RETRY_AFTER`]).
pub fn next_wait(base: Duration, attempts: i32, retry_after: Option<Duration>, random: &mut impl Rng) -> Duration {
    let backoff = delay(base, attempts, random);
    match retry_after {
        Some(asked) => backoff.max(asked.min(MAX_RETRY_AFTER)),
        None => backoff,
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn waits_grow_fourfold_within_the_jitter_and_sum_to_about_a_day() {
        let base = Duration::from_secs(15);
        let mut random = StdRng::seed_from_u64(7);
        let mut total = Duration::ZERO;
        for attempts in 1..=7 {
            let wait = delay(base, attempts, &mut random);
            let nominal = base * 4u32.pow(attempts as u32 - 1);
            assert!(
                wait >= nominal.mul_f64(0.75) && wait < nominal.mul_f64(1.25),
                "{attempts}: {wait:?}"
            );
            total += wait;
        }
        assert!(
            total > Duration::from_secs(12 * 3600) && total < Duration::from_secs(36 * 3600),
            "{total:?}"
        );
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_its_bound() {
        let base = Duration::from_millis(100);
        let mut random = StdRng::seed_from_u64(7);
        assert_eq!(
            next_wait(base, 1, Some(Duration::from_secs(30)), &mut random),
            Duration::from_secs(30)
        );
        assert_eq!(
            next_wait(base, 1, Some(Duration::from_secs(86_400)), &mut random),
            MAX_RETRY_AFTER
        );
        assert!(next_wait(base, 1, Some(Duration::ZERO), &mut random) >= base.mul_f64(0.75));
    }
}
