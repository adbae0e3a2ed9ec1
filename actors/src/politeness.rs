//! Politeness: how many fetches run at once in all, how many at once to one host, and how soon one host
//! is asked again. Shared by every clone of the fetcher, so it holds whatever the number of feeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// Below this many hosts the map is never swept: sweeping a small map buys nothing.
const MIN_PRUNE_AT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolitenessSettings {
    /// Requests in flight in all.
    pub max_fetches: usize,
    /// Requests in flight to one host.
    pub per_host_concurrency: usize,
    /// Minimum gap between the starts of two requests to one host; zero for none.
    pub per_host_interval: Duration,
}

/// The limiter. Cheap to clone; clones share their state.
#[derive(Clone)]
pub struct Politeness {
    inner: Arc<Inner>,
}

struct Inner {
    global: Arc<Semaphore>,
    hosts: Mutex<Hosts>,
    per_host_concurrency: usize,
    per_host_interval: Duration,
}

struct Hosts {
    slots: HashMap<String, Arc<HostSlot>>,
    /// The map is swept when it reaches this size; see [`Politeness::slot`].
    prune_at: usize,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    /// When the last request to this host started. Held across the wait for the gap and for the global
    /// permit, so that requests to one host start one at a time and in order.
    last_start: tokio::sync::Mutex<Option<Instant>>,
}

/// Leave to send one request. The request may run while this is held; dropping it frees both slots.
pub struct Permit {
    _global: OwnedSemaphorePermit,
    _host: OwnedSemaphorePermit,
    /// Keeps the host's slot alive (and out of the sweep) while the request runs.
    _slot: Arc<HostSlot>,
}

/// The limiter was closed. It never is; this exists so that waiting can fail without a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the fetch limiter is closed")]
pub struct Closed;

/// The key requests are limited under: the host, with the port only when it is not the scheme's default,
/// so `http://example.com` and `https://example.com` count as one server and `example.com:8080` as another.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

impl Politeness {
    pub fn new(settings: PolitenessSettings) -> Self {
        // Zero would mean "never fetch", which is a misconfiguration rather than a wish; one is the floor.
        let bounded = |permits: usize| permits.clamp(1, Semaphore::MAX_PERMITS);
        Politeness {
            inner: Arc::new(Inner {
                global: Arc::new(Semaphore::new(bounded(settings.max_fetches))),
                hosts: Mutex::new(Hosts {
                    slots: HashMap::new(),
                    prune_at: MIN_PRUNE_AT,
                }),
                per_host_concurrency: bounded(settings.per_host_concurrency),
                per_host_interval: settings.per_host_interval,
            }),
        }
    }

    /// Waits until a request to `host` may start: a slot of that host, the gap since its last start, then
    /// a global slot. The global slot is taken last so that requests queued behind a slow host do not
    /// hold global slots other hosts could use.
    pub async fn acquire(&self, host: &str) -> Result<Permit, Closed> {
        let slot = self.slot(host);
        let host_permit = slot.permits.clone().acquire_owned().await.map_err(|_| Closed)?;
        let mut last_start = slot.last_start.lock().await;
        if let Some(due) = gap_left(*last_start, self.inner.per_host_interval, Instant::now()) {
            tokio::time::sleep_until(due).await;
        }
        let global_permit = self.inner.global.clone().acquire_owned().await.map_err(|_| Closed)?;
        *last_start = Some(Instant::now());
        drop(last_start);
        Ok(Permit {
            _global: global_permit,
            _host: host_permit,
            _slot: slot,
        })
    }

    /// Hosts currently tracked; for tests and metrics.
    pub fn tracked_hosts(&self) -> usize {
        self.lock_hosts().slots.len()
    }

    /// The slot of a host, made on first use. The map would otherwise grow with every host ever fetched,
    /// so when it reaches `prune_at` it is swept of idle hosts, and `prune_at` becomes twice what is left.
    /// That keeps the map within about twice the number of busy hosts at an amortised constant cost.
    fn slot(&self, host: &str) -> Arc<HostSlot> {
        let mut hosts = self.lock_hosts();
        if let Some(slot) = hosts.slots.get(host) {
            return Arc::clone(slot);
        }
        if hosts.slots.len() >= hosts.prune_at {
            let now = Instant::now();
            let interval = self.inner.per_host_interval;
            hosts.slots.retain(|_, slot| !is_idle(slot, now, interval));
            hosts.prune_at = (hosts.slots.len() * 2).max(MIN_PRUNE_AT);
        }
        let slot = Arc::new(HostSlot {
            permits: Arc::new(Semaphore::new(self.inner.per_host_concurrency)),
            last_start: tokio::sync::Mutex::new(None),
        });
        hosts.slots.insert(host.to_owned(), Arc::clone(&slot));
        slot
    }

