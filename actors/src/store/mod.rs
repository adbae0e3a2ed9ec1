//! The store: every query the engine and the API make, behind traits split by who calls them, so that no caller
//! depends on a backend. Each backend is a folder with the same files, one per concern; what is not SQL is here.

mod api_store;
mod bulk_mark;
mod engine_store;
mod error;
mod event_log;
mod event_store;
mod feed_move;
pub(crate) mod flush_result;
mod icon_store;
mod job_rows;
mod job_store;
mod organise_sql;
mod organise_store;
mod postgres;
mod read_state;
mod rows;
mod saved_filter_sql;
mod search_walk;
mod session_store;
mod share_sql;
mod share_store;
mod social_sql;
mod social_store;
mod sqlite;
mod timeline_page;
mod timeline_query;
mod timeline_search;
mod timer_rows;
mod timer_store;
pub mod transfer;
mod transfer_rows;
mod transfer_store;
pub mod transfer_tables;
mod webhook_store;
mod wiring;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{ArticleId, FeedId};
use crate::parse::Entry;

pub use api_store::ApiStore;
pub use engine_store::EngineStore;
pub use error::StoreError;
pub use event_store::EventStore;
pub use icon_store::IconStore;
pub use job_store::JobStore;
pub use organise_store::OrganiseStore;
pub use postgres::PostgresStore;
pub use session_store::SessionStore;
pub use share_store::ShareStore;
pub use social_store::SocialStore;
pub use sqlite::SqliteStore;
pub use timer_store::TimerStore;
pub use transfer_store::TransferStore;
pub use webhook_store::WebhookStore;

/// Every store method: what the composition root opens and hands out, each caller seeing only its own trait.
/// The API reaches the database only through the engine, which holds the [`ApiStore`] part for it; the actors
/// use [`EngineStore`]; `syndic copy` uses [`TransferStore`]; the event bus uses [`EventStore`]; the job runner
/// uses [`JobStore`]; webhook delivery uses [`WebhookStore`]; the timer wheel and the timer routes use
/// [`TimerStore`]; the icon finder and the icon route use [`IconStore`]; sign-in, sessions, API keys and account
/// deletion use [`SessionStore`]; the routes that organise subscriptions and the OPML import use [`OrganiseStore`];
/// profiles, friends and user search use [`SocialStore`]; shares and notifications use [`ShareStore`].
pub trait Store:
    ApiStore
    + EngineStore
    + TransferStore
    + EventStore
    + JobStore
    + WebhookStore
    + TimerStore
    + IconStore
    + SessionStore
    + OrganiseStore
    + SocialStore
    + ShareStore
{
}

impl<T> Store for T where
    T: ApiStore
        + EngineStore
        + TransferStore
        + EventStore
        + JobStore
        + WebhookStore
        + TimerStore
        + IconStore
        + SessionStore
        + OrganiseStore
        + SocialStore
        + ShareStore
{
}

/// Opens the store a URL names (`postgres://`, `postgresql://` or `sqlite:`), creating and migrating the
/// database as needed. The one place that dispatches on the backend; everything downstream sees `dyn Store`.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url, max_connections).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, max_connections).await?))
    } else {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        Err(StoreError::UnsupportedUrl(scheme.to_owned()))
    }
}

/// The backend a URL names and where, without credentials: safe to log.
pub fn describe_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.scheme().starts_with("postgres") => {
            format!(
                "postgres at {}{}",
                parsed.host_str().unwrap_or("localhost"),
                parsed.path()
            )
        }
        _ if url.starts_with("sqlite:") => format!(
            "sqlite at {}",
            url.trim_start_matches("sqlite:").trim_start_matches("//")
        ),
        _ => "an unsupported database".to_owned(),
    }
}

/// What a feed actor hands to the persistence actor after a successful poll.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    pub feed_id: FeedId,
    pub entries: Vec<Entry>,
    pub poll: PollRecord,
}

/// The poll state recorded in the same transaction as the entries.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: DateTime<Utc>,
}

/// A poll that found nothing new, as the persistence actor collects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnchangedPoll {
    pub feed_id: FeedId,
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: DateTime<Utc>,
}

/// The outcome of one feed's batch once it is committed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredBatch {
    pub feed_id: FeedId,
    /// Every entry of the batch with its article id, new or not, in feed order.
    pub articles: Vec<StoredArticle>,
    pub new_count: usize,
    /// The ids of the feed's articles this flush inserted, ascending: what `article.new` announces.
    pub new_articles: Vec<ArticleId>,
    /// The webhooks this flush gave an `article.new` delivery of the feed's new articles: nudged after the commit.
    pub webhooks: Vec<crate::webhook::WebhookId>,
    /// The `article.new` of the feed's new articles, one per subscriber, if this flush stored them in the event
    /// log in its own transaction (see `EngineStore::flush_stores_article_new`): broadcast after the commit.
    /// Empty for a feed listed again in the same flush.
    pub events: Vec<crate::events::Event>,
}

/// The slim view of an article that the `feed:{url}` cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredArticle {
    pub id: ArticleId,
    pub title: Option<String>,
    pub link: Option<String>,
}

/// What a permanent redirect did to a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMove {
    /// The feed's URL changed.
    Renamed,
    /// Another feed had the new URL; the subscribers moved to it.
    Merged { into: FeedId },
}

/// The result of subscribing one user to one URL.
#[derive(Debug, Clone)]
pub struct SubscribedFeed {
    pub feed_id: FeedId,
    /// Whether this call created the feed row: a brand new feed has nothing stored yet.
    pub created: bool,
}

/// The connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub size: u32,
    pub idle: u32,
}

impl PoolState {
    fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolState {
        PoolState {
            size: pool.size(),
            idle: pool.num_idle() as u32,
        }
    }
}
