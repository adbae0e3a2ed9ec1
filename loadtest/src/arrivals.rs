//! When the farm's traced feeds were requested, by the wall clock the engine schedules with: what the sustained
//! scenario measures poll lateness from. Only a sample of feeds is traced, so the log stays small and its lock
//! uncontended at thousands of requests a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// One request of a traced feed, as the farm received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The feed's index in the farm.
    pub feed: usize,
    pub at: DateTime<Utc>,
}

pub struct ArrivalLog {
    /// Per feed: whether its requests are logged.
    traced: Vec<AtomicBool>,
    logged: Mutex<Vec<Arrival>>,
}

impl ArrivalLog {
    /// A log for a farm of `feeds` feeds, none traced yet.
    pub fn new(feeds: usize) -> ArrivalLog {
        ArrivalLog {
            traced: (0..feeds).map(|_| AtomicBool::new(false)).collect(),
            logged: Mutex::new(Vec::new()),
        }
    }

    /// Logs the requests of these feeds from now on; indexes outside the farm are ignored.
    pub fn trace(&self, feeds: impl IntoIterator<Item = usize>) {
        for feed in feeds {
            if let Some(traced) = self.traced.get(feed) {
                traced.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Notes a request of `feed` now, if it is traced.
    pub fn record(&self, feed: usize) {
        if !self
            .traced
            .get(feed)
            .is_some_and(|traced| traced.load(Ordering::Relaxed))
        {
            return;
        }
        let arrival = Arrival { feed, at: Utc::now() };
        // A panic elsewhere while the lock was held leaves a log that is still whole: push is the only writer.
        let mut logged = self.logged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        logged.push(arrival);
    }

    /// Every arrival logged so far, in the order they were logged.
    pub fn logged(&self) -> Vec<Arrival> {
        self.logged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_traced_feeds_are_logged() {
        let log = ArrivalLog::new(4);
        log.record(1);
        log.trace([1, 3, 99]);
        log.record(0);
        log.record(1);
        log.record(3);
        log.record(99);
        let feeds: Vec<usize> = log.logged().iter().map(|arrival| arrival.feed).collect();
        assert_eq!(feeds, vec![1, 3]);
    }
}
