use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::events::{Event, EventKind};

fn event(user: UserId, id: i64) -> Arc<Announced> {
    Arc::new(Announced {
        event: Event {
            id,
            user,
            kind: EventKind::JobDone,
            feed: None,
            data: json!({}),
            at: chrono::Utc::now(),
        },
        committed: std::time::Instant::now(),
    })
}

fn limits() -> StreamLimits {
    StreamLimits {
        buffer: 2,
        max_lag: Duration::from_secs(10),
        per_user: 1,
        total: 2,
        heartbeat: Duration::from_secs(3600),
    }
}

/// What the stream reads next, within a minute (of the paused clock too, longer than the heartbeat tests'
/// ticks): a lost wake-up fails the test rather than hanging it. The timeout's own wake-up polls the stream once
/// more, which then finds what it missed, so a read that took the whole minute fails too.
async fn recv(stream: &mut LiveEvents) -> LiveEvent {
    const LIMIT: Duration = Duration::from_secs(60);
    let started = Instant::now();
    let live = tokio::time::timeout(LIMIT, std::future::poll_fn(|context| stream.poll_recv(context)))
        .await
        .expect("the stream is woken");
    assert!(started.elapsed() < LIMIT, "the stream was woken by the timeout alone");
    live
}

async fn next_id(stream: &mut LiveEvents) -> Option<i64> {
    match recv(stream).await {
        LiveEvent::Event(event) => Some(event.id),
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn is_behind(stream: &mut LiveEvents) -> bool {
    matches!(recv(stream).await, LiveEvent::Behind { .. })
}

/// A stream that has read the log and is live: what the API's streams are once their replay is done.
fn open_live(streams: &EventStreams, user: UserId) -> LiveEvents {
    let stream = streams.open(user).expect("opens");
    stream.resume();
    stream
}

#[tokio::test]
async fn streams_are_limited_per_user_and_in_all_and_give_their_place_back() {
    let (_sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(limits(), receiver);
    let (alice, bob, carol) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let first = streams.open(alice).expect("alice's first");
    assert_eq!(streams.open(alice).err(), Some(StreamRefused::TooManyForUser));
    let _bob = streams.open(bob).expect("bob's");
    assert_eq!(streams.open(carol).err(), Some(StreamRefused::TooMany));
    drop(first);
    assert_eq!(streams.open_count(), 1);
    let _carol = streams.open(carol).expect("a place was given back");
    streams.close();
    assert_eq!(streams.open(alice).err(), Some(StreamRefused::Closing));
}

#[tokio::test]
async fn a_full_buffer_puts_only_its_stream_behind_after_what_it_holds_until_it_resumes() {
    let (sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(limits(), receiver);
    let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut behind = open_live(&streams, alice);
    let mut other = open_live(&streams, bob);
    for id in 1..=4 {
        sender.send(event(alice, id)).unwrap();
    }
    sender.send(event(bob, 1)).unwrap();

    assert_eq!(next_id(&mut other).await, Some(1), "bob's stream flows");
    assert_eq!(next_id(&mut behind).await, Some(1));
    assert_eq!(next_id(&mut behind).await, Some(2));
    assert!(
        is_behind(&mut behind).await,
        "3 and 4 did not fit: they are left to the log"
    );
    assert!(is_behind(&mut behind).await, "behind until it resumes");

    behind.resume();
    sender.send(event(alice, 5)).unwrap();
    assert_eq!(next_id(&mut behind).await, Some(5), "live again after resuming");
}

#[tokio::test]
async fn a_stream_opens_behind_and_buffers_nothing_until_it_resumes() {
    let (sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(limits(), receiver);
    let alice = Uuid::from_u128(1);
    let mut replaying = streams.open(alice).expect("opens");
    for id in 1..=5 {
        sender.send(event(alice, id)).unwrap();
    }
    // Let the dispatcher hand them over before the stream resumes.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(is_behind(&mut replaying).await);
    replaying.resume();
    sender.send(event(alice, 6)).unwrap();
    assert_eq!(next_id(&mut replaying).await, Some(6), "1 to 5 were left to the log");
}

#[tokio::test]
async fn a_lagging_dispatcher_puts_every_stream_behind_and_wakes_a_waiting_one() {
    let (sender, receiver) = broadcast::channel(1);
    let streams = EventStreams::start(limits(), receiver);
    let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut waiting = open_live(&streams, alice);
    let reader = tokio::spawn(async move { is_behind(&mut waiting).await });
    tokio::task::yield_now().await;
    // Bob's events overrun the broadcast before the dispatcher reads them: it lags.
    for id in 1..=3 {
        sender.send(event(bob, id)).unwrap();
    }
    let woke_behind = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the waiting stream wakes")
        .expect("no panic");
    assert!(woke_behind);
}

#[tokio::test]
async fn closing_ends_streams_after_what_they_hold() {
    let (sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(limits(), receiver);
    let alice = Uuid::from_u128(1);
    let mut stream = open_live(&streams, alice);
    sender.send(event(alice, 1)).unwrap();
    tokio::task::yield_now().await;
    streams.close();
    assert_eq!(next_id(&mut stream).await, Some(1));
    assert!(matches!(recv(&mut stream).await, LiveEvent::Closed));
}

#[tokio::test]
async fn an_idle_stream_holds_no_buffer_and_a_drained_burst_gives_its_room_back() {
    let (sender, receiver) = broadcast::channel(256);
    let streams = EventStreams::start(
        StreamLimits {
            buffer: 200,
            ..limits()
        },
        receiver,
    );
    let alice = Uuid::from_u128(1);
    let mut stream = open_live(&streams, alice);
    let capacity = |stream: &LiveEvents| lock(&stream.shared.state).buffered.capacity();
    assert_eq!(capacity(&stream), 0, "an idle stream allocates no buffer");
    for id in 1..=100 {
        sender.send(event(alice, id)).unwrap();
    }
    for id in 1..=100 {
        assert_eq!(next_id(&mut stream).await, Some(id));
    }
    assert!(
        capacity(&stream) <= KEPT_CAPACITY,
        "a drained buffer keeps {} slots",
        capacity(&stream)
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_is_told_to_send_a_heartbeat_each_tick_unless_it_read_an_event_since() {
    let (sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(
        StreamLimits {
            heartbeat: Duration::from_secs(15),
            ..limits()
        },
        receiver,
    );
    let alice = Uuid::from_u128(1);
    let mut stream = open_live(&streams, alice);
    let started = Instant::now();
    for tick in [15, 30] {
        assert!(matches!(recv(&mut stream).await, LiveEvent::Heartbeat));
        assert_eq!(started.elapsed(), Duration::from_secs(tick));
    }
    // The tick at 45 s comes while the stream waits; an event read at 50 s pays for it.
    tokio::time::sleep(Duration::from_secs(20)).await;
    sender.send(event(alice, 1)).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(next_id(&mut stream).await, Some(1));
    assert!(matches!(recv(&mut stream).await, LiveEvent::Heartbeat));
    assert_eq!(started.elapsed(), Duration::from_secs(60));
}

/// Counts its wake-ups.
#[derive(Default)]
struct Wakes(AtomicU64);

impl std::task::Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Wakes {
    fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn poll_with(stream: &mut LiveEvents, wakes: &Arc<Wakes>) -> Poll<LiveEvent> {
    stream.poll_recv(&mut Context::from_waker(&Waker::from(wakes.clone())))
}

#[tokio::test]
async fn a_waiting_stream_is_woken_once_through_the_waker_it_waited_with_last() {
    let (sender, receiver) = broadcast::channel(16);
    let streams = EventStreams::start(limits(), receiver);
    let alice = Uuid::from_u128(1);
    let mut stream = open_live(&streams, alice);
    let (first, last) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
    assert!(poll_with(&mut stream, &first).is_pending());
    assert!(poll_with(&mut stream, &last).is_pending());
    sender.send(event(alice, 1)).unwrap();
    sender.send(event(alice, 2)).unwrap();
    let started = Instant::now();
    while last.count() == 0 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Both events are handed over before the stream polls again: the first woke it, the second found no waker.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!((first.count(), last.count()), (0, 1));
    for id in 1..=2 {
        match poll_with(&mut stream, &last) {
            Poll::Ready(LiveEvent::Event(event)) => assert_eq!(event.id, id),
            other => panic!("expected event {id}, got {other:?}"),
        }
    }
    assert!(poll_with(&mut stream, &last).is_pending());
    streams.close();
    assert_eq!(last.count(), 2, "closing wakes a waiting stream");
    assert!(matches!(poll_with(&mut stream, &last), Poll::Ready(LiveEvent::Closed)));
}