    /// The map holds no await and no code that can panic while locked, but a poisoned lock must still not
    /// stop every fetch, so poisoning is ignored.
    fn lock_hosts(&self) -> std::sync::MutexGuard<'_, Hosts> {
        self.inner.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// When the next request to a host may start, if that is still to come. A gap already over must not go to the
/// timer: a sleep that is already due still waits for the timer's next millisecond tick, and requests to one
/// host start one at a time, so that tick would pace them all to about a thousand a second.
fn gap_left(last_start: Option<Instant>, interval: Duration, now: Instant) -> Option<Instant> {
    last_start.map(|previous| previous + interval).filter(|due| *due > now)
}

/// A host can be forgotten when nobody holds or waits for its slot (only the map has it; new holders
/// are only made under the map's lock, so this cannot change during the sweep) and its gap has passed,
/// so a fresh slot would allow nothing the old one would not.
fn is_idle(slot: &Arc<HostSlot>, now: Instant, interval: Duration) -> bool {
    if Arc::strong_count(slot) > 1 {
        return false;
    }
    match slot.last_start.try_lock() {
        Ok(last_start) => last_start.is_none_or(|started| started + interval <= now),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(interval: Duration) -> PolitenessSettings {
        PolitenessSettings {
            max_fetches: 4,
            per_host_concurrency: 1,
            per_host_interval: interval,
        }
    }

    #[test]
    fn host_key_keeps_only_non_default_ports() {
        let key = |url: &str| host_key(&Url::parse(url).unwrap());
        assert_eq!(key("https://example.com/feed"), "example.com");
        assert_eq!(key("http://example.com:80/feed"), "example.com");
        assert_eq!(key("http://example.com:8080/feed"), "example.com:8080");
        assert_eq!(key("http://127.0.0.1:9/"), "127.0.0.1:9");
    }

    #[tokio::test]
    async fn a_second_request_to_a_busy_host_waits() {
        let politeness = Politeness::new(settings(Duration::ZERO));
        let first = politeness.acquire("a").await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), politeness.acquire("a")).await;
        assert!(waiting.is_err(), "the host's only slot is taken");
        let other = tokio::time::timeout(Duration::from_millis(50), politeness.acquire("b")).await;
        assert!(other.is_ok(), "another host is not held up");
        drop(first);
        let next = tokio::time::timeout(Duration::from_millis(50), politeness.acquire("a")).await;
        assert!(next.is_ok());
    }

    #[test]
    fn only_a_gap_still_to_come_is_waited_for() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(gap_left(None, second, now), None, "a host's first request");
        assert_eq!(gap_left(Some(now), Duration::ZERO, now), None, "no gap configured");
        assert_eq!(gap_left(Some(now - second * 2), second, now), None, "the gap is over");
        assert_eq!(gap_left(Some(now - second), second, now), None, "the gap ends now");
        assert_eq!(gap_left(Some(now), second, now), Some(now + second));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_keep_their_gap() {
        let politeness = Politeness::new(settings(Duration::from_secs(2)));
        let started = Instant::now();
        for _ in 0..3 {
            drop(politeness.acquire("a").await.unwrap());
        }
        assert_eq!(Instant::now() - started, Duration::from_secs(4));
    }

    #[tokio::test]
    async fn zero_limits_are_raised_to_one_instead_of_blocking_forever() {
        let politeness = Politeness::new(PolitenessSettings {
            max_fetches: 0,
            per_host_concurrency: 0,
            per_host_interval: Duration::ZERO,
        });
        let permit = tokio::time::timeout(Duration::from_millis(50), politeness.acquire("a")).await;
        assert!(permit.is_ok());
    }

    #[tokio::test]
    async fn idle_hosts_are_swept_and_busy_ones_kept() {
        let politeness = Politeness::new(settings(Duration::ZERO));
        let busy = politeness.acquire("busy").await.unwrap();
        for index in 0..(MIN_PRUNE_AT * 3) {
            drop(politeness.acquire(&format!("host-{index}")).await.unwrap());
        }
        assert!(
            politeness.tracked_hosts() <= MIN_PRUNE_AT,
            "{}",
            politeness.tracked_hosts()
        );
        assert!(politeness.lock_hosts().slots.contains_key("busy"));
        drop(busy);
    }

    #[tokio::test]
    async fn hosts_inside_their_gap_are_not_swept() {
        let politeness = Politeness::new(settings(Duration::from_secs(60)));
        for index in 0..(MIN_PRUNE_AT + 10) {
            drop(politeness.acquire(&format!("host-{index}")).await.unwrap());
        }
        // Forgetting them would let the next request skip its gap.
        assert_eq!(politeness.tracked_hosts(), MIN_PRUNE_AT + 10);
    }
}
