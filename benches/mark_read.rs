//! Marking everything read at 100,000 unread articles (issue #16): `OrganiseStore::mark_articles` with `read: true` and no selector for one user
//! following 1,000 feeds of 100 articles each, none read but every tenth article marked read one by one, on
//! Postgres and on the embedded SQLite store. Each timed call starts from the same state: the set-up (not timed)
//! puts every cutoff back at 0 and the marks back.
//!
//! Postgres server: SYNDIC_BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres); the bench creates
//! its own database there and drops it at the end. Under `cargo test --benches` it loads 10 feeds instead.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use syndic_actors::domain::UserId;
use syndic_actors::organise::{MarkSelection, Marking};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};
use syndic_testkit::database::{bench_admin_url, PostgresDatabase, SqliteFile};
use syndic_testkit::users::store_user;
use tokio::runtime::Runtime;

const ARTICLES_PER_FEED: i64 = 100;

fn is_bench_run() -> bool {
    std::env::args().any(|argument| argument == "--bench")
}

fn feeds() -> usize {
    if is_bench_run() {
        1_000
    } else {
        10
    }
}

async fn subscribe(store: &dyn Store, count: usize) -> UserId {
    let user = store_user(store, "bench").await.id;
    let urls: Vec<String> = (0..count).map(|n| format!("https://bench.example/{n}.xml")).collect();
    for chunk in urls.chunks(100) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        store.subscribe_many(user, &chunk).await.unwrap();
    }
    user
}

const LAST_SEQ: &str = "UPDATE feeds SET last_seq = (SELECT count(*) FROM articles a WHERE a.feed_id = feeds.id)";

/// Every article unread again: cutoffs at 0, every tenth article marked read ($1 the user), counted.
const RESET_CUTOFFS: &str =
    "UPDATE subscriptions SET read_through_seq = 0, marked_read = 0, marked_unread = 0 WHERE user_id = $1";
const RECOUNT: &str = "UPDATE subscriptions SET marked_read = (SELECT count(*) FROM article_marks m \
       WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id AND m.read_mark) \
     WHERE user_id = $1";

async fn prepare_postgres(count: usize) -> (PostgresDatabase, PostgresStore, UserId) {
    let database = PostgresDatabase::create(&bench_admin_url(), "syndic_bench_mark")
        .await
        .expect("Postgres must be running");
    let store = PostgresStore::connect(&database.url(), 4).await.unwrap();
    let user = subscribe(&store, count).await;
    sqlx::query(
        "INSERT INTO articles (feed_id, dedupe_key, title, published_at, seq) \
         SELECT s.feed_id, 'a' || n, 'Article ' || n, now() - n * interval '1 minute', n \
         FROM subscriptions s CROSS JOIN generate_series(1, $2) n WHERE s.user_id = $1",
    )
    .bind(user)
    .bind(ARTICLES_PER_FEED)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(LAST_SEQ).execute(store.pool()).await.unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    (database, store, user)
}

async fn reset_postgres(store: &PostgresStore, user: UserId) {
    sqlx::query(RESET_CUTOFFS)
        .bind(user)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT $1, a.id, a.feed_id, a.published_at, true, now() FROM articles a WHERE a.seq % 10 = 0",
    )
    .bind(user)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(RECOUNT).bind(user).execute(store.pool()).await.unwrap();
}

async fn prepare_sqlite(count: usize) -> (SqliteFile, SqliteStore, UserId) {
    let file = SqliteFile::new("syndic_bench_mark");
    let store = SqliteStore::connect(&file.url(), 4).await.unwrap();
    let user = subscribe(&store, count).await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
         INSERT INTO articles (feed_id, dedupe_key, title, published_at, seq) \
         SELECT s.feed_id, 'a' || n.i, 'Article ' || n.i, 1700000000000000 + n.i * 60000000, n.i \
         FROM subscriptions s CROSS JOIN n WHERE s.user_id = $1",
    )
    .bind(user.hyphenated())
    .bind(ARTICLES_PER_FEED)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(LAST_SEQ).execute(store.pool()).await.unwrap();
    (file, store, user)
}

async fn reset_sqlite(store: &SqliteStore, user: UserId) {
    sqlx::query(RESET_CUTOFFS)
        .bind(user.hyphenated())
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT $1, a.id, a.feed_id, a.published_at, 1, 0 FROM articles a WHERE a.seq % 10 = 0",
    )
    .bind(user.hyphenated())
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(RECOUNT)
        .bind(user.hyphenated())
        .execute(store.pool())
        .await
        .unwrap();
}

/// Criterion's figure with an untimed reset before each call, then the figure of each of a few single calls.
fn bench_backend<Reset, ResetFuture>(
    criterion: &mut Criterion,
    runtime: &Runtime,
    backend: &str,
    store: &dyn Store,
    user: UserId,
    reset: Reset,
) where
    Reset: Fn() -> ResetFuture,
    ResetFuture: std::future::Future<Output = ()>,
{
    let unread = feeds() as u64 * ARTICLES_PER_FEED as u64 * 9 / 10;
    let mut group = criterion.benchmark_group(format!("mark_all_read_{backend}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(unread));
    group.bench_function(format!("{unread}_unread"), |bencher| {
        bencher.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                runtime.block_on(reset());
                let started = Instant::now();
                let marked = runtime
                    .block_on(store.mark_articles(
                        user,
                        Marking {
                            read: Some(true),
                            starred: None,
                        },
                        &MarkSelection::default(),
                    ))
                    .unwrap();
                total += started.elapsed();
                assert_eq!(marked, unread);
            }
            total
        });
    });
    group.finish();
}

fn mark_all_read(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let count = feeds();
    let (_database, postgres, user) = runtime.block_on(prepare_postgres(count));
    bench_backend(criterion, &runtime, "postgres", &postgres, user, || {
        reset_postgres(&postgres, user)
    });
    let (_file, sqlite, user) = runtime.block_on(prepare_sqlite(count));
    bench_backend(criterion, &runtime, "sqlite", &sqlite, user, || {
        reset_sqlite(&sqlite, user)
    });
}

criterion_group!(benches, mark_all_read);
criterion_main!(benches);
