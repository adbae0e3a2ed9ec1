//! Rows as Postgres returns them, and their conversion into domain values.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{Article, Enclosure, Feed, FeedStatus, Role, Subscription, User, UserCredentials};

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    username: String,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
    password_hash: String,
}

impl UserRow {
    pub(super) fn into_credentials(self) -> Result<UserCredentials, StoreError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Database(sqlx::Error::Decode(format!("unknown role {:?}", self.role).into())))?;
        Ok(UserCredentials {
            user: User {
                id: self.id,
                username: self.username,
                email: self.email,
                role,
                created_at: self.created_at,
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
    last_polled_at: Option<DateTime<Utc>>,
    next_poll_at: Option<DateTime<Utc>>,
    error_count: i32,
    last_error: Option<String>,
    dead_since: Option<DateTime<Utc>>,
}

impl FeedRow {
    pub(super) fn into_feed(self) -> Result<Feed, StoreError> {
        let status = FeedStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("unknown feed status {:?}", self.status).into(),
            ))
        })?;
        Ok(Feed {
            id: self.id,
            url: self.url,
            title: self.title,
            site_url: self.site_url,
            etag: self.etag,
            last_modified: self.last_modified,
            status,
            last_polled_at: self.last_polled_at,
            next_poll_at: self.next_poll_at,
            error_count: self.error_count,
            last_error: self.last_error,
            dead_since: self.dead_since,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SubscriptionRow {
    #[sqlx(flatten)]
    feed: FeedRow,
    subscribed_at: DateTime<Utc>,
    unread_count: i64,
}

impl SubscriptionRow {
    pub(super) fn into_subscription(self) -> Result<Subscription, StoreError> {
        Ok(Subscription {
            feed: self.feed.into_feed()?,
            unread_count: self.unread_count,
            subscribed_at: self.subscribed_at,
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
    categories: Vec<String>,
    /// A JSON array, NULL when there are none.
    enclosures: Option<String>,
    published_at: DateTime<Utc>,
    read: bool,
    starred: bool,
}

impl ArticleRow {
    pub(super) fn into_article(self) -> Result<Article, StoreError> {
        let enclosures = Enclosure::from_column(self.enclosures.as_deref())
            .map_err(|error| StoreError::Database(sqlx::Error::Decode(Box::new(error))))?;
        Ok(Article {
            id: self.id,
            feed_id: self.feed_id,
            feed_title: self.feed_title,
            title: self.title,
            url: self.url,
            summary: self.summary,
            content: self.content,
            author: self.author,
            categories: self.categories,
            enclosures,
            published_at: self.published_at,
            read: self.read,
            starred: self.starred,
        })
    }
}
