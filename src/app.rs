//! Wiring: builds the engine and the HTTP server from a config, a store, a listener and a shutdown future.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::TcpAcceptor;
use syndic_actors::actors::feed::FeedRules;
use syndic_actors::actors::jobs::JobSettings;
use syndic_actors::actors::webhooks::WebhookSettings;
use syndic_actors::cache::timeline::TimelineSettings;
use syndic_actors::cache::{CacheSettings, FeedCache};
use syndic_actors::engine::{Engine, EngineSettings};
use syndic_actors::events::{EventBusSettings, StreamLimits};
use syndic_actors::fetch::FetchSettings;
use syndic_actors::schedule::ScheduleSettings;
use syndic_actors::store::{self, Store};
use syndic_api::connection_deadlines::Deadlines;
use syndic_api::connection_limits::{ConnectionLimits, LimitedAcceptor};
use syndic_api::cors::CorsOrigins;
use syndic_api::no_delay::NoDelayAcceptor;
use syndic_api::passwords::HashingSettings;
use syndic_api::server;
use syndic_api::{ApiConfig, Registration};

use tokio::task::JoinHandle;

use crate::config::{Config, RegistrationMode};

/// How long in-flight requests get to finish on shutdown, and how long the engine gets to flush.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often sampled gauges (actors by status, the pool) are refreshed.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Most connections to the metrics listener: it has one scraper or two.
const METRICS_CONNECTIONS: usize = 64;
/// The default connection cap never goes above this, however high the open-file limit.
const MOST_CONNECTIONS: usize = 10_000;

/// A running engine, HTTP API and metrics endpoint.
pub struct Application {
    address: SocketAddr,
    metrics_address: SocketAddr,
    engine: Engine,
    server: JoinHandle<std::io::Result<()>>,
    metrics_server: JoinHandle<std::io::Result<()>>,
    sampler: JoinHandle<()>,
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

