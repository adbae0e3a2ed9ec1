//! The Redis feed cache: `feed:{url}` is a hash of `feed_id` and `articles` (JSON of id, title, link), with a TTL.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use super::{CacheError, CacheSettings, CachedFeed};
use crate::domain::FeedId;

#[derive(Clone)]
pub struct RedisCache {
    connection: ConnectionManager,
    key_prefix: String,
    ttl_seconds: i64,
}

impl RedisCache {
    /// Connects lazily: a Redis that is down at start-up does not stop the engine, and the connection
    /// manager reconnects on its own when Redis comes back.
    pub fn new(url: &str, settings: &CacheSettings) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(2)
            .set_max_delay(settings.timeout);
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisCache {
            connection,
            key_prefix: settings.key_prefix.clone(),
            ttl_seconds: settings.ttl.as_secs().max(1) as i64,
        })
    }

    /// The connection, for the timeline cache that shares it.
    pub(super) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    pub(super) fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    fn key(&self, url: &str) -> String {
        format!("{}feed:{}", self.key_prefix, url)
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }

    pub async fn get(&self, url: &str) -> Result<Option<CachedFeed>, CacheError> {
        let mut connection = self.connection.clone();
        let (feed_id, articles): (Option<FeedId>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(url))
            .arg("feed_id")
            .arg("articles")
            .query_async(&mut connection)
            .await?;
        let (Some(feed_id), Some(articles)) = (feed_id, articles) else {
            return Ok(None);
        };
        let articles = serde_json::from_str(&articles).map_err(|error| CacheError::Corrupt(error.to_string()))?;
        Ok(Some(CachedFeed { feed_id, articles }))
    }

    /// Replaces the entry and restarts its TTL, atomically.
    pub async fn put(&self, url: &str, feed: &CachedFeed) -> Result<(), CacheError> {
        let articles = serde_json::to_string(&feed.articles).map_err(|error| CacheError::Corrupt(error.to_string()))?;
        let key = self.key(url);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &[("feed_id", feed.feed_id.to_string()), ("articles", articles)])
            .expire(&key, self.ttl_seconds)
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    /// Restarts the TTL of an entry that is still right (the feed answered 304).
    pub async fn touch(&self, url: &str) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let _: bool = connection.expire(self.key(url), self.ttl_seconds).await?;
        Ok(())
    }
}
