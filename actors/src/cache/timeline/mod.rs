//! The timeline cache, cache-aside: the first page of each user's default timeline queries, kept in Redis under
//! `{prefix}timeline:{user}` (in-process when embedded) for a short TTL, and dropped by every write that changes
//! what the page shows, before that write is answered.
//!
//! Cached shapes ([`TimelineShape`]): no cursor, no feed, no starred filter, the default limit
//! ([`CACHED_LIMIT`]), and a read filter of `all` (the API's default) or `unread`. Every other query goes to the
//! database.
//!
//! Staleness. A reader that misses notes the user's *generation* before it queries the database, and its page is
//! stored only if the generation is still the same (atomically: a Lua script in Redis, the entry's lock
//! in-process). An invalidation gives the user a new generation, so a page read before a write and offered after
//! that write's invalidation is refused. Generations come from one counter and never repeat, so an entry that
//! expired or was evicted between the note and the store cannot be mistaken for the one noted.
//!
//! When Redis fails. A lookup or a store that fails is a miss: the page comes from the database. An invalidation
//! that fails may leave an old page in Redis, so this process skips the cache for that user (reads and stores)
//! for twice the TTL: long enough for any page stored before or during the failure to have expired, since a
//! reader that took longer than the TTL does not store its page. The skip list is per process, which is enough
//! with one engine per key prefix.

mod memory;
mod on_events;
mod redis;

use std::time::{Duration, Instant};

use moka::future::Cache;

use self::memory::MemoryTimeline;
pub use self::on_events::invalidate_on_new_articles;
use self::redis::RedisTimeline;
use super::{CacheError, FeedCache};
use crate::domain::{ArticlePage, ArticleQuery, ReadFilter, UserId};
use crate::instruments;

/// The page size that is cached: the API's default limit.
pub const CACHED_LIMIT: u32 = 50;

/// Which of a user's first pages an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineShape {
    /// `status=all` (the default).
    All,
    /// `status=unread`.
    Unread,
}

impl TimelineShape {
    /// The shape of a query that is cached, or `None` when the query goes to the database.
    pub fn of(query: &ArticleQuery) -> Option<TimelineShape> {
        let default_page = query.cursor.is_none()
            && query.feed_id.is_none()
            && query.starred.is_none()
            && query.filter.is_empty()
            && query.limit == CACHED_LIMIT;
        match query.status {
            ReadFilter::All if default_page => Some(TimelineShape::All),
            ReadFilter::Unread if default_page => Some(TimelineShape::Unread),
            _ => None,
        }
    }

