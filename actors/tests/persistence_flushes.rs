//! The persistence actor against real databases: however many batches wait, one flush carries about
//! `max_flush_rows` at most, and every batch is written and acked once; and as the one writer of feed state,
//! whatever arrived last for a feed (a batch, a failed poll, a meltdown) is what its row says.
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
use syndic_actors::actors::persistence::{PersistenceActor, PersistenceHandle, PersistenceSettings, PollFailure};
use syndic_actors::domain::{Feed, FeedId, FeedStatus};
use syndic_actors::events::EventBus;
use syndic_actors::store::Store;
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
    // Nothing is due by rows (1,000), so the batches wait for the timer, and all ten are there when it first
    // fires; then two feeds' batches make a flush.
    let settings = PersistenceSettings {
        max_batch_rows: 1000,
        max_flush_rows: 2 * ENTRIES,
        max_batch_delay: Duration::from_millis(500),
        ..PersistenceSettings::default()
    };
    write_a_backlog(&store, FEEDS, ENTRIES, settings).await;

    let pool = sqlx::PgPool::connect(&database.url()).await.unwrap();
    let flushes: Vec<i64> = sqlx::query_scalar(ROWS_PER_FLUSH).fetch_all(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(
        flushes.iter().sum::<i64>(),
        (FEEDS * ENTRIES) as i64,
        "rows of each flush: {flushes:?}"
    );
    assert!(
        flushes.iter().all(|rows| *rows <= 2 * ENTRIES as i64),
        "no flush over max_flush_rows: {flushes:?}"
    );
}

