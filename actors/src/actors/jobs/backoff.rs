//! How long a failed job waits before its next attempt: doubling from a base, capped.

use std::time::Duration;

/// The wait after `attempts` failed attempts (1 for the first): `base`, then twice as long each time, at most
/// `max`.
pub fn delay(base: Duration, max: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    base.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_cap() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=5).map(|attempt| delay(base, max, attempt).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert_eq!(delay(base, max, 0), base);
        assert_eq!(delay(base, max, i32::MAX), max);
    }
}
