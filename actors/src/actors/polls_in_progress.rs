//! How many feed actors are in the middle of a poll. On shutdown every feed actor is told to stop at once, and
//! only these are waited for: an idle actor has nothing to hand over, and waiting on each of a million actors'
//! exits one by one is what made a shutdown take half a minute.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Woken whenever the count falls to zero.
    idle: Notify,
}

/// Held for the length of one poll; dropping it (the poll ended, or panicked) counts the poll out.
pub struct PollGuard {
    inner: Arc<Inner>,
}

impl PollsInProgress {
    /// A poll starts.
    pub fn enter(&self) -> PollGuard {
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        PollGuard {
            inner: self.inner.clone(),
        }
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
        let first = polls.enter();
        let second = polls.enter();
        assert!(!polls.settled(Duration::from_secs(1)).await, "two polls run");
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
