//! What the engine benches share: a real engine on the embedded SQLite store in a temp file, and an in-process
//! feed server on 127.0.0.1:0 whose document is either fixed or new at every request.

#![allow(dead_code)] // Each bench uses part of this module.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Request, Response};
use syndic::loadtest::documents::rss;
use syndic_actors::actors::persistence::PersistenceSettings;
use syndic_actors::cache::{CacheSettings, FeedCache};
use syndic_actors::domain::{NewUser, UserId};
use syndic_actors::engine::{Engine, EngineSettings};
use syndic_actors::fetch::FetchSettings;
use syndic_actors::store::{SqliteStore, Store};

/// Entries in every document the server sends.
pub const ENTRIES: usize = 20;

/// A feed server with one feed at `/feed.rss`.
pub struct BenchFeedServer {
    pub url: String,
    requests: Arc<AtomicUsize>,
}

impl BenchFeedServer {
    /// `moving`: every request gets a document of `ENTRIES` entries none of which was sent before.
    pub async fn start(moving: bool) -> BenchFeedServer {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = acceptor.local_addr()[0].as_socket_addr().unwrap().to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let endpoint = poem::endpoint::make(move |_: Request| {
            let seen = counter.fetch_add(1, Ordering::SeqCst);
            let first = if moving { seen * ENTRIES } else { 0 };
            async move {
                Ok::<_, poem::Error>(
                    Response::builder()
                        .content_type("application/rss+xml")
                        .body(rss(0, first, ENTRIES)),
                )
            }
        });
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        BenchFeedServer {
            url: format!("http://{address}/feed.rss"),
            requests,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A started engine and the store under it.
pub struct BenchEngine {
    pub engine: Engine,
    pub store: Arc<dyn Store>,
}

/// An engine on a new SQLite file in the temp dir, allowed to fetch loopback, with no per-host gap.
pub async fn start_engine(persistence: PersistenceSettings) -> BenchEngine {
    let directory = std::env::temp_dir().join(format!("syndic-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let url = format!("sqlite://{}", directory.join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url, 8).await.unwrap());
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
    BenchEngine { engine, store }
}

/// A user stored directly (no password hashing: the benches measure routing, not registration).
pub async fn new_user(store: &dyn Store) -> UserId {
    let name = format!("bench{}", uuid::Uuid::new_v4().simple());
    let user = NewUser {
        email: format!("{name}@example.com"),
        username: name,
        password_hash: "x".into(),
        invite_hash: None,
    };
    store.create_user(&user).await.unwrap().id
}
