//! When each feed was last refreshed by hand, so that a person can refresh a feed at most once per gap. The
//! supervisor keeps it and answers a refresh at once: the answer never waits behind a poll that the feed's actor
//! is in the middle of (a slow host, or a politeness wait, can hold one for a minute).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::feed::RefreshOutcome;
use crate::domain::FeedId;

/// Entries kept before the ones older than the gap are swept out; a sweep is rare and costs one pass.
const SWEEP_AT: usize = 4_096;

pub struct ManualRefreshes {
    gap: Duration,
    last: HashMap<FeedId, Instant>,
    /// The size at which the next sweep runs: twice what the last sweep kept, at least `SWEEP_AT`, so that
    /// sweeping stays amortised when many feeds were refreshed within one gap.
    sweep_at: usize,
}

impl ManualRefreshes {
    pub fn new(gap: Duration) -> Self {
        ManualRefreshes {
            gap,
            last: HashMap::new(),
            sweep_at: SWEEP_AT,
        }
    }

    /// Whether a refresh of `feed` may run at `now`; one that may is counted from `now`.
    pub fn admit(&mut self, feed: FeedId, now: Instant) -> RefreshOutcome {
        if let Some(elapsed) = self
            .last
            .get(&feed)
            .map(|at| now.saturating_duration_since(*at))
            .filter(|elapsed| *elapsed < self.gap)
        {
            return RefreshOutcome::TooSoon {
                retry_after: self.gap - elapsed,
            };
        }
        self.last.insert(feed, now);
        if self.last.len() >= self.sweep_at {
            let gap = self.gap;
            self.last.retain(|_, at| now.saturating_duration_since(*at) < gap);
            self.sweep_at = (self.last.len() * 2).max(SWEEP_AT);
        }
        RefreshOutcome::Accepted
    }

    /// The refresh admitted at `now` did not reach the feed's actor: it does not count.
    pub fn forget(&mut self, feed: FeedId) {
        self.last.remove(&feed);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(60);

    #[test]
    fn a_feed_is_refreshed_once_per_gap_and_others_are_not_held_back() {
        let start = Instant::now();
        let mut refreshes = ManualRefreshes::new(GAP);
        assert_eq!(refreshes.admit(1, start), RefreshOutcome::Accepted);
        assert_eq!(
            refreshes.admit(1, start + Duration::from_secs(20)),
            RefreshOutcome::TooSoon {
                retry_after: Duration::from_secs(40)
            }
        );
        assert_eq!(
            refreshes.admit(2, start + Duration::from_secs(20)),
            RefreshOutcome::Accepted
        );
        assert_eq!(refreshes.admit(1, start + GAP), RefreshOutcome::Accepted);
    }

    #[test]
    fn a_refresh_that_never_reached_its_actor_does_not_count() {
        let start = Instant::now();
        let mut refreshes = ManualRefreshes::new(GAP);
        assert_eq!(refreshes.admit(1, start), RefreshOutcome::Accepted);
        refreshes.forget(1);
        assert_eq!(refreshes.admit(1, start), RefreshOutcome::Accepted);
    }

    #[test]
    fn old_refreshes_are_swept_so_the_map_stays_bounded() {
        let start = Instant::now();
        let mut refreshes = ManualRefreshes::new(GAP);
        for feed in 0..SWEEP_AT as i64 - 1 {
            refreshes.admit(feed, start);
        }
        // A gap later, the next refresh sweeps every entry that can no longer hold a feed back.
        refreshes.admit(-1, start + GAP);
        assert_eq!(refreshes.len(), 1);
        // Within one gap nothing is swept, however many feeds are refreshed: each still holds its feed back.
        for feed in 0..(SWEEP_AT * 3) as i64 {
            refreshes.admit(feed, start + GAP);
        }
        assert_eq!(refreshes.len(), SWEEP_AT * 3 + 1);
    }
}