/// SQLite bounds its flushes below the engine's setting (`EngineStore::max_flush_rows`): a flush holds its one
/// writer lock, and the flush's `article.new` wait for its commit. A backlog over the bound goes in several
/// flushes, every batch acked once.
#[tokio::test]
async fn on_sqlite_a_backlog_is_written_in_flushes_of_at_most_the_stores_bound() {
    const BACKLOG_FEEDS: usize = 25;
    const BACKLOG_ENTRIES: usize = 100;
    let (database, store) = backends::sqlite().await;
    let bound = store.max_flush_rows().expect("SQLite bounds its flushes");
    assert!(BACKLOG_FEEDS * BACKLOG_ENTRIES > bound, "the backlog is over the bound");
    // The engine's own bound is over the backlog, and nothing is due by rows: every batch waits for the timer.
    let settings = PersistenceSettings {
        max_batch_rows: 100_000,
        max_flush_rows: 10_000,
        max_batch_delay: Duration::from_millis(500),
        ..PersistenceSettings::default()
    };
    write_a_backlog(&store, BACKLOG_FEEDS, BACKLOG_ENTRIES, settings).await;

    let pool = sqlx::SqlitePool::connect(&database.url()).await.unwrap();
    let flushes: Vec<i64> = sqlx::query_scalar(ROWS_PER_FLUSH).fetch_all(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(
        flushes.iter().sum::<i64>(),
        (BACKLOG_FEEDS * BACKLOG_ENTRIES) as i64,
        "rows of each flush: {flushes:?}"
    );
    assert!(flushes.len() > 1, "the backlog went in several flushes: {flushes:?}");
    assert!(
        flushes.iter().all(|rows| *rows <= bound as i64),
        "no flush over the store's bound of {bound}: {flushes:?}"
    );
}

/// The rows of each flush, in order: a flush's articles share their `fetched_at` (see the module's doc).
const ROWS_PER_FLUSH: &str = "SELECT count(*) FROM articles GROUP BY fetched_at ORDER BY min(id)";

/// Subscribes a reader to `feeds` feeds, hands a persistence actor with these settings one batch of `entries`
/// for each, and waits until every batch is acked, each once.
async fn write_a_backlog(store: &Arc<dyn Store>, feeds: usize, entries: usize, settings: PersistenceSettings) {
    let user = support::user(store, "reader").await;
    let urls: Vec<String> = (0..feeds).map(|feed| format!("https://feeds.example/{feed}")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let feeds: Vec<FeedId> = store
        .subscribe_many(user.id, &urls)
        .await
        .unwrap()
        .into_iter()
        .map(|feed| feed.feed_id)
        .collect();
    let persistence = PersistenceActor::spawn(
        store.clone(),
        settings,
        EventBus::spawn(store.clone(), Default::default()).await.unwrap(),
    )
    .await
    .unwrap();
    let (acks, mut acked) = mpsc::unbounded_channel();
    let (collector, _) = Actor::spawn(None, AckCollector, acks).await.unwrap();
    let handle = FeedHandle::new(collector.clone(), Arc::new(AtomicUsize::new(0)));
    let now = support::now();
    for feed in &feeds {
        let batch_entries = support::dated_entries(&format!("feed-{feed}"), entries, now);
        persistence
            .submit(support::batch(*feed, batch_entries, now), handle.clone())
            .await
            .unwrap();
    }
    let mut acked_feeds = BTreeSet::new();
    while acked_feeds.len() < feeds.len() {
        let feed = tokio::time::timeout(Duration::from_secs(30), acked.recv())
            .await
            .expect("every batch is acked")
            .expect("the collector is running");
        assert!(acked_feeds.insert(feed), "feed {feed} was acked twice");
    }
    assert_eq!(acked_feeds, feeds.iter().copied().collect());
    persistence.actor().stop(None);
    collector.stop(None);
}

/// A subscribed feed, a persistence actor whose batches wait for the timer, and a collector of its acks.
struct OneFeed {
    store: Arc<dyn Store>,
    feed: FeedId,
    persistence: PersistenceHandle,
    handle: FeedHandle,
    acked: mpsc::UnboundedReceiver<FeedId>,
    collector: ActorRef<FeedMsg>,
}

impl OneFeed {
    async fn start(store: Arc<dyn Store>) -> OneFeed {
        let user = support::user(&store, "reader").await;
        let feed = support::subscribe(&store, &user, "https://feeds.example/ordered").await;
        // One entry is far from 1,000 rows: whatever is sent right after a batch finds it still waiting.
        let settings = PersistenceSettings {
            max_batch_delay: Duration::from_millis(200),
            ..PersistenceSettings::default()
        };
        let persistence = PersistenceActor::spawn(
            store.clone(),
            settings,
            EventBus::spawn(store.clone(), Default::default()).await.unwrap(),
        )
        .await
        .unwrap();
        let (acks, acked) = mpsc::unbounded_channel();
        let (collector, _) = Actor::spawn(None, AckCollector, acks).await.unwrap();
        let handle = FeedHandle::new(collector.clone(), Arc::new(AtomicUsize::new(0)));
        OneFeed {
            store,
            feed,
            persistence,
            handle,
            acked,
            collector,
        }
    }

    async fn submit_batch(&self) {
        let now = support::now();
        let entries = support::dated_entries("ordered", 1, now);
        self.persistence
            .submit(support::batch(self.feed, entries, now), self.handle.clone())
            .await
            .unwrap();
    }

    fn poll_failed(&self, message: &str) {
        self.persistence
            .record_poll_failed(PollFailure {
                feed_id: self.feed,
                message: message.to_owned(),
                status: FeedStatus::Error,
                next_poll_at: Some(support::now() + chrono::Duration::minutes(5)),
                failed_polls: 1,
                status_changed: false,
            })
            .unwrap();
    }

    async fn wait_for_the_ack(&mut self) {
        let acked = tokio::time::timeout(Duration::from_secs(30), self.acked.recv())
            .await
            .expect("the batch is acked")
            .expect("the collector is running");
        assert_eq!(acked, self.feed);
    }

    /// Waits until the feed's row says what `settled` looks for (or gives up quietly after a while), then stops
    /// the actor, which writes whatever still waits, and returns the row as it is in the end.
    async fn final_state(self, settled: impl Fn(&Feed) -> bool) -> Feed {
        for _ in 0..100 {
            if settled(&self.store.get_feed(self.feed).await.unwrap()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.persistence.actor().drain_and_wait(None).await.unwrap();
        self.collector.stop(None);
        self.store.get_feed(self.feed).await.unwrap()
    }
}

async fn an_error_after_a_success_of_the_same_feed_is_what_the_feed_says(store: Arc<dyn Store>) {
    let mut feed = OneFeed::start(store).await;
    feed.submit_batch().await;
    feed.poll_failed("timed out after the success");
    feed.wait_for_the_ack().await;
    let row = feed.final_state(|row| row.status == FeedStatus::Error).await;
    assert_eq!(row.status, FeedStatus::Error, "{row:?}");
    assert_eq!(row.last_error.as_deref(), Some("timed out after the success"));
    assert_eq!(row.error_count, 1);
    assert_eq!(
        row.etag.as_deref(),
        Some("\"etag-1\""),
        "the batch's poll state was written too"
    );
}

async fn a_success_after_an_error_of_the_same_feed_is_what_the_feed_says(store: Arc<dyn Store>) {
    let mut feed = OneFeed::start(store).await;
    feed.poll_failed("timed out before the success");
    feed.submit_batch().await;
    feed.wait_for_the_ack().await;
    let row = feed.final_state(|row| row.status == FeedStatus::Ok).await;
    assert_eq!(row.status, FeedStatus::Ok, "{row:?}");
    assert_eq!(row.last_error, None);
    assert_eq!(row.error_count, 0);
}

async fn a_meltdown_recorded_while_a_batch_waits_lands_after_it(store: Arc<dyn Store>) {
    let mut feed = OneFeed::start(store).await;
    feed.submit_batch().await;
    feed.persistence
        .record_actor_failed(feed.feed, "crashed 4 times".to_owned())
        .unwrap();
    feed.wait_for_the_ack().await;
    let row = feed.final_state(|row| row.status == FeedStatus::Failed).await;
    assert_eq!(row.status, FeedStatus::Failed, "{row:?}");
    assert_eq!(row.last_error.as_deref(), Some("crashed 4 times"));
    assert_eq!(row.next_poll_at, None);
}

/// One test per backend for each case.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn postgres() {
                let (_database, store) = super::backends::postgres().await;
                super::$case(store).await;
            }

            #[tokio::test]
            async fn sqlite() {
                let (_database, store) = super::backends::sqlite().await;
                super::$case(store).await;
            }
        }
    )*};
}

on_both_backends!(
    an_error_after_a_success_of_the_same_feed_is_what_the_feed_says,
    a_success_after_an_error_of_the_same_feed_is_what_the_feed_says,
    a_meltdown_recorded_while_a_batch_waits_lands_after_it,
);
