//! Every feed actor's poll timer, kept by one task. A `send_after` per actor spawned a task and a timer entry
//! for each of a million idle actors; here an actor's timer is two map entries in one wheel, and arming or
//! cancelling it is a message to the task that owns the wheel.
//!
//! An actor has at most one timer: arming it again replaces the deadline, and a cancelled or replaced deadline
//! never fires. A `Poll` already sent when the actor re-arms is still told apart by its generation number.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Duration;

use ractor::ActorId;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::feed::FeedMsg;
use super::feed_handle::FeedHandle;

/// How many commands the timer task applies before it looks at the clock again.
const COMMAND_BATCH: usize = 1024;

/// The address of the timer task; every feed actor holds a clone through its context.
#[derive(Clone)]
pub struct PollTimers {
    commands: mpsc::UnboundedSender<TimerCommand>,
}

enum TimerCommand {
    Arm {
        at: Instant,
        handle: FeedHandle,
        generation: u64,
    },
    Cancel(ActorId),
}

impl PollTimers {
    /// Spawns the timer task; it ends once every `PollTimers` is dropped.
    pub fn start() -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(receiver));
        PollTimers { commands }
    }

    /// Sends `FeedMsg::Poll(generation)` to the actor after `delay`, replacing the actor's armed timer.
    pub fn arm(&self, handle: &FeedHandle, delay: Duration, generation: u64) {
        let at = Instant::now().checked_add(delay).unwrap_or_else(far_future);
        // Fails only once the task is gone, at shutdown, when no poll is wanted any more.
        let _ = self.commands.send(TimerCommand::Arm {
            at,
            handle: handle.clone(),
            generation,
        });
    }

    /// Forgets the actor's armed timer, if it has one.
    pub fn cancel(&self, actor: ActorId) {
        let _ = self.commands.send(TimerCommand::Cancel(actor));
    }
}

/// About thirty years ahead: what a delay too large for the clock means.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

