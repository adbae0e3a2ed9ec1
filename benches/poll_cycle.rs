//! A full poll cycle through the real engine (embedded SQLite in a temp file): `FeedMsg::PollNow` to the feed
//! actor, fetch from an in-process server whose document has 20 new entries at every request, parse, the
//! persistence actor's flush, and the commit, timed until the feed's `last_polled_at` (written in the same
//! transaction as the entries) moves. Run with the default persistence settings (a flush waits up to 50 ms
//! for more batches) and with no batching delay, to show what the delay costs one lone feed.

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use syndic_actors::actors::feed::FeedMsg;
use syndic_actors::actors::persistence::PersistenceSettings;
use syndic_actors::domain::FeedId;
use syndic_actors::store::Store;
use tokio::runtime::Runtime;

use support::{new_user, start_engine, BenchEngine, BenchFeedServer, ENTRIES};

/// How often the bench looks at the store while it waits; the figures' resolution.
const CHECK_INTERVAL: Duration = Duration::from_millis(1);

struct PollTarget {
    bench: BenchEngine,
    server: BenchFeedServer,
    feed: FeedId,
}

async fn last_polled(store: &dyn Store, feed: FeedId) -> Option<chrono::DateTime<chrono::Utc>> {
    store.get_feed(feed).await.unwrap().last_polled_at
}

async fn prepare(persistence: PersistenceSettings) -> PollTarget {
    let server = BenchFeedServer::start(true).await;
    let bench = start_engine(persistence).await;
    let user = new_user(bench.store.as_ref()).await;
    let feed = bench.engine.subscribe(user, vec![server.url.clone()]).await.unwrap()[0]
        .feed_id
        .unwrap();
    while last_polled(bench.store.as_ref(), feed).await.is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    PollTarget { bench, server, feed }
}

/// One cycle. A `PollNow` that reaches the actor before it has handled the previous ack is dropped, so it is
/// sent again until the server sees the fetch. The actor is looked up through the supervisor each time (a
/// round trip of microseconds, see the routing bench), which keeps this bench free of a direct ractor dependency.
async fn poll_once(target: &PollTarget) {
    let store = target.bench.store.as_ref();
    let actor = target.bench.engine.feed_actor(target.feed).await.unwrap().unwrap();
    let before = last_polled(store, target.feed).await;
    let requests = target.server.requests();
    actor.send_message(FeedMsg::PollNow).unwrap();
    let mut since_send = Instant::now();
    while target.server.requests() == requests {
        tokio::time::sleep(CHECK_INTERVAL).await;
        if since_send.elapsed() > Duration::from_millis(5) {
            actor.send_message(FeedMsg::PollNow).unwrap();
            since_send = Instant::now();
        }
    }
    while last_polled(store, target.feed).await == before {
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

fn poll_cycle(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let mut group = criterion.benchmark_group("poll_cycle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(ENTRIES as u64));
    let variants = [
        ("default_50ms_batch_delay", PersistenceSettings::default()),
        (
            "no_batch_delay",
            PersistenceSettings {
                max_batch_delay: Duration::ZERO,
                ..PersistenceSettings::default()
            },
        ),
    ];
    for (name, persistence) in variants {
        let target = runtime.block_on(prepare(persistence));
        group.bench_with_input(BenchmarkId::new("sqlite", name), &target, |bencher, target| {
            bencher.to_async(&runtime).iter(|| poll_once(target));
        });
    }
    group.finish();
}

criterion_group!(benches, poll_cycle);
criterion_main!(benches);
