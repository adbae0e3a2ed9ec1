//! Builders shared by the cases: users, entries, polls, batches, times, timeline queries, webhooks and what
//! their outbox holds.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use syndic_actors::domain::{Article, ArticleQuery, Enclosure, FeedId, NewUser, ReadFilter, User, UserId};
use syndic_actors::parse::Entry;
use syndic_actors::store::{FeedBatch, PollRecord, Store, StoredBatch, UnchangedPoll};
use syndic_actors::webhook::{NewWebhook, WebhookId};

pub type SharedStore = Arc<dyn Store>;

/// A time from RFC 3339 text; microsecond precision, which both backends keep exactly.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("bad test time {text:?}: {error}"))
        .with_timezone(&Utc)
}

/// The current time, cut to the microseconds the backends store.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("now is in range")
}

pub async fn user(store: &SharedStore, name: &str) -> User {
    store
        .create_user(&NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: format!("hash-of-{name}"),
            invite_hash: None,
        })
        .await
        .expect("create a user")
}

pub async fn subscribe(store: &SharedStore, user: &User, url: &str) -> FeedId {
    store.subscribe(user.id, url).await.expect("subscribe").feed_id
}

/// An entry with every field set from its key.
pub fn entry(key: &str, published_at: Option<DateTime<Utc>>) -> Entry {
    Entry {
        dedupe_key: key.to_owned(),
        guid: Some(format!("guid-{key}")),
        url: Some(format!("https://example.com/{key}")),
        title: Some(format!("Title {key}")),
        summary: Some(format!("Summary of {key}")),
        content: Some(format!("<p>Content of {key}</p>")),
        author: Some(format!("Author {key}")),
        categories: vec![format!("category-{key}"), "shared".to_owned()],
        enclosures: vec![Enclosure {
            url: format!("https://cdn.example.com/{key}.mp3"),
            media_type: Some("audio/mpeg".to_owned()),
            length: Some(key.len() as u64),
        }],
        published_at,
    }
}

/// Entries `key-0` … `key-{count-1}`, each one minute later than the one before.
pub fn dated_entries(key: &str, count: usize, first: DateTime<Utc>) -> Vec<Entry> {
    (0..count)
        .map(|index| {
            let published = first + chrono::Duration::minutes(index as i64);
            entry(&format!("{key}-{index}"), Some(published))
        })
        .collect()
}

pub fn poll(polled_at: DateTime<Utc>) -> PollRecord {
    PollRecord {
        title: Some("A feed".to_owned()),
        site_url: Some("https://example.com/".to_owned()),
        etag: Some("\"etag-1\"".to_owned()),
        last_modified: Some("Mon, 23 Nov 2026 10:00:00 GMT".to_owned()),
        polled_at,
        next_poll_at: polled_at + chrono::Duration::minutes(15),
    }
}

pub fn batch(feed_id: FeedId, entries: Vec<Entry>, polled_at: DateTime<Utc>) -> FeedBatch {
    FeedBatch {
        feed_id,
        entries,
        poll: poll(polled_at),
    }
}

pub async fn persist_one(store: &SharedStore, batch: FeedBatch) -> StoredBatch {
    let mut stored = store
        .persist_batches(std::slice::from_ref(&batch))
        .await
        .expect("persist a batch");
    assert_eq!(stored.len(), 1, "one result per batch");
    stored.remove(0)
}

/// Records one poll that found nothing new.
pub async fn unchanged(store: &SharedStore, feed_id: FeedId, polled_at: DateTime<Utc>, next_poll_at: DateTime<Utc>) {
    let poll = UnchangedPoll {
        feed_id,
        polled_at,
        next_poll_at,
    };
    store
        .record_polls_unchanged(&[poll])
        .await
        .expect("record an unchanged poll");
}

pub fn query(status: ReadFilter) -> ArticleQuery {
    ArticleQuery {
        feed_id: None,
        status,
        starred: None,
        limit: 100,
        cursor: None,
        filter: Default::default(),
    }
}

/// Every article of the user's timeline matching the query, in one page.
pub async fn timeline(store: &SharedStore, user: UserId, query: &ArticleQuery) -> Vec<Article> {
    let page = store.list_articles(user, query).await.expect("list articles");
    assert!(page.next_cursor.is_none(), "the test expects a single page");
    page.articles
}

pub async fn timeline_ids(store: &SharedStore, user: UserId, query: &ArticleQuery) -> Vec<i64> {
    timeline(store, user, query)
        .await
        .iter()
        .map(|article| article.id)
        .collect()
}

/// The ids a query should return: newest first, ties broken by the larger id.
pub fn newest_first(articles: &[Article]) -> Vec<i64> {
    let mut sorted: Vec<&Article> = articles.iter().collect();
    sorted.sort_by_key(|article| std::cmp::Reverse((article.published_at, article.id)));
    sorted.iter().map(|article| article.id).collect()
}

/// A webhook of `user`'s for `events`, filtered to `feed` when given.
pub async fn webhook(store: &SharedStore, user: &User, events: &[&str], feed: Option<FeedId>) -> WebhookId {
    let webhook = NewWebhook {
        user_id: user.id,
        url: "https://hooks.example/receive".to_owned(),
        events: events.iter().map(|event| (*event).to_owned()).collect(),
        feed_id: feed,
        category: None,
        saved_filter: None,
        timer_id: None,
    };
    store.create_webhook(&webhook).await.expect("create a webhook").id
}

/// The webhook's deliveries waiting in the outbox, oldest first: each one's event and `data`.
pub async fn outbox(store: &SharedStore, webhook: WebhookId) -> Vec<(String, serde_json::Value)> {
    store
        .due_deliveries(webhook, now() + chrono::Duration::seconds(1), 1_000)
        .await
        .expect("due deliveries")
        .into_iter()
        .map(|delivery| {
            let envelope: serde_json::Value = serde_json::from_str(&delivery.payload).expect("a JSON payload");
            (delivery.event, envelope["data"].clone())
        })
        .collect()
}
