//! The feed cache: each feed's latest articles under `feed:{url}`, with a TTL. Redis in production, an
//! in-process cache in the embedded set-up; callers see one type.

mod memory;
mod redis;
pub mod timeline;

use std::time::Duration;

use crate::domain::FeedId;
use crate::store::StoredArticle;

pub use self::memory::MemoryCache;
pub use self::redis::RedisCache;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("the cache entry is corrupt: {0}")]
    Corrupt(String),
}

/// A cached feed: what a new subscriber gets without a fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedFeed {
    pub feed_id: FeedId,
    pub articles: Vec<StoredArticle>,
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// A `redis://` URL, or `None` for the in-process cache.
    pub redis_url: Option<String>,
    /// Prepended to every key, so that several engines (or tests) can share one Redis.
    pub key_prefix: String,
    pub ttl: Duration,
    pub timeout: Duration,
    /// Most entries the in-process cache keeps.
    pub max_entries: u64,
}

#[derive(Clone)]
pub enum FeedCache {
    Redis(RedisCache),
    Memory(MemoryCache),
}

impl FeedCache {
    pub fn new(settings: &CacheSettings) -> Result<Self, CacheError> {
        Ok(match &settings.redis_url {
            Some(url) => FeedCache::Redis(RedisCache::new(url, settings)?),
            None => FeedCache::Memory(MemoryCache::new(settings)),
        })
    }

    /// A short name for logs and health checks.
    pub fn kind(&self) -> &'static str {
        match self {
            FeedCache::Redis(_) => "redis",
            FeedCache::Memory(_) => "memory",
        }
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            FeedCache::Redis(cache) => cache.ping().await,
            FeedCache::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, url: &str) -> Result<Option<CachedFeed>, CacheError> {
        match self {
            FeedCache::Redis(cache) => cache.get(url).await,
            FeedCache::Memory(cache) => Ok(cache.get(url).await),
        }
    }

    /// Replaces the entry and restarts its TTL.
    pub async fn put(&self, url: &str, feed: &CachedFeed) -> Result<(), CacheError> {
        match self {
            FeedCache::Redis(cache) => cache.put(url, feed).await,
            FeedCache::Memory(cache) => {
                cache.put(url, feed.clone()).await;
                Ok(())
            }
        }
    }

    /// Restarts the TTL of an entry that is still right (the feed answered 304).
    pub async fn touch(&self, url: &str) -> Result<(), CacheError> {
        match self {
            FeedCache::Redis(cache) => cache.touch(url).await,
            FeedCache::Memory(cache) => {
                cache.touch(url).await;
                Ok(())
            }
        }
    }
}
