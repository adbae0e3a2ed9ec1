//! The persistence actor against real Postgres: however many batches wait, one flush carries about
//! `max_flush_rows` at most, and every batch is written and acked once.
//!
//! Each flush is one transaction, and `articles.fetched_at` defaults to `now()`, the transaction's start time: the
//! articles of one flush share it, so grouping by it shows how the flushes were cut.

#[allow(dead_code)]
#[path = "store_suite/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "store_suite/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use syndic_actors::actors::feed::FeedMsg;
use syndic_actors::actors::feed_handle::FeedHandle;
use syndic_actors::actors::persistence::{PersistenceActor, PersistenceSettings};
use syndic_actors::domain::FeedId;
use tokio::sync::mpsc;

const FEEDS: usize = 10;
const ENTRIES: usize = 20;

/// Stands in for the feed actors: passes on which feeds' batches were acked.
struct AckCollector;

impl Actor for AckCollector {
    type Msg = FeedMsg;
    type State = mpsc::UnboundedSender<FeedId>;
    type Arguments = mpsc::UnboundedSender<FeedId>;

    async fn pre_start(
        &self,
        _myself: ActorRef<FeedMsg>,
        acks: mpsc::UnboundedSender<FeedId>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(acks)
    }

    async fn handle(
        &self,
        _myself: ActorRef<FeedMsg>,
        message: FeedMsg,
        acks: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            FeedMsg::Persisted(stored) => {
                let _ = acks.send(stored.feed_id);
            }
            FeedMsg::PersistFailed(error) => panic!("a batch was rejected: {error}"),
            _ => {}
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_flush_carries_at_most_max_flush_rows_however_many_batches_wait() {
    let (database, store) = backends::postgres().await;
    let user = support::user(&store, "reader").await;
    let urls: Vec<String> = (0..FEEDS).map(|feed| format!("https://feeds.example/{feed}")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let feeds: Vec<FeedId> = store
        .subscribe_many(user.id, &urls)
        .await
        .unwrap()
        .into_iter()
        .map(|feed| feed.feed_id)
        .collect();

    // Nothing is due by rows (1,000), so the batches wait for the timer, and all ten are there when it first
    // fires; then two feeds' batches make a flush.
    let settings = PersistenceSettings {
        max_batch_rows: 1000,
        max_flush_rows: 2 * ENTRIES,
        max_batch_delay: Duration::from_millis(500),
        ..PersistenceSettings::default()
    };
    let persistence = PersistenceActor::spawn(store.clone(), settings).await.unwrap();
    let (acks, mut acked) = mpsc::unbounded_channel();
    let (collector, _) = Actor::spawn(None, AckCollector, acks).await.unwrap();
    let handle = FeedHandle::new(collector.clone(), Arc::new(AtomicUsize::new(0)));
    let now = support::now();
    for feed in &feeds {
        let entries = support::dated_entries(&format!("feed-{feed}"), ENTRIES, now);
        persistence
            .submit(support::batch(*feed, entries, now), handle.clone())
            .await
            .unwrap();
    }

    let mut acked_feeds = BTreeSet::new();
    while acked_feeds.len() < FEEDS {
        let feed = tokio::time::timeout(Duration::from_secs(30), acked.recv())
            .await
            .expect("every batch is acked")
            .expect("the collector is running");
        assert!(acked_feeds.insert(feed), "feed {feed} was acked twice");
    }
    assert_eq!(acked_feeds, feeds.iter().copied().collect());

    let pool = sqlx::PgPool::connect(&database.url()).await.unwrap();
    let flushes: Vec<i64> = sqlx::query_scalar("SELECT count(*) FROM articles GROUP BY fetched_at ORDER BY min(id)")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        flushes.iter().sum::<i64>(),
        (FEEDS * ENTRIES) as i64,
        "rows of each flush: {flushes:?}"
    );
    assert!(
        flushes.iter().all(|rows| *rows <= 2 * ENTRIES as i64),
        "no flush over max_flush_rows: {flushes:?}"
    );

    pool.close().await;
    persistence.actor().stop(None);
    collector.stop(None);
}