async fn run(mut commands: mpsc::UnboundedReceiver<TimerCommand>) {
    let mut wheel: TimerWheel<ActorId, (FeedHandle, u64)> = TimerWheel::default();
    let mut batch = Vec::with_capacity(COMMAND_BATCH);
    loop {
        let next = wheel.next_deadline();
        tokio::select! {
            received = commands.recv_many(&mut batch, COMMAND_BATCH) => {
                if received == 0 {
                    return;
                }
                for command in batch.drain(..) {
                    match command {
                        TimerCommand::Arm { at, handle, generation } => {
                            wheel.arm(handle.actor().get_id(), at, (handle, generation));
                        }
                        TimerCommand::Cancel(actor) => wheel.cancel(&actor),
                    }
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or_else(far_future)), if next.is_some() => {
                for (_, (handle, generation)) in wheel.take_due(Instant::now()) {
                    // A stopped actor's timer: nobody is left to poll.
                    let _ = handle.send_message(FeedMsg::Poll(generation));
                }
            }
        }
    }
}

/// At most one deadline per key, in deadline order; of two equal deadlines the one armed first comes first.
pub(crate) struct TimerWheel<K, T> {
    by_deadline: BTreeMap<(Instant, u64), K>,
    armed: HashMap<K, Armed<T>>,
    /// Arming order, which breaks ties between equal deadlines.
    next_sequence: u64,
}

struct Armed<T> {
    at: Instant,
    sequence: u64,
    target: T,
}

impl<K, T> Default for TimerWheel<K, T> {
    fn default() -> Self {
        TimerWheel {
            by_deadline: BTreeMap::new(),
            armed: HashMap::new(),
            next_sequence: 0,
        }
    }
}

impl<K: Hash + Eq + Clone, T> TimerWheel<K, T> {
    /// Arms the key's timer for `at`, replacing the deadline it had.
    pub(crate) fn arm(&mut self, key: K, at: Instant, target: T) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let armed = Armed { at, sequence, target };
        if let Some(replaced) = self.armed.insert(key.clone(), armed) {
            self.by_deadline.remove(&(replaced.at, replaced.sequence));
        }
        self.by_deadline.insert((at, sequence), key);
    }

    /// Forgets the key's timer, if it has one.
    pub(crate) fn cancel(&mut self, key: &K) {
        if let Some(cancelled) = self.armed.remove(key) {
            self.by_deadline.remove(&(cancelled.at, cancelled.sequence));
        }
    }

    /// The earliest deadline armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns every timer due at `now`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<(K, T)> {
        let mut due = Vec::new();
        while let Some(entry) = self.by_deadline.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(armed) = self.armed.remove(&key) {
                due.push((key, armed.target));
            }
        }
        due
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Mutex};

    use ractor::{Actor, ActorProcessingErr, ActorRef};

    use super::*;

    /// Stands in for a feed actor: records the generation of every `Poll` it is sent.
    struct Recorder;

    impl Actor for Recorder {
        type Msg = FeedMsg;
        type State = Arc<Mutex<Vec<u64>>>;
        type Arguments = Arc<Mutex<Vec<u64>>>;

        async fn pre_start(
            &self,
            _myself: ActorRef<FeedMsg>,
            polls: Self::Arguments,
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok(polls)
        }

        async fn handle(
            &self,
            _myself: ActorRef<FeedMsg>,
            message: FeedMsg,
            polls: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            if let FeedMsg::Poll(generation) = message {
                polls.lock().unwrap().push(generation);
            }
            Ok(())
        }
    }

    async fn recorder() -> (FeedHandle, Arc<Mutex<Vec<u64>>>) {
        let polls = Arc::new(Mutex::new(Vec::new()));
        let (actor, _) = Actor::spawn(None, Recorder, polls.clone()).await.unwrap();
        (FeedHandle::new(actor, Arc::new(AtomicUsize::new(0))), polls)
    }

    // The clock is paused: it jumps to the next timer whenever every task waits, so nothing here depends on
    // how fast the machine is.
    #[tokio::test(start_paused = true)]
    async fn the_task_polls_each_actor_once_with_its_last_arming_and_never_after_a_cancel() {
        let timers = PollTimers::start();
        let (rearmed, rearmed_polls) = recorder().await;
        let (cancelled, cancelled_polls) = recorder().await;
        let (plain, plain_polls) = recorder().await;
        timers.arm(&rearmed, Duration::from_secs(10), 1);
        timers.arm(&rearmed, Duration::from_secs(20), 2);
        timers.arm(&cancelled, Duration::from_secs(5), 7);
        timers.cancel(cancelled.actor().get_id());
        timers.arm(&plain, Duration::from_secs(15), 3);
        tokio::time::sleep(Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(*rearmed_polls.lock().unwrap(), vec![2]);
        assert_eq!(*cancelled_polls.lock().unwrap(), Vec::<u64>::new());
        assert_eq!(*plain_polls.lock().unwrap(), vec![3]);
    }

    fn wheel() -> (TimerWheel<u32, &'static str>, Instant) {
        (TimerWheel::default(), Instant::now())
    }

    fn after(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn timers_fire_in_deadline_order_and_only_once_due() {
        let (mut wheel, start) = wheel();
        wheel.arm(1, after(start, 30), "thirty");
        wheel.arm(2, after(start, 10), "ten");
        wheel.arm(3, after(start, 20), "twenty");
        assert_eq!(wheel.next_deadline(), Some(after(start, 10)));
        assert_eq!(wheel.take_due(after(start, 5)), vec![]);
        assert_eq!(wheel.take_due(after(start, 20)), vec![(2, "ten"), (3, "twenty")]);
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.next_deadline(), Some(after(start, 30)));
        assert_eq!(wheel.take_due(after(start, 100)), vec![(1, "thirty")]);
        assert_eq!(wheel.take_due(after(start, 200)), vec![]);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn a_rearmed_timer_fires_once_at_its_new_deadline_and_never_at_the_old() {
        let (mut wheel, start) = wheel();
        wheel.arm(1, after(start, 10), "first arming");
        wheel.arm(1, after(start, 60), "second arming");
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.take_due(after(start, 30)), vec![]);
        assert_eq!(wheel.take_due(after(start, 60)), vec![(1, "second arming")]);

        // Re-armed earlier than it was: the later deadline is gone too.
        wheel.arm(2, after(start, 600), "late");
        wheel.arm(2, after(start, 100), "early");
        assert_eq!(wheel.take_due(after(start, 100)), vec![(2, "early")]);
        assert_eq!(wheel.take_due(after(start, 1000)), vec![]);
    }

    #[test]
    fn a_cancelled_timer_never_fires_and_cancelling_twice_is_harmless() {
        let (mut wheel, start) = wheel();
        wheel.arm(1, after(start, 5), "cancelled");
        wheel.arm(2, after(start, 10), "kept");
        wheel.cancel(&1);
        wheel.cancel(&1);
        wheel.cancel(&3);
        // The task sleeps until the next deadline: a cancelled one must not wake it.
        assert_eq!(wheel.next_deadline(), Some(after(start, 10)));
        assert_eq!(wheel.take_due(after(start, 10)), vec![(2, "kept")]);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn many_timers_at_the_same_instant_all_fire_in_arming_order() {
        let mut wheel = TimerWheel::default();
        let at = Instant::now() + Duration::from_secs(5);
        for key in 0..10_000u32 {
            wheel.arm(key, at, key);
        }
        let due = wheel.take_due(at);
        assert_eq!(due.len(), 10_000);
        assert!(due.iter().enumerate().all(|(index, (key, _))| *key == index as u32));
        assert_eq!(wheel.len(), 0);
    }
}
