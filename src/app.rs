//! Wiring: builds the engine and the HTTP server from a config, a store, a listener and a shutdown future.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::TcpAcceptor;
use poem::Server;
use syndic_actors::actors::feed::FeedRules;
use syndic_actors::cache::{CacheSettings, FeedCache};
use syndic_actors::engine::{Engine, EngineSettings};
use syndic_actors::fetch::FetchSettings;
use syndic_actors::schedule::ScheduleSettings;
use syndic_actors::store::{self, Store};
use syndic_api::ApiConfig;
use tokio::task::JoinHandle;

use crate::config::Config;

/// How long in-flight requests get to finish on shutdown, and how long the engine gets to flush.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running engine and HTTP server.
pub struct Application {
    address: SocketAddr,
    engine: Engine,
    server: JoinHandle<std::io::Result<()>>,
}

impl Application {
    /// Opens the database the config names (creating and migrating it as needed): Postgres for a
    /// `postgres://` URL, else the embedded SQLite file.
    pub async fn connect_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
        let url = config.database_url();
        let described = store::describe_url(url);
        let opened = store::open(url, config.database_max_connections)
            .await
            .with_context(|| format!("Failed to open the database ({described})"))?;
        tracing::info!(database = %described, "store chosen");
        Ok(opened)
    }

    /// Starts the engine and serves the API on `listener` until `shutdown` completes.
    pub async fn start(
        config: &Config,
        store: Arc<dyn Store>,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Application> {
        let cache = FeedCache::new(&CacheSettings {
            redis_url: config.redis_url.clone(),
            key_prefix: config.redis_key_prefix.clone(),
            ttl: Duration::from_secs(config.cache_ttl_secs),
            timeout: Duration::from_secs(2),
            max_entries: config.memory_cache_entries,
        })
        .context("Invalid Redis URL")?;
        tracing::info!(cache = cache.kind(), "feed cache chosen");
        let engine = Engine::start(engine_settings(config), store, cache)
            .await
            .context("Failed to start the engine")?;
        let api_config = ApiConfig {
            jwt_secret: jwt_secret(config),
            token_ttl: config.token_ttl(),
            admin_users: config
                .admin_users
                .iter()
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .collect(),
        };
        let address = listener.local_addr().context("The listener has no local address")?;
        let acceptor = TcpAcceptor::from_tokio(listener).context("Failed to use the listener")?;
        let app = syndic_api::app(engine.clone(), api_config);
        let server = tokio::spawn(async move {
            Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown, Some(SHUTDOWN_GRACE))
                .await
        });
        tracing::info!(%address, "listening");
        Ok(Application {
            address,
            engine,
            server,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Waits for the server to stop (after the shutdown future completes), then stops the engine,
    /// flushing what it holds.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await.context("The server task failed")?;
        self.engine.shutdown(SHUTDOWN_GRACE).await;
        served.context("The server failed")
    }
}

fn engine_settings(config: &Config) -> EngineSettings {
    EngineSettings {
        fetch: FetchSettings {
            connect_timeout: Duration::from_secs(config.connect_timeout_secs),
            total_timeout: Duration::from_secs(config.fetch_timeout_secs),
            max_body_bytes: config.max_body_bytes,
            allow_private_networks: config.allow_private_networks,
            contact_url: config.contact_url.clone(),
            max_fetches: config.max_fetches,
            per_host_concurrency: config.per_host_concurrency,
            per_host_interval: Duration::from_millis(config.per_host_interval_ms),
            ..FetchSettings::default()
        },
        rules: FeedRules {
            schedule: ScheduleSettings {
                interval: Duration::from_secs(config.poll_interval_secs.max(1)),
                min_interval: Duration::from_secs(config.min_poll_interval_secs.max(1)),
                max_interval: Duration::from_secs(config.max_poll_interval_secs.max(1)),
                startup_spread: Duration::from_secs(config.startup_spread_secs),
                ..ScheduleSettings::default()
            },
            dead_after_errors: config.dead_after_errors.max(1),
            ..FeedRules::default()
        },
        persistence: Default::default(),
    }
}

fn jwt_secret(config: &Config) -> String {
    match &config.jwt_secret {
        Some(secret) if !secret.is_empty() => secret.clone(),
        _ => {
            tracing::warn!(
                "SYNDIC_JWT_SECRET is not set: using a random secret. Every login token becomes invalid when the \
                 engine restarts. Set SYNDIC_JWT_SECRET in production."
            );
            let bytes: [u8; 32] = rand::random();
            hex::encode(bytes)
        }
    }
}
