//! What only the SQLite backend has: the URL forms it opens, how it stores values, and a busy writer's lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Connection, SqliteConnection};
use syndic_actors::domain::ReadFilter;
use syndic_actors::store::{SqliteStore, Store, StoreError};

use crate::backends::{sqlite, SqliteFile, PREFIX};
use crate::support::{at, batch, entry, persist_one, query, subscribe, timeline, user};

#[tokio::test]
async fn in_memory_database_keeps_its_data_across_calls() {
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::connect("sqlite::memory:", 4)
            .await
            .expect("open in memory"),
    );
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let polled = at("2026-03-01T12:00:00Z");
    persist_one(&store, batch(feed, vec![entry("a", Some(polled))], polled)).await;
    let articles = timeline(&store, alice.id, &query(ReadFilter::All)).await;
    assert_eq!(articles.len(), 1);
}

#[tokio::test]
async fn stores_microsecond_integers_and_readable_uuids() {
    let file = SqliteFile::new(PREFIX);
    let url = format!("sqlite:{}", file.path().display());
    let sqlite_store = SqliteStore::connect(&url, 2).await.expect("open sqlite:path");
    let pool = sqlite_store.pool().clone();
    let store: Arc<dyn Store> = Arc::new(sqlite_store);
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let published = at("2026-01-01T00:00:00.000001Z");
    persist_one(&store, batch(feed, vec![entry("a", Some(published))], published)).await;

    let (id, kind): (String, String) = sqlx::query_as("SELECT id, typeof(id) FROM users")
        .fetch_one(&pool)
        .await
        .expect("user");
    assert_eq!((id, kind.as_str()), (alice.id.hyphenated().to_string(), "text"));
    let (micros, kind): (i64, String) = sqlx::query_as("SELECT published_at, typeof(published_at) FROM articles")
        .fetch_one(&pool)
        .await
        .expect("article");
    assert_eq!((micros, kind.as_str()), (1_767_225_600_000_001, "integer"));
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .expect("journal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&pool)
        .await
        .expect("foreign keys");
    assert_eq!((journal.as_str(), foreign_keys), ("wal", 1));
    pool.close().await;
}

#[tokio::test]
async fn a_writer_holding_the_lock_makes_writes_unavailable() {
    let (file, store) = sqlite().await;
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let mut other_writer = SqliteConnection::connect(&file.url()).await.expect("connect");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other_writer)
        .await
        .expect("lock");

    let polled = at("2026-03-01T12:00:00Z");
    let started = Instant::now();
    let blocked = store
        .persist_batches(&[batch(feed, vec![entry("a", Some(polled))], polled)])
        .await;
    match blocked {
        Err(error @ StoreError::Unavailable(_)) => assert!(error.is_transient()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "waited for the busy timeout"
    );

    sqlx::query("ROLLBACK")
        .execute(&mut other_writer)
        .await
        .expect("unlock");
    let retried = persist_one(&store, batch(feed, vec![entry("a", Some(polled))], polled)).await;
    assert_eq!(retried.new_count, 1, "the retry stores the batch");
}

/// No commit copies the WAL into the database file (which held the one writer lock through the copy and its
/// fsync): the store's own task does, soon after.
#[tokio::test]
async fn the_wal_is_checkpointed_by_a_task_of_its_own_and_not_by_a_commit() {
    let file = SqliteFile::new(PREFIX);
    let url = format!("sqlite:{}", file.path().display());
    let store = SqliteStore::connect(&url, 2).await.expect("open sqlite:path");
    let pool = store.pool().clone();
    let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&pool)
        .await
        .expect("wal_autocheckpoint");
    assert_eq!(autocheckpoint, 0, "no commit checkpoints");

    // About 2,000 pages, twice the WAL size at which a commit would have checkpointed.
    sqlx::query("CREATE TABLE filler (x BLOB)")
        .execute(&pool)
        .await
        .expect("create");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
         INSERT INTO filler SELECT randomblob(4000) FROM n",
    )
    .execute(&pool)
    .await
    .expect("fill");
    let started = Instant::now();
    loop {
        let size = std::fs::metadata(file.path()).expect("the database file").len();
        if size >= 2_000 * 4_000 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the database file is still {size} bytes: the WAL was not checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.close().await;
}
