//! The Redis timeline cache. `{prefix}timeline:{user}` is a hash of the user's `generation` and a JSON page per
//! shape (`all`, `unread`), with the TTL. Generations come from the counter `{prefix}timeline:generations`; an
//! entry whose generation is at or below `{prefix}timeline:floor` is stale (everyone was invalidated since).
//! Invalidating a user deletes the hash: the next reader takes a new generation from the counter.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{corrupt, Cached, Ticket, TimelineShape};
use crate::cache::{CacheError, RedisCache};
use crate::domain::{ArticlePage, UserId};

/// KEYS: the user's hash, the counter, the floor. ARGV: the shape's field, the TTL in seconds.
/// Returns `{generation, page}` on a hit, `{generation}` on a miss (creating the entry if needed).
const LOOKUP: &str = r"
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
local generation = redis.call('HGET', KEYS[1], 'generation')
if generation and tonumber(generation) <= floor then
  redis.call('DEL', KEYS[1])
  generation = false
end
if generation then
  local page = redis.call('HGET', KEYS[1], ARGV[1])
  if page then
    return {generation, page}
  end
  return {generation}
end
generation = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'generation', generation)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {tostring(generation)}
";

/// KEYS: the user's hash. ARGV: the ticket's generation, the shape's field, the page, the TTL in seconds.
/// Stores the page only if the entry still has that generation; returns 1 if it did.
const FILL: &str = r"
if redis.call('HGET', KEYS[1], 'generation') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
";

/// KEYS: the counter, the floor. Every generation issued so far becomes stale.
const INVALIDATE_EVERYONE: &str = r"
local generation = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], generation)
return generation
";

#[derive(Clone)]
pub(super) struct RedisTimeline {
    connection: ConnectionManager,
    key_prefix: String,
    ttl_seconds: u64,
}

impl RedisTimeline {
    pub(super) fn new(cache: &RedisCache, ttl: Duration) -> Self {
        RedisTimeline {
            connection: cache.connection(),
            key_prefix: cache.key_prefix().to_owned(),
            ttl_seconds: ttl.as_secs().max(1),
        }
    }

    fn key(&self, user: UserId) -> String {
        format!("{}timeline:{}", self.key_prefix, user.simple())
    }

    fn counter(&self) -> String {
        format!("{}timeline:generations", self.key_prefix)
    }

    fn floor(&self) -> String {
        format!("{}timeline:floor", self.key_prefix)
    }

    pub(super) async fn lookup(&self, user: UserId, shape: TimelineShape) -> Result<Cached, CacheError> {
        let mut connection = self.connection.clone();
        let reply: Vec<String> = redis::cmd("EVAL")
            .arg(LOOKUP)
            .arg(3)
            .arg(self.key(user))
            .arg(self.counter())
            .arg(self.floor())
            .arg(shape.field())
            .arg(self.ttl_seconds)
            .query_async(&mut connection)
            .await?;
        match reply.as_slice() {
            [_, page] => Ok(Cached::Page(serde_json::from_str(page).map_err(corrupt)?)),
            [generation] => generation
                .parse()
                .map(Cached::Generation)
                .map_err(|_| CacheError::Corrupt(format!("the generation {generation:?} is not a number"))),
            _ => Err(CacheError::Corrupt(format!(
                "{} values from the lookup script",
                reply.len()
            ))),
        }
    }

    pub(super) async fn fill(&self, ticket: &Ticket, page: &ArticlePage) -> Result<(), CacheError> {
        let page = serde_json::to_string(page).map_err(corrupt)?;
        let mut connection = self.connection.clone();
        let _stored: i64 = redis::cmd("EVAL")
            .arg(FILL)
            .arg(1)
            .arg(self.key(ticket.user))
            .arg(ticket.generation)
            .arg(ticket.shape.field())
            .arg(page)
            .arg(self.ttl_seconds)
            .query_async(&mut connection)
            .await?;
        Ok(())
    }

    pub(super) async fn invalidate(&self, user: UserId) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        redis::cmd("DEL")
            .arg(self.key(user))
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    pub(super) async fn invalidate_everyone(&self) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        redis::cmd("EVAL")
            .arg(INVALIDATE_EVERYONE)
            .arg(2)
            .arg(self.counter())
            .arg(self.floor())
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use crate::cache::timeline::{TimelineCache, TimelineSettings};
    use crate::cache::{CacheSettings, FeedCache};

    fn cache(redis_url: &str) -> TimelineCache {
        let feed_cache = FeedCache::new(&CacheSettings {
            redis_url: Some(redis_url.to_owned()),
            key_prefix: format!("syndic-test-{}:", Uuid::new_v4().simple()),
            ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            max_entries: 10,
        })
        .expect("a Redis URL");
        TimelineCache::beside(&feed_cache, &TimelineSettings::default())
    }

    fn redis() -> TimelineCache {
        cache(&std::env::var("SYNDIC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()))
    }

    #[tokio::test]
    async fn a_filled_page_is_a_hit_for_its_shape_only() {
        super::super::tests::a_filled_page_is_a_hit_for_its_shape_only(&redis()).await;
    }

    #[tokio::test]
    async fn a_page_read_before_an_invalidation_is_not_stored() {
        super::super::tests::a_page_read_before_an_invalidation_is_not_stored(&redis()).await;
    }

    #[tokio::test]
    async fn invalidating_everyone_drops_every_page_and_refuses_older_tickets() {
        super::super::tests::invalidating_everyone_drops_every_page_and_refuses_older_tickets(&redis()).await;
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_bypassed_and_a_failed_invalidation_distrusts_the_user() {
        super::super::tests::an_unreachable_redis_is_bypassed(&cache("redis://127.0.0.1:1")).await;
        super::super::tests::a_distrusted_user_bypasses_the_cache(&redis()).await;
    }
}
