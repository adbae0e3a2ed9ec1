//! The wheel's due-soon window: the active timers due before `end`, keyed by instant, so the earliest is one
//! lookup away and everything due by now is one range. Timers due later stay in the store until a refill.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::timer::{Timer, TimerId, TimerStatus};

#[derive(Debug, Default)]
pub struct DueWindow {
    by_instant: BTreeMap<(DateTime<Utc>, TimerId), Timer>,
    instants: HashMap<TimerId, DateTime<Utc>>,
    /// Every active timer due before this instant is held.
    end: DateTime<Utc>,
}

impl DueWindow {
    /// Replaces the window with the timers the store says are due before `end`, soonest first. When the store
    /// returned only the first `limit`, the window ends at the last instant read, so that what it holds stays
    /// everything before its end.
    pub fn refill(&mut self, timers: Vec<Timer>, end: DateTime<Utc>, limit: usize) {
        self.by_instant.clear();
        self.instants.clear();
        self.end = end;
        let truncated = timers.len() >= limit;
        if truncated {
            if let Some(last) = timers.last().and_then(|timer| timer.next_fire_at) {
                let first = timers.first().and_then(|timer| timer.next_fire_at);
                // A whole page on one instant keeps that instant, and the rest of it comes with the next refill.
                self.end = if first == Some(last) {
                    last + chrono::Duration::microseconds(1)
                } else {
                    last
                };
            }
        }
        for timer in timers {
            self.upsert(timer);
        }
    }

    /// Holds the timer as it now is: at its instant when it is active and due inside the window, else not at all.
    pub fn upsert(&mut self, timer: Timer) {
        self.remove(timer.id);
        let Some(instant) = timer.next_fire_at else {
            return;
        };
        if timer.status != TimerStatus::Active || instant >= self.end {
            return;
        }
        self.hold(timer, instant);
    }

    /// Holds the timer due at `instant`, which may differ from its stored one (a firing to try again).
    pub fn hold(&mut self, timer: Timer, instant: DateTime<Utc>) {
        self.remove(timer.id);
        self.instants.insert(timer.id, instant);
        self.by_instant.insert((instant, timer.id), timer);
    }

    pub fn remove(&mut self, timer: TimerId) {
        if let Some(instant) = self.instants.remove(&timer) {
            self.by_instant.remove(&(instant, timer));
        }
    }

    /// Takes out every timer due at or before `now`, soonest first.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Timer> {
        let mut due = Vec::new();
        while let Some(entry) = self.by_instant.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.instants.remove(&timer.id);
            due.push(timer);
        }
        due
    }

    pub fn earliest(&self) -> Option<DateTime<Utc>> {
        self.by_instant.keys().next().map(|(instant, _)| *instant)
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn len(&self) -> usize {
        self.by_instant.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_instant.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::timer::{PayloadKind, TimerPayload};
    use crate::timer_schedule::StoredSchedule;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn timer(id: TimerId, seconds: Option<i64>) -> Timer {
        Timer {
            id,
            user_id: uuid::Uuid::nil(),
            name: None,
            schedule: StoredSchedule {
                kind: "once".into(),
                spec: None,
                at_time: None,
                timezone: "UTC".into(),
                anchor: at(0),
            },
            webhook_id: 1,
            owns_webhook: true,
            payload: TimerPayload {
                kind: PayloadKind::Id,
                feed_id: None,
                category: None,
                filter: None,
            },
            status: TimerStatus::Active,
            next_fire_at: seconds.map(at),
            last_fired_at: None,
            fire_count: 0,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    #[test]
    fn due_timers_come_out_soonest_first_and_only_once() {
        let mut window = DueWindow::default();
        window.refill(
            vec![timer(1, Some(5)), timer(2, Some(3)), timer(3, Some(9))],
            at(10),
            100,
        );
        assert_eq!(window.earliest(), Some(at(3)));
        let due: Vec<_> = window.take_due(at(5)).iter().map(|timer| timer.id).collect();
        assert_eq!(due, vec![2, 1]);
        assert!(window.take_due(at(5)).is_empty());
        assert_eq!(window.earliest(), Some(at(9)));
    }

    #[test]
    fn an_update_moves_a_timer_and_a_later_or_inactive_one_leaves() {
        let mut window = DueWindow::default();
        window.refill(vec![timer(1, Some(5)), timer(2, Some(6))], at(10), 100);
        window.upsert(timer(1, Some(7)));
        assert_eq!(window.earliest(), Some(at(6)));
        window.upsert(timer(2, Some(60)));
        let mut paused = timer(1, Some(7));
        paused.status = TimerStatus::Paused;
        window.upsert(paused);
        assert!(window.is_empty());
        window.upsert(timer(3, Some(8)));
        window.remove(3);
        assert_eq!(window.len(), 0);
    }

    #[test]
    fn a_truncated_refill_ends_at_the_last_instant_it_read() {
        let mut window = DueWindow::default();
        window.refill(vec![timer(1, Some(1)), timer(2, Some(2)), timer(3, Some(4))], at(60), 3);
        assert_eq!(window.end(), at(4));
        // Timer 3 is due at the window's end, so it waits for the next refill with the others of its instant.
        assert_eq!(window.len(), 2);
    }
}
