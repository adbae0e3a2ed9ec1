//! The configuration: command-line flags with environment fallbacks, and defaults that work on a laptop.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "syndic",
    version,
    about = "An actor-based RSS, Atom and JSON Feed engine behind a REST API."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the engine and the HTTP API (the default).
    Serve,
    /// Copy every row of one database into another, empty one, e.g. from the embedded SQLite file to
    /// Postgres: `syndic copy --from sqlite://syndic.db --to postgres://postgres@127.0.0.1/syndic`.
    /// Stop the engine first.
    Copy {
        /// The database to read.
        #[arg(long)]
        from: String,
        /// The empty database to write; created and migrated if missing.
        #[arg(long)]
        to: String,
    },
    /// Operator commands, run against the database the settings name (the engine may be running).
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Gives a registered user operator rights: the /v1/admin routes and the dashboard.
    Grant {
        /// The user's name (any case).
        username: String,
    },
    /// Takes operator rights away from a user.
    Revoke {
        /// The user's name (any case).
        username: String,
    },
    /// Prints a new invite code, which lets one person register while registration is closed.
    Invite {
        /// How long the invite stays valid, e.g. `7d` or `12h`.
        #[arg(long, default_value = "7d")]
        expires_in: humantime::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistrationMode {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Database: `postgres://…` for Postgres, `sqlite://path` for SQLite. Unset: the embedded SQLite file
    /// `./syndic.db`. The database is created if it is missing, and migrated on start.
    #[arg(global = true, long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most connections in the database pool.
    #[arg(
        global = true,
        long = "db-max-connections",
        env = "SYNDIC_DB_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub database_max_connections: u32,

    /// Redis URL for the feed cache. Unset: an in-process cache.
    #[arg(global = true, long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Most feeds the in-process cache keeps (when REDIS_URL is unset).
    #[arg(global = true, long, env = "SYNDIC_MEMORY_CACHE_ENTRIES", default_value_t = 100_000)]
    pub memory_cache_entries: u64,

    /// Prefix for every Redis key, so that several engines can share one Redis.
    #[arg(global = true, long, env = "SYNDIC_REDIS_PREFIX", default_value = "")]
    pub redis_prefix: String,

    /// How long a feed's cache entry lives, in seconds.
    #[arg(global = true, long, env = "SYNDIC_CACHE_TTL_SECS", default_value_t = 3 * 60 * 60)]
    pub cache_ttl_secs: u64,

    /// How long a user's cached first timeline page lives, in seconds; 0 turns the timeline cache off. Writes
    /// that change the page drop it at once, so this only bounds how long a change nobody announced (a feed's
    /// new title) can take to show.
    #[arg(global = true, long, env = "SYNDIC_TIMELINE_CACHE_TTL_SECS", default_value_t = 60)]
    pub timeline_cache_ttl_secs: u64,

    /// Most users whose first timeline pages the in-process cache keeps (when REDIS_URL is unset).
    #[arg(global = true, long, env = "SYNDIC_TIMELINE_CACHE_USERS", default_value_t = 10_000)]
    pub timeline_cache_users: u64,

    /// Address of the Prometheus endpoint (`/metrics`), on its own listener so it is not exposed by accident.
    #[arg(global = true, long, env = "SYNDIC_METRICS_BIND", default_value = "127.0.0.1:9464")]
    pub metrics_bind: SocketAddr,

    /// Address the HTTP API listens on.
    #[arg(global = true, long, env = "SYNDIC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Most API connections open at once; beyond it, new ones wait in the kernel's backlog and open ones are
    /// untouched. Unset: three quarters of the open-file limit (raised to its hard limit at start), at most 10,000.
    #[arg(global = true, long, env = "SYNDIC_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Seconds a client has to send a whole request head: the first from connecting, a later one from its
    /// first byte. Slower connections (slowloris) are closed.
    #[arg(global = true, long, env = "SYNDIC_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds an API connection may stay silent (nothing read or written) before it is closed.
    #[arg(global = true, long, env = "SYNDIC_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Origins allowed to call the API from a browser (CORS), comma-separated, e.g.
    /// `https://reader.example.com`. Empty (the default): CORS is off and no CORS header is sent.
    #[arg(
        global = true,
        long,
        env = "SYNDIC_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// Secret that signs login tokens (HS256). When unset, a random one is made at start, and every token
    /// becomes invalid when the engine restarts.
    #[arg(global = true, long, env = "SYNDIC_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long an access token is valid, in seconds. Short, because a client refreshes it with its refresh
    /// token; a revoked session's access tokens are refused at once anyway.
    #[arg(global = true, long, env = "SYNDIC_TOKEN_TTL_SECS", default_value_t = 15 * 60)]
    pub token_ttl_secs: u64,

    /// How long a session lasts without a refresh, in seconds; each refresh starts it again.
    #[arg(global = true, long, env = "SYNDIC_SESSION_TTL_SECS", default_value_t = 30 * 24 * 60 * 60)]
    pub session_ttl_secs: u64,

    /// Time between two polls of a feed whose publishing frequency cannot be measured yet (no dated entries),
    /// in seconds. Otherwise the interval adapts to the feed, within the minimum and maximum (±10% jitter).
    #[arg(global = true, long, env = "SYNDIC_POLL_INTERVAL_SECS", default_value_t = 30 * 60)]
    pub poll_interval_secs: u64,

    /// Shortest time between two polls of a feed, whatever it publishes or its publisher says, in seconds.
    #[arg(global = true, long, env = "SYNDIC_MIN_POLL_INTERVAL_SECS", default_value_t = 5 * 60)]
    pub min_poll_interval_secs: u64,

    /// Longest time between two polls of a feed, errors and publisher hints included, in seconds.
    #[arg(global = true, long, env = "SYNDIC_MAX_POLL_INTERVAL_SECS", default_value_t = 24 * 60 * 60)]
    pub max_poll_interval_secs: u64,

    /// Consecutive failed polls after which a feed is parked as dead (a refresh brings it back).
    #[arg(global = true, long, env = "SYNDIC_DEAD_AFTER_ERRORS", default_value_t = 10)]
    pub dead_after_errors: u32,

    /// Attempts a job (an OPML import, an export, a refresh of all feeds) gets before it is `dead`.
    #[arg(global = true, long, env = "SYNDIC_JOB_MAX_ATTEMPTS", default_value_t = 5)]
    pub job_max_attempts: i32,

    /// The wait after a job's first failed attempt, in milliseconds; it doubles with each further one.
    #[arg(global = true, long, env = "SYNDIC_JOB_BACKOFF_MS", default_value_t = 10_000)]
    pub job_backoff_ms: u64,

    /// Feeds an OPML import subscribes per committed step.
    #[arg(global = true, long, env = "SYNDIC_JOB_CHUNK_SIZE", default_value_t = 100)]
    pub job_chunk_size: usize,

    /// A pause after each step of a job, in milliseconds, leaving room for other users' requests.
    #[arg(global = true, long, env = "SYNDIC_JOB_STEP_PAUSE_MS", default_value_t = 0)]
    pub job_step_pause_ms: u64,

    /// Jobs running at once, across users (each user runs one at a time).
    #[arg(global = true, long, env = "SYNDIC_JOB_CONCURRENCY", default_value_t = 4)]
    pub job_concurrency: usize,

    /// Jobs one user may have queued (pending, running or awaiting a retry); more get a 429.
    #[arg(global = true, long, env = "SYNDIC_JOB_QUEUE_PER_USER", default_value_t = 10)]
    pub job_queue_per_user: i64,

    /// The wait after a webhook delivery's first failed attempt, in milliseconds; each further wait is four times
    /// longer (with jitter), over 8 attempts: about a day with the default.
    #[arg(global = true, long, env = "SYNDIC_WEBHOOK_RETRY_BASE_MS", default_value_t = 15_000)]
    pub webhook_retry_base_ms: u64,

    /// Who may create an account: `closed` (the default: only with an invite from `syndic admin invite`) or
    /// `open` (anyone who can reach the API).
    #[arg(global = true, long, env = "SYNDIC_REGISTRATION", value_enum, default_value_t = RegistrationMode::Closed)]
    pub registration: RegistrationMode,

    /// Threads that hash passwords (argon2id, 19 MiB each while it runs): at most this many logins or
    /// registrations are checked at once, and up to 32 per thread wait; more get a 429. Default: one per core.
    #[arg(global = true, long, env = "SYNDIC_PASSWORD_HASHING_THREADS")]
    pub password_hashing_threads: Option<usize>,

    /// Behind a reverse proxy that sets X-Forwarded-For: take the client's address (for login throttling) from
    /// the header's last entry. Leave off when clients reach syndic directly, or they can pick their address.
    #[arg(global = true, long, env = "SYNDIC_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// How often memory freed inside malloc's heaps is handed back to the system, in seconds (glibc's
    /// `malloc_trim`); 0 never. A burst of work leaves freed pages between blocks that stay in use, which malloc
    /// keeps resident otherwise.
    #[arg(global = true, long, env = "SYNDIC_MEMORY_TRIM_SECS", default_value_t = 30)]
    pub memory_trim_secs: u64,

    /// How often an idle event stream (GET /v1/events) gets a comment line, in milliseconds.
    #[arg(global = true, long, env = "SYNDIC_EVENT_HEARTBEAT_MS", default_value_t = 15_000)]
    pub event_heartbeat_ms: u64,

    /// Events one event stream may have waiting; a stream that falls further behind reads what it missed from
    /// the event log.
    #[arg(global = true, long, env = "SYNDIC_EVENT_STREAM_BUFFER", default_value_t = 256)]
    pub event_stream_buffer: usize,

    /// How long an event stream may stay behind the live events, in milliseconds; a client that does not read
    /// for longer gets `resync` and is cut off.
    #[arg(
        global = true,
        long,
        env = "SYNDIC_EVENT_STREAM_MAX_LAG_MS",
        default_value_t = 10_000
    )]
    pub event_stream_max_lag_ms: u64,

    /// Open event streams per user; more are refused with 429.
    #[arg(global = true, long, env = "SYNDIC_EVENT_STREAMS_PER_USER", default_value_t = 16)]
    pub event_streams_per_user: usize,

    /// Open event streams on this node; more are refused with 429.
    #[arg(global = true, long, env = "SYNDIC_EVENT_STREAMS_MAX", default_value_t = 20_000)]
    pub event_streams_max: usize,

    /// Feeds overdue at start-up are polled at random points within this window, in seconds.
    #[arg(global = true, long, env = "SYNDIC_STARTUP_SPREAD_SECS", default_value_t = 60)]
    pub startup_spread_secs: u64,

    /// Fetch feeds on loopback and private addresses. Off by default, to refuse SSRF; tests and local farms set it.
    #[arg(global = true, long, env = "SYNDIC_ALLOW_PRIVATE_NETWORKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_networks: bool,

    /// Most feed fetches in flight at once, across all hosts.
    #[arg(global = true, long, env = "SYNDIC_MAX_FETCHES", default_value_t = 64)]
    pub max_fetches: usize,

    /// Most fetches in flight to one host.
    #[arg(global = true, long, env = "SYNDIC_PER_HOST_CONCURRENCY", default_value_t = 2)]
    pub per_host_concurrency: usize,

    /// Least time between the starts of two requests to one host, in milliseconds (0: no gap).
    #[arg(global = true, long, env = "SYNDIC_PER_HOST_INTERVAL_MS", default_value_t = 1000)]
    pub per_host_interval_ms: u64,

    /// Contact URL sent in the User-Agent (`syndic/<version> (+<url>)`), so publishers can reach the operator.
    #[arg(global = true, long, env = "SYNDIC_CONTACT_URL")]
    pub contact_url: Option<String>,

    /// Connect timeout of a feed fetch, in seconds.
    #[arg(global = true, long, env = "SYNDIC_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,

    /// Total timeout of a feed fetch, body included, in seconds.
    #[arg(global = true, long, env = "SYNDIC_FETCH_TIMEOUT_SECS", default_value_t = 30)]
    pub fetch_timeout_secs: u64,

    /// Largest feed body accepted after decompression, in bytes.
    #[arg(global = true, long, env = "SYNDIC_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Log format: text for people, json for log pipelines. Levels come from RUST_LOG (default info).
    #[arg(global = true, long, env = "SYNDIC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Where the embedded set-up keeps its data when DATABASE_URL is unset.
