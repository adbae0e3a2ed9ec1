//! Rows as SQLite returns them, the encoding of times and ids SQLite lacks types for, and their conversion into domain values.

use chrono::{DateTime, Utc};
use uuid::fmt::Hyphenated;

use super::StoreError;
use crate::domain::{Article, Enclosure, Feed, FeedStatus, Role, Subscription, User, UserCredentials};

/// A time as stored: microseconds since the Unix epoch, which sorts chronologically as an INTEGER.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Reads a stored time back; a value out of chrono's range means the row was not written by this store.
pub(super) fn time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| decode_error(format!("time out of range: {micros} µs")))
}

fn optional_time(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    micros.map(time).transpose()
}

fn decode_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: Hyphenated,
    username: String,
    email: String,
    role: String,
    created_at: i64,
    password_hash: String,
}

impl UserRow {
    pub(super) fn into_credentials(self) -> Result<UserCredentials, StoreError> {
        let role = Role::parse(&self.role).ok_or_else(|| decode_error(format!("unknown role {:?}", self.role)))?;
        Ok(UserCredentials {
            user: User {
                id: self.id.into_uuid(),
                username: self.username,
                email: self.email,
                role,
                created_at: time(self.created_at)?,
            },
            password_hash: self.password_hash,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FeedRow {
    id: i64,
    url: String,
    title: Option<String>,
    site_url: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    status: String,
    last_polled_at: Option<i64>,
    next_poll_at: Option<i64>,
    error_count: i32,
    last_error: Option<String>,
    dead_since: Option<i64>,
}

impl FeedRow {
    pub(super) fn into_feed(self) -> Result<Feed, StoreError> {
        let status = FeedStatus::parse(&self.status)
            .ok_or_else(|| decode_error(format!("unknown feed status {:?}", self.status)))?;
        Ok(Feed {
            id: self.id,
            url: self.url,
            title: self.title,
            site_url: self.site_url,
            etag: self.etag,
            last_modified: self.last_modified,
            status,
            last_polled_at: optional_time(self.last_polled_at)?,
            next_poll_at: optional_time(self.next_poll_at)?,
            error_count: self.error_count,
            last_error: self.last_error,
            dead_since: optional_time(self.dead_since)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SubscriptionRow {
    #[sqlx(flatten)]
    feed: FeedRow,
    subscribed_at: i64,
    unread_count: i64,
}

impl SubscriptionRow {
    pub(super) fn into_subscription(self) -> Result<Subscription, StoreError> {
        Ok(Subscription {
            feed: self.feed.into_feed()?,
            unread_count: self.unread_count,
            subscribed_at: time(self.subscribed_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ArticleRow {
    id: i64,
    feed_id: i64,
    feed_title: Option<String>,
    title: Option<String>,
    url: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    author: Option<String>,
    /// A JSON array of strings.
    categories: String,
    /// A JSON array, NULL when there are none.
    enclosures: Option<String>,
    published_at: i64,
    read: bool,
    starred: bool,
}

impl ArticleRow {
    pub(super) fn into_article(self) -> Result<Article, StoreError> {
        let categories: Vec<String> = serde_json::from_str(&self.categories)
            .map_err(|error| decode_error(format!("categories of article {}: {error}", self.id)))?;
        let enclosures = Enclosure::from_column(self.enclosures.as_deref())
            .map_err(|error| decode_error(format!("enclosures of article {}: {error}", self.id)))?;
        Ok(Article {
            id: self.id,
            feed_id: self.feed_id,
            feed_title: self.feed_title,
            title: self.title,
            url: self.url,
            summary: self.summary,
            content: self.content,
            author: self.author,
            categories,
            enclosures,
            published_at: time(self.published_at)?,
            read: self.read,
            starred: self.starred,
        })
    }
}
