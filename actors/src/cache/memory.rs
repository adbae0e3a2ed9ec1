//! The in-process feed cache of the embedded set-up: bounded in entries, each entry living for the TTL.

use std::sync::Arc;

use moka::future::Cache;

use super::{CacheSettings, CachedFeed};

#[derive(Clone)]
pub struct MemoryCache {
    entries: Cache<String, Arc<CachedFeed>>,
}

impl MemoryCache {
    pub fn new(settings: &CacheSettings) -> Self {
        let entries = Cache::builder()
            .max_capacity(settings.max_entries)
            .time_to_live(settings.ttl)
            .build();
        MemoryCache { entries }
    }

    pub async fn get(&self, url: &str) -> Option<CachedFeed> {
        self.entries.get(url).await.map(|feed| feed.as_ref().clone())
    }

    pub async fn put(&self, url: &str, feed: CachedFeed) {
        self.entries.insert(url.to_owned(), Arc::new(feed)).await;
    }

    /// Re-inserting restarts the entry's time to live.
    pub async fn touch(&self, url: &str) {
        if let Some(feed) = self.entries.get(url).await {
            self.entries.insert(url.to_owned(), feed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::StoredArticle;

    fn settings(ttl: Duration) -> CacheSettings {
        CacheSettings {
            redis_url: None,
            key_prefix: String::new(),
            ttl,
            timeout: Duration::from_secs(1),
            max_entries: 100,
        }
    }

    fn feed() -> CachedFeed {
        CachedFeed {
            feed_id: 7,
            articles: vec![StoredArticle {
                id: 1,
                title: Some("t".into()),
                link: None,
            }],
        }
    }

    #[tokio::test]
    async fn entries_round_trip_and_expire_after_the_ttl() {
        let cache = MemoryCache::new(&settings(Duration::from_millis(200)));
        assert_eq!(cache.get("https://a/feed").await, None);
        cache.put("https://a/feed", feed()).await;
        assert_eq!(cache.get("https://a/feed").await, Some(feed()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(cache.get("https://a/feed").await, None);
    }

    #[tokio::test]
    async fn touch_restarts_the_ttl() {
        let cache = MemoryCache::new(&settings(Duration::from_millis(300)));
        cache.put("u", feed()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        cache.touch("u").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(cache.get("u").await, Some(feed()), "touched 200 ms ago, TTL 300 ms");
        cache.touch("missing").await;
        assert_eq!(cache.get("missing").await, None, "touch does not create entries");
    }
}
