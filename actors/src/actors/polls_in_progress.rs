//! How many feed actors are in the middle of a poll, and whether new polls may start. On shutdown new polls are
//! refused and only the ones under way are waited for: an idle actor has nothing to hand over, and stopping a
//! million of them first (each one woken, one after the other) held the last flush back by seconds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct PollsInProgress {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    running: AtomicUsize,
    /// Shutdown began: no new poll starts.
    closed: AtomicBool,
    /// Woken whenever the count falls to zero.
    idle: Notify,
}

/// Held for the length of one poll; dropping it (the poll ended, or panicked) counts the poll out.
pub struct PollGuard {
    inner: Arc<Inner>,
}

impl PollsInProgress {
    /// A poll would start: `None` once shutdown began.
    pub fn enter(&self) -> Option<PollGuard> {
        // Counted before the check, so that `close` either sees this poll or this poll sees `close`.
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        let guard = PollGuard {
            inner: self.inner.clone(),
        };
        (!self.inner.closed.load(Ordering::SeqCst)).then_some(guard)
    }

    /// Shutdown begins: no poll starts from now on.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown began.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// Waits until no poll runs, or `timeout` passes. Returns whether none runs.
    pub async fn settled(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                // Registered before the check, so that a poll ending in between still wakes this.
                let idle = self.inner.idle.notified();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

impl std::fmt::Debug for PollGuard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PollGuard")
    }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if self.inner.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn settles_once_the_last_poll_ends_and_not_before() {
        let polls = PollsInProgress::default();
        assert!(polls.settled(Duration::from_secs(1)).await, "nothing runs");
        let first = polls.enter().expect("open");
        let second = polls.enter().expect("open");
        assert!(!polls.settled(Duration::from_secs(1)).await, "two polls run");
        polls.close();
        assert!(polls.enter().is_none(), "no poll starts once closed");
        assert_eq!(polls.running(), 2, "a refused poll is not counted");
        let ending = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(first);
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(second);
        });
        assert!(polls.settled(Duration::from_secs(10)).await);
        assert_eq!(polls.running(), 0);
        ending.await.unwrap();
    }
}
