//! Listing feeds at 10,000 subscriptions (issue #12): the first page and a deep page of `GET /v1/feeds`'s store
//! call, right after a bulk subscribe and load (20 articles a feed, half unread) with no `ANALYZE`, on Postgres
//! (a fresh database, autovacuum off on its tables so no statistics appear behind the bench's back) and on the
//! embedded SQLite store (which has statistics only after an `ANALYZE` nobody runs).
//!
//! Postgres server: SYNDIC_BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres); the bench creates
//! its own database there and drops it at the end.
//!
//! Under `cargo test --benches` (no `--bench` argument) it loads 500 subscriptions instead of 10,000, so CI stays
//! quick; the figures in BENCHMARKS.md come from `cargo bench`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use syndic_actors::domain::{SubscriptionCursor, UserId};
use syndic_actors::store::{PostgresStore, SqliteStore, Store};
use syndic_testkit::database::{bench_admin_url, PostgresDatabase, SqliteFile};
use syndic_testkit::users::store_user;
use tokio::runtime::Runtime;

/// Articles per feed; every other article is read.
const ARTICLES_PER_FEED: i64 = 20;
/// The page size `GET /v1/feeds` uses by default.
const PAGE: u32 = 100;
/// How many URLs one subscribe request carries.
const SUBSCRIBE_CHUNK: usize = 100;
/// Individually timed listings per case, for the percentiles printed after criterion's figures.
const TIMED_CALLS: usize = 200;

/// `cargo bench` passes `--bench`; `cargo test --benches` does not, and then a small load is enough.
fn is_bench_run() -> bool {
    std::env::args().any(|argument| argument == "--bench")
}

fn subscriptions() -> usize {
    if is_bench_run() {
        10_000
    } else {
        500
    }
}

/// A user subscribed to `count` feeds the way clients do it (100 URLs a request); the callers then give each feed
/// `ARTICLES_PER_FEED` articles, half of them read.
async fn load(store: &dyn Store, count: usize) -> UserId {
    let user = store_user(store, "bench").await.id;
    let urls: Vec<String> = (0..count).map(|n| format!("https://bench.example/{n}.xml")).collect();
    for chunk in urls.chunks(SUBSCRIBE_CHUNK) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        store.subscribe_many(user, &chunk).await.unwrap();
    }
    user
}

/// After the bulk load: the user's read marks counted on each subscription ($1 the user). The same SQL on both
/// backends.
const MARK_COUNTS: &str = "UPDATE subscriptions SET marked_read = (SELECT count(*) FROM article_marks m \
       WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id) \
     WHERE user_id = $1";

/// After the bulk load: each feed's last_seq, its articles being numbered 1..=ARTICLES_PER_FEED.
const LAST_SEQ: &str = "UPDATE feeds SET last_seq = (SELECT count(*) FROM articles a WHERE a.feed_id = feeds.id)";