    /// Starts the engine, serves the API on `listener` and the metrics on `config.metrics_bind`, until
    /// `shutdown` completes.
    pub async fn start(
        config: &Config,
        store: Arc<dyn Store>,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Application> {
        let cors_origins = CorsOrigins::parse(&config.cors_origins).context("Invalid SYNDIC_CORS_ORIGINS")?;
        let metrics_listener = tokio::net::TcpListener::bind(config.metrics_bind)
            .await
            .with_context(|| format!("Failed to bind the metrics listener on {}", config.metrics_bind))?;
        let cache = feed_cache(config)?;
        let engine = Engine::start(engine_settings(config), store, cache)
            .await
            .context("Failed to start the engine")?;
        let address = listener.local_addr().context("The listener has no local address")?;
        let metrics_address = metrics_listener
            .local_addr()
            .context("The metrics listener has no address")?;
        let limits = connection_limits(config);
        let (acceptor, metrics_acceptor) = limited_acceptors(listener, metrics_listener, limits)?;
        let metrics = crate::metrics_endpoint::handle();

        let streams = engine.events().streams().clone();
        // One shutdown signal stops both servers.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            // Open event streams end now, or the server would wait out its grace period for them.
            streams.close();
            let _ = stop.send(true);
        });
        let app = syndic_api::app(engine.clone(), api_config(config), cors_origins);
        let server = tokio::spawn(server::serve(acceptor, app, signalled(stopped.clone()), SHUTDOWN_GRACE));
        let metrics_server = tokio::spawn(server::serve(
            metrics_acceptor,
            crate::metrics_endpoint::routes(metrics.clone()),
            signalled(stopped),
            SHUTDOWN_GRACE,
        ));
        let sampler = tokio::spawn(sample_gauges(engine.clone(), metrics));
        tracing::info!(%address, %metrics_address, max_connections = limits.max_connections, "listening");
        Ok(Application {
            address,
            metrics_address,
            engine,
            server,
            metrics_server,
            sampler,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Waits for the servers to stop (after the shutdown future completes), then stops the engine,
    /// flushing what it holds.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await.context("The server task failed")?;
        let _ = self.metrics_server.await;
        self.sampler.abort();
        self.engine.shutdown(SHUTDOWN_GRACE).await;
        served.context("The server failed")
    }
}

async fn signalled(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

async fn sample_gauges(engine: Engine, metrics: metrics_exporter_prometheus::PrometheusHandle) {
    let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
    loop {
        ticks.tick().await;
        engine.record_gauges();
        // Without the exporter's own HTTP listener, histograms are only drained by upkeep.
        metrics.run_upkeep();
    }
}

fn feed_cache(config: &Config) -> anyhow::Result<FeedCache> {
    let cache = FeedCache::new(&CacheSettings {
        redis_url: config.redis_url.clone(),
        key_prefix: config.redis_prefix.clone(),
        ttl: Duration::from_secs(config.cache_ttl_secs),
        timeout: Duration::from_secs(2),
        max_entries: config.memory_cache_entries,
    })
    .context("Invalid Redis URL")?;
    tracing::info!(cache = cache.kind(), "feed cache chosen");
    Ok(cache)
}

type LimitedTcp = LimitedAcceptor<NoDelayAcceptor<TcpAcceptor>>;

/// Both listeners under the connection limits, so that neither accept loop spins when descriptors run out, and
/// with Nagle's algorithm off, so that an event stream's frames leave as they are written.
fn limited_acceptors(
    listener: tokio::net::TcpListener,
    metrics_listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
) -> anyhow::Result<(LimitedTcp, LimitedTcp)> {
    let acceptor = NoDelayAcceptor::new(TcpAcceptor::from_tokio(listener).context("Failed to use the listener")?);
    let metrics_acceptor =
        NoDelayAcceptor::new(TcpAcceptor::from_tokio(metrics_listener).context("Failed to use the metrics listener")?);
    let metrics_limits = ConnectionLimits {
        max_connections: METRICS_CONNECTIONS,
        ..limits
    };
    Ok((
        LimitedAcceptor::new(acceptor, limits),
        LimitedAcceptor::new(metrics_acceptor, metrics_limits),
    ))
}

/// The API's connection limits; without a configured cap, one that leaves a quarter of the open-file limit to
/// the database pool, feed fetches and files.
fn connection_limits(config: &Config) -> ConnectionLimits {
    let max_connections = config.max_connections.unwrap_or_else(|| {
        let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
        usize::try_from(open_files / 4 * 3)
            .unwrap_or(MOST_CONNECTIONS)
            .min(MOST_CONNECTIONS)
    });
    ConnectionLimits {
        max_connections: max_connections.max(1),
        deadlines: Deadlines {
            header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs.max(1)),
        },
    }
}

fn api_config(config: &Config) -> ApiConfig {
    ApiConfig {
        jwt_secret: jwt_secret(config),
        token_ttl: config.token_ttl(),
        session_ttl: config.session_ttl(),
        registration: match config.registration {
            RegistrationMode::Open => Registration::Open,
            RegistrationMode::Closed => Registration::Closed,
        },
        login_throttle: Default::default(),
        token_throttle: Default::default(),
        hashing: match config.password_hashing_threads {
            Some(threads) => HashingSettings::with_threads(threads),
            None => HashingSettings::default(),
        },
        trust_forwarded_for: config.trust_forwarded_for,
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
        timeline: TimelineSettings {
            ttl: Duration::from_secs(config.timeline_cache_ttl_secs),
            max_users: config.timeline_cache_users,
        },
        events: EventBusSettings {
            streams: StreamLimits {
                buffer: config.event_stream_buffer.max(1),
                max_lag: Duration::from_millis(config.event_stream_max_lag_ms),
                per_user: config.event_streams_per_user,
                total: config.event_streams_max,
                heartbeat: Duration::from_millis(config.event_heartbeat_ms.max(1)),
            },
            ..EventBusSettings::default()
        },
        jobs: JobSettings {
            max_attempts: config.job_max_attempts.max(1),
            backoff: Duration::from_millis(config.job_backoff_ms),
            chunk_size: config.job_chunk_size.max(1),
            step_pause: Duration::from_millis(config.job_step_pause_ms),
            concurrency: config.job_concurrency.max(1),
            max_queued_per_user: config.job_queue_per_user.max(1),
            ..JobSettings::default()
        },
        webhooks: WebhookSettings {
            retry_base: Duration::from_millis(config.webhook_retry_base_ms.max(1)),
            ..WebhookSettings::default()
        },
        timers: Default::default(),
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

#[cfg(test)]
mod tests {
    use poem::listener::Acceptor;

    use super::*;

    #[tokio::test]
    async fn both_listeners_accept_connections_with_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addresses = [listener.local_addr().unwrap(), metrics_listener.local_addr().unwrap()];
        let limits = ConnectionLimits {
            max_connections: 4,
            deadlines: Deadlines {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
            },
        };
        let (api, metrics) = limited_acceptors(listener, metrics_listener, limits).unwrap();
        for (mut acceptor, address) in [api, metrics].into_iter().zip(addresses) {
            let _client = tokio::net::TcpStream::connect(address).await.unwrap();
            let (accepted, ..) = acceptor.accept().await.unwrap();
            let (accepted, _slot) = accepted.into_parts();
            assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is not set on {address}");
        }
    }
}
