//! The flush plan, pure: when to flush, which waiting batches go into one flush, how long to wait after a failed
//! one, and how a flush the database refused goes on. No database and no actor here, so it is tested alone.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PersistenceSettings {
    /// Flush as soon as this many entries are waiting.
    pub max_batch_rows: usize,
    /// About the most rows one flush carries, however many wait (a batch larger than this goes alone): it
    /// bounds a transaction's length, and so how long other writers wait behind a flush on SQLite. A store can
    /// bound it lower (`EngineStore::max_flush_rows`): SQLite's does, to 1,000.
    pub max_flush_rows: usize,
    /// Flush at the latest this long after the first entry arrived.
    pub max_batch_delay: Duration,
    /// How many feed batches may wait at once; a feed actor with a batch to hand over waits for a slot.
    pub max_pending_batches: usize,
    pub retry_min_delay: Duration,
    pub retry_max_delay: Duration,
}

impl Default for PersistenceSettings {
    fn default() -> Self {
        PersistenceSettings {
            max_batch_rows: 1000,
            // A bound, not a target: larger flushes write faster per row (BENCHMARKS.md).
            max_flush_rows: 10_000,
            max_batch_delay: Duration::from_millis(50),
            max_pending_batches: 512,
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(10),
        }
    }
}

impl PersistenceSettings {
    /// Whether enough rows wait to flush at once. While the database fails, only the retry timer flushes.
    pub(super) fn flush_now(&self, waiting_rows: usize, failed_flushes: u32) -> bool {
        failed_flushes == 0 && waiting_rows >= self.max_batch_rows
    }

    /// Whether one more flush starts beside those running. The first of a round always starts (when a slot is
    /// free); more, on a store that writes in parallel, only while a full flush's worth of rows waits and the
    /// database is not failing.
    pub(super) fn start_another(&self, round: FlushRound) -> bool {
        round.running < round.parallel
            && (round.first || (round.failed_flushes == 0 && round.batch_rows >= self.max_batch_rows))
    }

    /// How long to wait before trying again after this many failed flushes in a row: doubling from the
    /// least delay, up to the most.
    pub(super) fn retry_delay(&self, failed_flushes: u32) -> Duration {
        let doublings = failed_flushes.saturating_sub(1).min(16);
        self.retry_min_delay
            .saturating_mul(1 << doublings)
            .min(self.retry_max_delay)
    }
}

/// Where a round of starting flushes stands.
#[derive(Debug, Clone, Copy)]
pub(super) struct FlushRound {
    pub(super) first: bool,
    pub(super) running: usize,
    pub(super) parallel: usize,
    pub(super) failed_flushes: u32,
    /// Rows of the batches still waiting.
    pub(super) batch_rows: usize,
}

/// How many of the waiting batches, with these rows each, go into one flush: in order, until they reach
/// `max_rows`. At least one, so that a batch larger than `max_rows` is still written.
pub(super) fn flush_len(rows: impl Iterator<Item = usize>, max_rows: usize) -> usize {
    let mut taken = 0;
    rows.take_while(|rows| {
        let room = taken < max_rows;
        taken += rows;
        room
    })
    .count()
    .max(1)
}

/// What follows a flush the database did not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterFailure {
    /// The database is unavailable: keep every batch, ack none, and try again after a backoff.
    Retry,
    /// The one batch of the flush was refused for its content: tell its feed actor.
    Reject,
    /// Several batches were refused together: write each alone, so one broken feed never holds back the others.
    SplitOneByOne,
}

pub(super) fn after_failure(transient: bool, batches: usize) -> AfterFailure {
    match (transient, batches) {
        (true, _) => AfterFailure::Retry,
        (false, 0 | 1) => AfterFailure::Reject,
        (false, _) => AfterFailure::SplitOneByOne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_takes_batches_until_it_reaches_the_row_limit() {
        assert_eq!(
            flush_len([20, 20, 20, 20].into_iter(), 50),
            3,
            "20 + 20 is under 50, so a third joins"
        );
        assert_eq!(flush_len([25, 25, 25].into_iter(), 50), 2, "25 + 25 reaches 50");
        assert_eq!(flush_len([10, 10].into_iter(), 1000), 2, "everything, when less waits");
    }

    #[test]
    fn a_batch_over_the_limit_is_flushed_on_its_own() {
        assert_eq!(flush_len([5000, 20].into_iter(), 1000), 1);
        assert_eq!(flush_len([20, 5000, 20].into_iter(), 1000), 2);
    }

    #[test]
    fn enough_rows_flush_at_once_unless_the_database_is_failing() {
        let settings = PersistenceSettings::default();
        assert!(!settings.flush_now(999, 0), "under the threshold the timer flushes");
        assert!(settings.flush_now(1000, 0));
        assert!(
            !settings.flush_now(5000, 1),
            "while failing, only the retry timer flushes"
        );
    }

    #[test]
    fn the_retry_delay_doubles_up_to_the_most() {
        let settings = PersistenceSettings {
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(10),
            ..PersistenceSettings::default()
        };
        let delays: Vec<u64> = (1..=8)
            .map(|failed| settings.retry_delay(failed).as_millis() as u64)
            .collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(settings.retry_delay(u32::MAX), Duration::from_secs(10), "no overflow");
    }

    #[test]
    fn more_flushes_start_only_while_a_full_flush_waits_and_a_slot_is_free() {
        let settings = PersistenceSettings::default();
        let round = FlushRound {
            first: false,
            running: 1,
            parallel: 2,
            failed_flushes: 0,
            batch_rows: 1000,
        };
        assert!(settings.start_another(round));
        assert!(!settings.start_another(FlushRound {
            batch_rows: 999,
            ..round
        }));
        assert!(!settings.start_another(FlushRound {
            failed_flushes: 1,
            ..round
        }));
        assert!(
            !settings.start_another(FlushRound { running: 2, ..round }),
            "no free slot"
        );
        assert!(
            settings.start_another(FlushRound {
                first: true,
                batch_rows: 1,
                failed_flushes: 3,
                ..round
            }),
            "the first flush of a round always starts"
        );
        assert!(!settings.start_another(FlushRound {
            first: true,
            running: 2,
            ..round
        }));
    }

    #[test]
    fn a_refused_flush_is_split_only_when_it_carries_several_batches() {
        assert_eq!(after_failure(true, 5), AfterFailure::Retry);
        assert_eq!(after_failure(true, 1), AfterFailure::Retry);
        assert_eq!(after_failure(false, 1), AfterFailure::Reject);
        assert_eq!(after_failure(false, 5), AfterFailure::SplitOneByOne);
    }
}