/// A fresh Postgres database with autovacuum off on the tables the listing reads, loaded, never analysed.
async fn prepare_postgres(count: usize) -> (PostgresDatabase, PostgresStore, UserId) {
    let database = PostgresDatabase::create(&bench_admin_url(), "syndic_bench_feeds")
        .await
        .expect("Postgres must be running");
    let store = PostgresStore::connect(&database.url(), 4).await.unwrap();
    for table in ["users", "feeds", "subscriptions", "articles", "article_marks"] {
        sqlx::query(&format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"))
            .execute(store.pool())
            .await
            .unwrap();
    }
    let user = load(&store, count).await;
    sqlx::query(
        "INSERT INTO articles (feed_id, dedupe_key, title, published_at, seq) \
         SELECT s.feed_id, 'a' || n, 'Article ' || n, now() - n * interval '1 minute', $2 + 1 - n \
         FROM subscriptions s CROSS JOIN generate_series(1, $2) n WHERE s.user_id = $1",
    )
    .bind(user)
    .bind(ARTICLES_PER_FEED)
    .execute(store.pool())
    .await
    .unwrap();
    // Half of every feed read: a mark on each article with an even id, counted on the subscription.
    sqlx::query(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT $1, a.id, a.feed_id, a.published_at, true, now() FROM articles a WHERE a.id % 2 = 0",
    )
    .bind(user)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(LAST_SEQ).execute(store.pool()).await.unwrap();
    sqlx::query(MARK_COUNTS).bind(user).execute(store.pool()).await.unwrap();
    let analysed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename IN ('subscriptions', 'article_marks')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(analysed, 0, "the bench must run without statistics");
    (database, store, user)
}

/// A SQLite store and its file, removed with the guard.
struct SqliteBench {
    _file: SqliteFile,
    store: SqliteStore,
    user: UserId,
}

async fn prepare_sqlite(count: usize) -> SqliteBench {
    let file = SqliteFile::new("syndic_bench_feeds");
    let store = SqliteStore::connect(&file.url(), 4).await.unwrap();
    let user = load(&store, count).await;
    let now = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)";
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
         INSERT INTO articles (feed_id, dedupe_key, title, published_at, seq) \
         SELECT s.feed_id, 'a' || n.i, 'Article ' || n.i, {now} - n.i * 60000000, $2 + 1 - n.i \
         FROM subscriptions s CROSS JOIN n WHERE s.user_id = $1"
    ))
    .bind(user.hyphenated())
    .bind(ARTICLES_PER_FEED)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at) \
         SELECT $1, a.id, a.feed_id, a.published_at, 1, {now} FROM articles a WHERE a.id % 2 = 0"
    ))
    .bind(user.hyphenated())
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(LAST_SEQ).execute(store.pool()).await.unwrap();
    sqlx::query(MARK_COUNTS)
        .bind(user.hyphenated())
        .execute(store.pool())
        .await
        .unwrap();
    SqliteBench {
        _file: file,
        store,
        user,
    }
}

/// The cursor that opens the last full page: the deepest a client pages.
async fn deep_cursor(store: &dyn Store, user: UserId, count: usize) -> SubscriptionCursor {
    let mut after = None;
    let mut skipped = 0;
    while skipped < count - PAGE as usize {
        let step = (count - PAGE as usize - skipped).min(500) as u32;
        let page = store.list_subscriptions(user, step, after).await.unwrap();
        skipped += page.subscriptions.len();
        after = page.next_cursor;
    }
    after.expect("a deep page")
}

/// Criterion's figures for the first and the deep page, then `TIMED_CALLS` single calls each for p50 and p99.
fn bench_store(criterion: &mut Criterion, runtime: &Runtime, backend: &str, store: &dyn Store, user: UserId) {
    let count = subscriptions();
    let deep = runtime.block_on(deep_cursor(store, user, count));
    let mut group = criterion.benchmark_group(format!("list_feeds_{backend}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(u64::from(PAGE)));
    for (page, after) in [("first_page", None), ("deep_page", Some(deep))] {
        group.bench_with_input(BenchmarkId::new(page, count), &after, |bencher, after| {
            bencher
                .to_async(runtime)
                .iter(|| async { store.list_subscriptions(user, PAGE, *after).await.unwrap() });
        });
        let calls = if is_bench_run() { TIMED_CALLS } else { 3 };
        let mut latencies: Vec<Duration> = (0..calls)
            .map(|_| {
                let started = Instant::now();
                let listed = runtime.block_on(store.list_subscriptions(user, PAGE, after)).unwrap();
                assert_eq!(listed.subscriptions.len(), PAGE as usize);
                started.elapsed()
            })
            .collect();
        latencies.sort();
        let percentile =
            |share: f64| latencies[((latencies.len() as f64 * share).ceil() as usize).min(latencies.len()) - 1];
        eprintln!(
            "list_feeds_{backend}/{page}/{count}: {calls} calls, p50 {:?}, p99 {:?}, max {:?}",
            percentile(0.50),
            percentile(0.99),
            latencies[latencies.len() - 1]
        );
    }
    group.finish();
}

fn feed_list(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let count = subscriptions();
    let (database, postgres, user) = runtime.block_on(prepare_postgres(count));
    bench_store(criterion, &runtime, "postgres", &postgres, user);
    runtime.block_on(async {
        postgres.pool().close().await;
        database.remove().await.unwrap();
    });
    let sqlite = runtime.block_on(prepare_sqlite(count));
    bench_store(criterion, &runtime, "sqlite", &sqlite.store, sqlite.user);
}

criterion_group!(benches, feed_list);
criterion_main!(benches);
