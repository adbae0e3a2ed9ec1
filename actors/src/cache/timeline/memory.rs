//! The in-process timeline cache of the embedded set-up: one entry per user, bounded in users, each living for
//! the TTL from its creation. An entry's lock makes "store if the generation is unchanged" atomic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use moka::future::Cache;

use super::{Cached, Ticket, TimelineSettings, TimelineShape};
use crate::domain::{ArticlePage, UserId};

#[derive(Clone)]
pub(super) struct MemoryTimeline {
    entries: Cache<UserId, Arc<Mutex<UserTimeline>>>,
    /// Where every generation comes from, so that none repeats.
    generations: Arc<AtomicU64>,
}

/// One user's cached first pages and the generation they were read under.
struct UserTimeline {
    generation: u64,
    all: Option<ArticlePage>,
    unread: Option<ArticlePage>,
}

impl UserTimeline {
    fn page(&mut self, shape: TimelineShape) -> &mut Option<ArticlePage> {
        match shape {
            TimelineShape::All => &mut self.all,
            TimelineShape::Unread => &mut self.unread,
        }
    }
}

impl MemoryTimeline {
    pub(super) fn new(settings: &TimelineSettings) -> Self {
        MemoryTimeline {
            entries: Cache::builder()
                .max_capacity(settings.max_users)
                .time_to_live(settings.ttl)
                .build(),
            generations: Arc::new(AtomicU64::new(0)),
        }
    }

    fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(super) async fn lookup(&self, user: UserId, shape: TimelineShape) -> Cached {
        let entry = self
            .entries
            .get_with(user, async {
                Arc::new(Mutex::new(UserTimeline {
                    generation: self.next_generation(),
                    all: None,
                    unread: None,
                }))
            })
            .await;
        let mut timeline = lock(&entry);
        match timeline.page(shape) {
            Some(page) => Cached::Page(page.clone()),
            None => Cached::Generation(timeline.generation),
        }
    }

    /// Stores the page if the user's entry still has the ticket's generation. An entry evicted since the
    /// ticket was issued is not recreated: the next reader starts a new one.
    pub(super) async fn fill(&self, ticket: &Ticket, page: &ArticlePage) {
        let Some(entry) = self.entries.get(&ticket.user).await else {
            return;
        };
        let mut timeline = lock(&entry);
        if timeline.generation == ticket.generation {
            *timeline.page(ticket.shape) = Some(page.clone());
        }
    }

    pub(super) async fn invalidate(&self, user: UserId) {
        // Without an entry there is no page and no ticket to refuse: a reader that creates one after this
        // point reads the database after the write.
        if let Some(entry) = self.entries.get(&user).await {
            let generation = self.next_generation();
            let mut timeline = lock(&entry);
            timeline.generation = generation;
            timeline.all = None;
            timeline.unread = None;
        }
    }

    pub(super) fn invalidate_everyone(&self) {
        self.entries.invalidate_all();
    }
}

/// The entry's lock; a panic while holding it cannot leave a half-written entry, so a poisoned lock is used as is.
fn lock(entry: &Mutex<UserTimeline>) -> MutexGuard<'_, UserTimeline> {
    entry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;
    use crate::cache::timeline::{Lookup, TimelineCache};
    use crate::cache::{CacheSettings, FeedCache};

    fn cache(ttl: Duration) -> TimelineCache {
        let feed_cache = FeedCache::new(&CacheSettings {
            redis_url: None,
            key_prefix: String::new(),
            ttl,
            timeout: Duration::from_secs(1),
            max_entries: 10,
        })
        .expect("an in-process cache");
        TimelineCache::beside(&feed_cache, &TimelineSettings { ttl, max_users: 10 })
    }

    fn page(title: &str) -> ArticlePage {
        super::super::tests::page(title)
    }

    #[tokio::test]
    async fn a_filled_page_is_a_hit_for_its_shape_only() {
        super::super::tests::a_filled_page_is_a_hit_for_its_shape_only(&cache(Duration::from_secs(60))).await;
    }

    #[tokio::test]
    async fn a_page_read_before_an_invalidation_is_not_stored() {
        super::super::tests::a_page_read_before_an_invalidation_is_not_stored(&cache(Duration::from_secs(60))).await;
    }

    #[tokio::test]
    async fn invalidating_everyone_drops_every_page_and_refuses_older_tickets() {
        super::super::tests::invalidating_everyone_drops_every_page_and_refuses_older_tickets(&cache(
            Duration::from_secs(60),
        ))
        .await;
    }

    #[tokio::test]
    async fn a_page_lives_for_the_ttl() {
        let cache = cache(Duration::from_millis(200));
        let user = Uuid::new_v4();
        let Lookup::Miss(ticket) = cache.lookup(user, TimelineShape::All).await else {
            panic!("an empty cache misses");
        };
        cache.fill(ticket, &page("a")).await;
        assert!(matches!(cache.lookup(user, TimelineShape::All).await, Lookup::Hit(_)));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            matches!(cache.lookup(user, TimelineShape::All).await, Lookup::Miss(_)),
            "expired"
        );
    }
}
