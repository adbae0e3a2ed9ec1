//! Actor routing on a real engine (embedded SQLite in a temp file, in-process cache): subscribing N new users
//! at once to one feed that is already cached (each subscribe goes through the router actor and links the
//! cached entries to the user's timeline), and a supervisor round trip (`Engine::feed_actor`).
//!
//! The subscribe figures include the store's writes (the subscription and 20 timeline links per user): on the
//! embedded set-up those are what routing a subscription costs, so leaving them out would flatter it.

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use syndic_actors::actors::persistence::PersistenceSettings;
use syndic_actors::domain::FeedId;
use syndic_actors::engine::{Engine, SubscribeStatus};
use tokio::runtime::Runtime;

use support::{new_user, start_engine, BenchEngine, BenchFeedServer};

/// Subscribes probe users until one is answered from the cache: the feed is then polled, stored and cached.
async fn cached_feed(bench: &BenchEngine, url: &str) -> FeedId {
    for _ in 0..500 {
        let user = new_user(bench.store.as_ref()).await;
        let outcome = bench
            .engine
            .subscribe(user, vec![url.to_owned()])
            .await
            .unwrap()
            .remove(0);
        if outcome.status == SubscribeStatus::Ready {
            return outcome.feed_id.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the feed was never cached");
}

async fn subscribe_users(bench: &BenchEngine, url: &str, users: usize, iterations: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iterations {
        let mut ids = Vec::with_capacity(users);
        for _ in 0..users {
            ids.push(new_user(bench.store.as_ref()).await);
        }
        let started = Instant::now();
        let outcomes = futures::future::join_all(
            ids.into_iter()
                .map(|user| bench.engine.subscribe(user, vec![url.to_owned()])),
        )
        .await;
        elapsed += started.elapsed();
        assert!(outcomes
            .into_iter()
            .all(|outcome| outcome.unwrap()[0].status == SubscribeStatus::Ready));
    }
    elapsed
}

fn routing(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let server = runtime.block_on(BenchFeedServer::start(false));
    let bench = runtime.block_on(start_engine(PersistenceSettings::default()));
    let feed = runtime.block_on(cached_feed(&bench, &server.url));

    let mut group = criterion.benchmark_group("subscribe_fan_out");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for users in [10usize, 100] {
        group.throughput(Throughput::Elements(users as u64));
        group.bench_with_input(BenchmarkId::new("cached_feed", users), &users, |bencher, &users| {
            bencher
                .to_async(&runtime)
                .iter_custom(|iterations| subscribe_users(&bench, &server.url, users, iterations));
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("supervisor_round_trip");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(1));
    let engine: &Engine = &bench.engine;
    group.bench_function("feed_actor_lookup", |bencher| {
        bencher
            .to_async(&runtime)
            .iter(|| async move { assert!(engine.feed_actor(feed).await.unwrap().is_some()) });
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
