//! Persistence throughput: the persistence actor's flush for batches of 100, 1,000 and 10,000 articles (fan-out on
//! read: nothing per subscriber is written), on real
//! Postgres (UNNEST, one transaction), against inserting the same rows one statement at a time, and two
//! flushes at once as the actor runs them there; and on the embedded SQLite store (multi-row inserts, one
//! transaction) in a temp file.
//!
//! Postgres server: SYNDIC_BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres); the bench creates
//! its own database there and drops it at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use sqlx::PgPool;
use syndic_actors::dedupe::dedupe_key;
use syndic_actors::parse::Entry;
use syndic_actors::store::{FeedBatch, PollRecord, PostgresStore, SqliteStore, Store};
use syndic_testkit::database::{bench_admin_url, PostgresDatabase, SqliteFile};
use syndic_testkit::users::store_user;
use tokio::runtime::Runtime;

/// Batches are spread over this many feeds, each with one subscriber, as a real flush is.
const FEEDS: i64 = 10;

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// One user subscribed to `FEEDS` feeds, which get the ids 1..=FEEDS that the batches name.
async fn subscribe_bench_user(store: &dyn Store) {
    let user = store_user(store, "bench").await;
    let urls: Vec<String> = (0..FEEDS).map(|feed| format!("https://bench.example/{feed}")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let feeds = store.subscribe_many(user.id, &urls).await.unwrap();
    assert_eq!(
        feeds.iter().map(|feed| feed.feed_id).collect::<Vec<_>>(),
        (1..=FEEDS).collect::<Vec<_>>()
    );
}

async fn prepare_postgres() -> (PostgresDatabase, PostgresStore) {
    let database = PostgresDatabase::create(&bench_admin_url(), "syndic_bench_persistence")
        .await
        .expect("Postgres must be running for the benches");
    let store = PostgresStore::connect(&database.url(), 4).await.unwrap();
    subscribe_bench_user(&store).await;
    (database, store)
}

async fn prepare_sqlite() -> (SqliteFile, SqliteStore) {
    let file = SqliteFile::new("syndic_bench_persistence");
    let store = SqliteStore::connect(&file.url(), 4).await.unwrap();
    subscribe_bench_user(&store).await;
    (file, store)
}

/// `rows` new entries (never seen before), spread over the feeds.
fn batches(rows: usize) -> Vec<FeedBatch> {
    let now = Utc::now();
    (1..=FEEDS)
        .map(|feed_id| {
            let entries = (0..rows / FEEDS as usize)
                .map(|_| {
                    let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                    let guid = format!("bench-{n}");
                    Entry {
                        dedupe_key: dedupe_key(Some(&guid), None, None, None),
                        guid: Some(guid),
                        url: Some(format!("https://bench.example/a/{n}")),
                        title: Some(format!("Article {n}")),
                        summary: Some("A summary of typical length for a feed entry, a sentence or two.".into()),
                        content: Some("<p>Some content.</p>".repeat(20)),
                        author: Some("Author".into()),
                        categories: vec!["bench".into(), "rust".into()],
                        enclosures: Vec::new(),
                        published_at: Some(now),
                    }
                })
                .collect();
            FeedBatch {
                feed_id,
                entries,
                poll: PollRecord {
                    polled_at: now,
                    next_poll_at: now,
                    ..PollRecord::default()
                },
            }
        })
        .collect()
}

/// The naive baseline: one INSERT per article, numbered from its feed's last_seq, in one transaction.
async fn insert_row_by_row(pool: &PgPool, batches: &[FeedBatch]) {
    let mut transaction = pool.begin().await.unwrap();
    for batch in batches {
        for entry in &batch.entries {
            sqlx::query(
                "WITH numbered AS (UPDATE feeds SET last_seq = last_seq + 1 WHERE id = $1 \
                   AND NOT EXISTS (SELECT 1 FROM articles WHERE feed_id = $1 AND dedupe_key = $2) RETURNING last_seq) \
                 INSERT INTO articles (feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
                   published_at, seq) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, last_seq FROM numbered",
            )
            .bind(batch.feed_id)
            .bind(&entry.dedupe_key)
            .bind(&entry.guid)
            .bind(&entry.url)
            .bind(&entry.title)
            .bind(&entry.summary)
            .bind(&entry.content)
            .bind(&entry.author)
            .bind(&entry.categories)
            .bind(entry.published_at.unwrap())
            .execute(&mut *transaction)
            .await
            .unwrap();
        }
    }
    transaction.commit().await.unwrap();
}

/// A group with the settings every flush bench uses: few samples, since a 10,000-row flush takes a while.
fn flush_group<'a>(criterion: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = criterion.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    group
}

/// The persistence actor's flush of `rows` new entries through the store, as `id`.
fn bench_flush(group: &mut BenchmarkGroup<'_, WallTime>, runtime: &Runtime, id: &str, rows: usize, store: &dyn Store) {
    group.bench_with_input(BenchmarkId::new(id, rows), &rows, |bencher, &rows| {
        bencher.to_async(runtime).iter_batched(
            || batches(rows),
            |batches| async move { store.persist_batches(&batches).await.unwrap() },
            criterion::BatchSize::PerIteration,
        );
    });
}

/// Two flushes at once, each of half the rows and half the feeds, as the persistence actor runs them on
/// Postgres (`Store::parallel_flushes`): the rate the actor can reach, not one flush's.
fn bench_parallel_flushes(group: &mut BenchmarkGroup<'_, WallTime>, runtime: &Runtime, rows: usize, store: &dyn Store) {
    group.bench_with_input(BenchmarkId::new("unnest_two_at_once", rows), &rows, |bencher, &rows| {
        bencher.to_async(runtime).iter_batched(
            || {
                let mut first = batches(rows);
                let second = first.split_off(first.len() / 2);
                (first, second)
            },
            |(first, second)| async move {
                let (a, b) = tokio::join!(store.persist_batches(&first), store.persist_batches(&second));
                a.unwrap();
                b.unwrap();
            },
            criterion::BatchSize::PerIteration,
        );
    });
}

fn persistence(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let (_database, store) = runtime.block_on(prepare_postgres());
    let mut group = flush_group(criterion, "persistence_flush");
    for rows in [100usize, 1_000, 10_000] {
        group.throughput(Throughput::Elements(rows as u64));
        bench_flush(&mut group, &runtime, "unnest", rows, &store);
        if rows >= 1_000 {
            bench_parallel_flushes(&mut group, &runtime, rows, &store);
        }
        if rows <= 1_000 {
            group.bench_with_input(BenchmarkId::new("row_by_row", rows), &rows, |bencher, &rows| {
                bencher.to_async(&runtime).iter_batched(
                    || batches(rows),
                    |batches| {
                        let pool = store.pool();
                        async move { insert_row_by_row(pool, &batches).await }
                    },
                    criterion::BatchSize::PerIteration,
                );
            });
        }
    }
    group.finish();

    let (_file, sqlite) = runtime.block_on(prepare_sqlite());
    let mut group = flush_group(criterion, "persistence_flush_sqlite");
    for rows in [100usize, 1_000, 10_000] {
        group.throughput(Throughput::Elements(rows as u64));
        bench_flush(&mut group, &runtime, "multi_row", rows, &sqlite);
    }
    group.finish();
}

criterion_group!(benches, persistence);
criterion_main!(benches);
