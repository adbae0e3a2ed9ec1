//! What the engine benches share: a real engine on the embedded SQLite store in a temp file, and the testkit's
//! feed server with one feed whose document is either fixed or new at every request.

#![allow(dead_code)] // Each bench uses part of this module.

use std::sync::Arc;
use std::time::Duration;

use syndic_actors::actors::persistence::PersistenceSettings;
use syndic_actors::cache::{CacheSettings, FeedCache};
use syndic_actors::domain::UserId;
use syndic_actors::engine::{Engine, EngineSettings};
use syndic_actors::fetch::FetchSettings;
use syndic_actors::store::{SqliteStore, Store};
use syndic_testkit::database::SqliteFile;
use syndic_testkit::documents::numbered::rss;
use syndic_testkit::feed_server::FeedServer;
use syndic_testkit::users::store_new_user;

/// Entries in every document the server sends.
pub const ENTRIES: usize = 20;
const PATH: &str = "/feed.rss";

/// A feed server with one feed at `/feed.rss`.
pub struct BenchFeedServer {
    pub url: String,
    server: FeedServer,
}

impl BenchFeedServer {
    /// `moving`: every request gets a document of `ENTRIES` entries none of which was sent before.
    pub async fn start(moving: bool) -> BenchFeedServer {
        let server = FeedServer::start().await;
        let content_type = "application/rss+xml";
        if moving {
            server.set_generated(PATH, content_type, |earlier| rss(0, earlier * ENTRIES, ENTRIES));
        } else {
            server.set_unconditional(PATH, rss(0, 0, ENTRIES), content_type);
        }
        BenchFeedServer {
            url: server.url(PATH),
            server,
        }
    }

    pub fn requests(&self) -> usize {
        self.server.requests(PATH)
    }
}

/// A started engine, the store under it, and its database file (removed with it).
pub struct BenchEngine {
    pub engine: Engine,
    pub store: Arc<dyn Store>,
    _file: SqliteFile,
}

/// An engine on a new SQLite file in the temp dir, allowed to fetch loopback, with no per-host gap.
pub async fn start_engine(persistence: PersistenceSettings) -> BenchEngine {
    let file = SqliteFile::new("syndic_bench");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&file.url(), 8).await.unwrap());
    let cache = FeedCache::new(&CacheSettings {
        redis_url: None,
        key_prefix: String::new(),
        ttl: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
        max_entries: 1000,
    })
    .unwrap();
    let settings = EngineSettings {
        fetch: FetchSettings {
            allow_private_networks: true,
            per_host_interval: Duration::ZERO,
            ..FetchSettings::default()
        },
        persistence,
        ..EngineSettings::default()
    };
    let engine = Engine::start(settings, store.clone(), cache).await.unwrap();
    BenchEngine {
        engine,
        store,
        _file: file,
    }
}

/// A user stored directly (no password hashing: the benches measure routing, not registration).
pub async fn new_user(store: &dyn Store) -> UserId {
    store_new_user(store, "bench").await.id
}
