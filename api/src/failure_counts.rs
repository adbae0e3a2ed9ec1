//! Counts of recent failures, bounded in memory, and the growing wait they impose: the core that the login
//! throttle and the token throttle share.
//!
//! Past its free failures, a key must wait after its last failure 1 s, then twice as long each time, up to
//! `max_delay`. A key is forgotten after `forget_after` without a failure, and the least recently used keys go
//! first once `max_records` are kept, so unauthenticated traffic cannot grow memory without limit.

use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::sync::Cache;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The failure counts. Cheap to clone: clones share the counts.
#[derive(Clone)]
pub struct FailureCounts<K> {
    max_delay: Duration,
    failures: Cache<K, Failures>,
}

impl<K> FailureCounts<K>
where
    K: Hash + Eq + Send + Sync + 'static,
{
    pub fn new(max_records: u64, forget_after: Duration, max_delay: Duration) -> Self {
        FailureCounts {
            max_delay,
            failures: Cache::builder()
                .max_capacity(max_records)
                .time_to_idle(forget_after)
                .build(),
        }
    }

    /// How long `key` must still wait at `now`, if it has used up its `free` failures.
    pub fn wait(&self, key: &K, free: u32, now: Instant) -> Option<Duration> {
        let failures = self.failures.get(key)?;
        if failures.count < free {
            return None;
        }
        let delay = delay_after(failures.count - free, self.max_delay);
        let until = failures.last + delay;
        (until > now).then(|| until - now)
    }

    /// Counts one more failure of `key`, at `now`.
    pub fn add(&self, key: K, now: Instant) {
        self.failures.entry(key).and_compute_with(|entry| {
            let count = entry.map_or(0, |entry| entry.into_value().count);
            Op::Put(Failures {
                count: count.saturating_add(1),
                last: now,
            })
        });
    }

    /// Takes back one failure of `key`, counted before the outcome was known.
    pub fn take_back(&self, key: K) {
        self.failures.entry(key).and_compute_with(|entry| match entry {
            Some(entry) => {
                let failures = entry.into_value();
                Op::Put(Failures {
                    count: failures.count.saturating_sub(1),
                    ..failures
                })
            }
            None => Op::Nop,
        });
    }

    /// Forgets every failure of `key`.
    pub fn forget(&self, key: &K) {
        self.failures.invalidate(key);
    }
}

/// The wait after `excess` failures beyond the free ones: 1 s, then doubling, up to `max`.
fn delay_after(excess: u32, max: Duration) -> Duration {
    let seconds = 1u64.checked_shl(excess.min(63)).unwrap_or(u64::MAX);
    Duration::from_secs(seconds).min(max)
}

/// Whole seconds to announce in `Retry-After` for a wait: rounded up, so a client that obeys is heard.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A client as the throttles count it: an IPv4 address as it is; an IPv6 address by its /64, the block one host
/// is usually given; an IPv4-mapped IPv6 address as IPv4.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = v6.segments();
                format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum() {
        let max = Duration::from_secs(900);
        let delays: Vec<u64> = (0..12).map(|excess| delay_after(excess, max).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(delay_after(u32::MAX, max), max);
    }

    #[test]
    fn a_key_waits_only_once_its_free_failures_are_used() {
        let counts = FailureCounts::new(10, Duration::from_secs(60), Duration::from_secs(60));
        let now = Instant::now();
        counts.add("a", now);
        assert_eq!(counts.wait(&"a", 2, now), None);
        counts.add("a", now);
        assert_eq!(counts.wait(&"a", 2, now), Some(Duration::from_secs(1)));
        assert_eq!(counts.wait(&"a", 2, now + Duration::from_secs(1)), None);
        assert_eq!(counts.wait(&"b", 0, now), None, "a key never seen never waits");
        counts.take_back("a");
        assert_eq!(counts.wait(&"a", 2, now), None);
        counts.forget(&"a");
        assert_eq!(counts.wait(&"a", 1, now), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
    }
}