pub const EMBEDDED_DATABASE_URL: &str = "sqlite://syndic.db";

impl Config {
    /// The database URL in force: DATABASE_URL, or the embedded SQLite file.
    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(EMBEDDED_DATABASE_URL)
    }

    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_secs)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn defaults_work_on_a_laptop() {
        let cli = Cli::try_parse_from(["syndic"]).unwrap();
        assert!(cli.command.is_none());
        let config = cli.config;
        assert_eq!(config.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.poll_interval_secs, 1800);
        assert_eq!(config.cache_ttl_secs, 10800);
        assert_eq!(
            (config.timeline_cache_ttl_secs, config.timeline_cache_users),
            (60, 10_000)
        );
        assert!(!config.allow_private_networks);
        assert_eq!(config.database_url(), EMBEDDED_DATABASE_URL);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.max_connections, None);
        assert_eq!((config.header_timeout_secs, config.idle_timeout_secs), (10, 60));
        assert!(syndic_api::cors::CorsOrigins::parse(&config.cors_origins)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn registration_is_closed_unless_opened() {
        let config = Cli::try_parse_from(["syndic"]).unwrap().config;
        assert_eq!(config.registration, RegistrationMode::Closed);
        let config = Cli::try_parse_from(["syndic", "--registration", "open"])
            .unwrap()
            .config;
        assert_eq!(config.registration, RegistrationMode::Open);
    }

    #[test]
    fn admin_commands_parse() {
        let cli = Cli::try_parse_from(["syndic", "admin", "grant", "alice"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Admin { action: AdminCommand::Grant { ref username } }) if username == "alice")
        );
        let cli = Cli::try_parse_from(["syndic", "admin", "invite", "--expires-in", "12h"]).unwrap();
        match cli.command {
            Some(Command::Admin {
                action: AdminCommand::Invite { expires_in },
            }) => assert_eq!(*expires_in, Duration::from_secs(12 * 3600)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::try_parse_from([
            "syndic",
            "--allow-private-networks",
            "true",
            "--poll-interval-secs",
            "60",
            "serve",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert!(cli.config.allow_private_networks);
        assert_eq!(cli.config.poll_interval_secs, 60);
    }

    #[test]
    fn settings_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from(["syndic", "serve", "--bind", "127.0.0.1:9000", "--redis-prefix", "a:"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(cli.config.bind, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(cli.config.redis_prefix, "a:");

        let cli = Cli::try_parse_from(["syndic", "--db-max-connections", "3", "serve"]).unwrap();
        assert_eq!(cli.config.database_max_connections, 3, "before the subcommand too");
    }

    /// Every setting's flag is its environment variable without `SYNDIC_`, lowercased, with dashes, and is
    /// accepted before and after the subcommand, so the two names can be guessed from each other.
    #[test]
    fn every_flag_is_named_after_its_environment_variable() {
        let command = Cli::command();
        command.clone().debug_assert();
        let settings: Vec<_> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env().map(|env| (arg, env.to_string_lossy().into_owned())))
            .collect();
        assert!(settings.len() >= 20, "the settings are found: {}", settings.len());
        for (arg, env) in settings {
            let expected = env
                .strip_prefix("SYNDIC_")
                .unwrap_or(&env)
                .to_lowercase()
                .replace('_', "-");
            assert_eq!(arg.get_long(), Some(expected.as_str()), "the flag of {env}");
            assert!(arg.is_global_set(), "--{expected} is accepted after the subcommand");
        }
    }
}