    /// The entry's field for this shape.
    fn field(self) -> &'static str {
        match self {
            TimelineShape::All => "all",
            TimelineShape::Unread => "unread",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TimelineSettings {
    /// How long a cached page lives; zero turns the cache off.
    pub ttl: Duration,
    /// Most users the in-process cache keeps.
    pub max_users: u64,
}

impl Default for TimelineSettings {
    fn default() -> Self {
        TimelineSettings {
            ttl: Duration::from_secs(60),
            max_users: 10_000,
        }
    }
}

/// What a miss hands the reader: the generation to store its page under.
#[derive(Debug)]
pub struct Ticket {
    user: UserId,
    shape: TimelineShape,
    generation: u64,
    noted_at: Instant,
}

#[derive(Debug)]
pub enum Lookup {
    Hit(ArticlePage),
    /// Read the database, then offer the page to [`TimelineCache::fill`] with this ticket.
    Miss(Ticket),
    /// The cache is off, unreachable or not trusted for this user: read the database and store nothing.
    Bypass,
}

#[derive(Clone)]
enum Backend {
    Off,
    Memory(MemoryTimeline),
    Redis(RedisTimeline),
}

#[derive(Clone)]
pub struct TimelineCache {
    backend: Backend,
    ttl: Duration,
    /// Users whose invalidation failed, for twice the TTL: their entry may be stale.
    distrusted: Cache<UserId, ()>,
}

impl TimelineCache {
    /// A timeline cache beside the feed cache: the same Redis connection and key prefix, or in-process when
    /// the feed cache is.
    pub fn beside(feed_cache: &FeedCache, settings: &TimelineSettings) -> TimelineCache {
        let backend = match feed_cache {
            _ if settings.ttl.is_zero() => Backend::Off,
            FeedCache::Redis(cache) => Backend::Redis(RedisTimeline::new(cache, settings.ttl)),
            FeedCache::Memory(_) => Backend::Memory(MemoryTimeline::new(settings)),
        };
        TimelineCache {
            backend,
            ttl: settings.ttl,
            // Not bounded: only users who wrote while Redis failed are listed, each for twice the TTL, and
            // dropping one early could serve them a stale page.
            distrusted: Cache::builder().time_to_live(settings.ttl * 2).build(),
        }
    }

    /// A short name for logs: `redis`, `memory` or `off`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Off => "off",
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// The cached page, or a ticket to store the page the caller is about to read.
    pub async fn lookup(&self, user: UserId, shape: TimelineShape) -> Lookup {
        if self.distrusted.contains_key(&user) {
            instruments::timeline_cache_lookup(false);
            return Lookup::Bypass;
        }
        let looked_up = match &self.backend {
            Backend::Off => return Lookup::Bypass,
            Backend::Memory(cache) => Ok(cache.lookup(user, shape).await),
            Backend::Redis(cache) => cache.lookup(user, shape).await,
        };
        let noted_at = Instant::now();
        let lookup = match looked_up {
            Ok(Cached::Page(page)) => Lookup::Hit(page),
            Ok(Cached::Generation(generation)) => Lookup::Miss(Ticket {
                user,
                shape,
                generation,
                noted_at,
            }),
            Err(error) => {
                tracing::debug!(%user, %error, "timeline cache unavailable; reading the database");
                instruments::timeline_cache_error();
                Lookup::Bypass
            }
        };
        instruments::timeline_cache_lookup(matches!(lookup, Lookup::Hit(_)));
        lookup
    }

    /// Stores a page read after a miss, unless the user's timeline changed since the ticket was issued.
    pub async fn fill(&self, ticket: Ticket, page: &ArticlePage) {
        if ticket.noted_at.elapsed() >= self.ttl || self.distrusted.contains_key(&ticket.user) {
            return;
        }
        let filled = match &self.backend {
            Backend::Off => return,
            Backend::Memory(cache) => {
                cache.fill(&ticket, page).await;
                Ok(())
            }
            Backend::Redis(cache) => cache.fill(&ticket, page).await,
        };
        if let Err(error) = filled {
            tracing::debug!(user = %ticket.user, %error, "timeline page not cached");
            instruments::timeline_cache_error();
        }
    }

    /// Drops the user's cached pages and gives them a new generation, so that no page read before now is stored.
    pub async fn invalidate(&self, user: UserId) {
        let invalidated = match &self.backend {
            Backend::Off => return,
            Backend::Memory(cache) => {
                cache.invalidate(user).await;
                Ok(())
            }
            Backend::Redis(cache) => cache.invalidate(user).await,
        };
        if let Err(error) = invalidated {
            tracing::warn!(%user, %error, "timeline cache not invalidated; bypassing it for this user");
            instruments::timeline_cache_error();
            self.distrust(user).await;
        }
    }

    /// Drops every user's cached pages: when the events that would have invalidated some were lost.
    pub async fn invalidate_everyone(&self) {
        let invalidated = match &self.backend {
            Backend::Off => return,
            Backend::Memory(cache) => {
                cache.invalidate_everyone();
                Ok(())
            }
            Backend::Redis(cache) => cache.invalidate_everyone().await,
        };
        if let Err(error) = invalidated {
            // Nobody can be singled out: the pages expire with their TTL.
            tracing::warn!(%error, "timeline cache not invalidated for everyone");
            instruments::timeline_cache_error();
        }
    }

    /// Skips the cache for the user until any page stored before now has expired.
    async fn distrust(&self, user: UserId) {
        self.distrusted.insert(user, ()).await;
    }
}

/// What a backend found for a user and shape.
enum Cached {
    Page(ArticlePage),
    /// No page: the generation a page read now would be stored under.
    Generation(u64),
}

fn corrupt(error: serde_json::Error) -> CacheError {
    CacheError::Corrupt(error.to_string())
}

/// Behaviours both backends share, run by each backend's tests.
#[cfg(test)]
pub(super) mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::domain::Article;

    pub(super) fn page(title: &str) -> ArticlePage {
        let article = Article {
            id: 1,
            feed_id: 2,
            feed_title: Some("feed".into()),
            title: Some(title.into()),
            url: None,
            summary: None,
            content: None,
            author: None,
            categories: vec!["c".into()],
            enclosures: Vec::new(),
            published_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            read: false,
            starred: false,
        };
        ArticlePage {
            articles: vec![article],
            next_cursor: None,
        }
    }

    async fn miss(cache: &TimelineCache, user: UserId, shape: TimelineShape) -> Ticket {
        match cache.lookup(user, shape).await {
            Lookup::Miss(ticket) => ticket,
            other => panic!("expected a miss, got {other:?}"),
        }
    }

    async fn hit(cache: &TimelineCache, user: UserId, shape: TimelineShape) -> ArticlePage {
        match cache.lookup(user, shape).await {
            Lookup::Hit(page) => page,
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    pub(super) async fn a_filled_page_is_a_hit_for_its_shape_only(cache: &TimelineCache) {
        let (user, other_user) = (Uuid::new_v4(), Uuid::new_v4());
        let ticket = miss(cache, user, TimelineShape::All).await;
        cache.fill(ticket, &page("all")).await;
        assert_eq!(hit(cache, user, TimelineShape::All).await, page("all"));
        miss(cache, user, TimelineShape::Unread).await;
        miss(cache, other_user, TimelineShape::All).await;
        cache.invalidate(user).await;
        miss(cache, user, TimelineShape::All).await;
    }

    /// The cache-aside race: a reader misses and reads the database, a write commits and invalidates, then the
    /// reader offers its (old) page.
    pub(super) async fn a_page_read_before_an_invalidation_is_not_stored(cache: &TimelineCache) {
        let user = Uuid::new_v4();
        let before_the_write = miss(cache, user, TimelineShape::Unread).await;
        cache.invalidate(user).await;
        let after_the_write = miss(cache, user, TimelineShape::Unread).await;
        cache.fill(before_the_write, &page("old")).await;
        miss(cache, user, TimelineShape::Unread).await;
        cache.fill(after_the_write, &page("new")).await;
        assert_eq!(hit(cache, user, TimelineShape::Unread).await, page("new"));
    }

    pub(super) async fn invalidating_everyone_drops_every_page_and_refuses_older_tickets(cache: &TimelineCache) {
        let (user, waiting_user) = (Uuid::new_v4(), Uuid::new_v4());
        let ticket = miss(cache, user, TimelineShape::All).await;
        cache.fill(ticket, &page("a")).await;
        let waiting = miss(cache, waiting_user, TimelineShape::All).await;
        cache.invalidate_everyone().await;
        cache.fill(waiting, &page("old")).await;
        miss(cache, user, TimelineShape::All).await;
        miss(cache, waiting_user, TimelineShape::All).await;
    }

    pub(super) async fn an_unreachable_redis_is_bypassed(cache: &TimelineCache) {
        let user = Uuid::new_v4();
        assert!(matches!(cache.lookup(user, TimelineShape::All).await, Lookup::Bypass));
        assert!(!cache.distrusted.contains_key(&user));
        cache.invalidate(user).await;
        assert!(
            cache.distrusted.contains_key(&user),
            "a failed invalidation distrusts the user"
        );
    }

    pub(super) async fn a_distrusted_user_bypasses_the_cache(cache: &TimelineCache) {
        let user = Uuid::new_v4();
        let ticket = miss(cache, user, TimelineShape::All).await;
        cache.fill(ticket, &page("maybe stale")).await;
        hit(cache, user, TimelineShape::All).await;
        cache.distrust(user).await;
        assert!(matches!(cache.lookup(user, TimelineShape::All).await, Lookup::Bypass));
    }
}
