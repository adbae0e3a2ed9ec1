//! Rows as both backends read them, and their conversion into domain values. The columns are the same; a backend
//! keeps times, user ids and category lists in its own types, which [`Decoded`] turns into the domain's.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{Article, Enclosure, Feed, FeedStatus, Role, Subscription, User, UserCredentials};
use crate::organise::CategoryRef;

/// The columns a [`FeedRow`] reads, from `feeds f`.
pub(super) const FEED_COLUMNS: &str =
    "f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.status, f.last_polled_at, \
     f.next_poll_at, f.error_count, f.last_error, f.dead_since";

/// The columns an [`ArticleRow`] reads, from `articles a`, its feed `f`, the reader's subscription `s` and their
/// mark `m` (left-joined): [`ARTICLE_JOINS`]. The read state is [`super::read_state::READ`].
pub(super) const ARTICLE_COLUMNS: &str =
    "a.id, a.feed_id, COALESCE(s.title, f.title) AS feed_title, a.title, a.url, a.summary, a.content, a.author, a.categories, \
     a.enclosures, a.published_at, COALESCE(m.read_mark, a.seq <= s.read_through_seq) AS read, \
     m.starred_at IS NOT NULL AS starred";

/// What [`ARTICLE_COLUMNS`] reads besides `articles a` and `subscriptions s`: the feed's title (a join, not a copy
/// per article) and the reader's mark.
pub(super) const ARTICLE_JOINS: &str =
    "JOIN feeds f ON f.id = a.feed_id LEFT JOIN article_marks m ON m.user_id = s.user_id AND m.article_id = a.id";

/// The columns a [`UserRow`] reads, from `users`.
pub(super) const USER_COLUMNS: &str = "id, username, email, role, created_at, password_hash";

/// A stored value as the domain knows it. A value that does not decode was not written by this store.
pub(super) trait Decoded<T> {
    fn decoded(self) -> Result<T, StoreError>;
}

impl Decoded<DateTime<Utc>> for DateTime<Utc> {
    fn decoded(self) -> Result<DateTime<Utc>, StoreError> {
        Ok(self)
    }
}

impl Decoded<Uuid> for Uuid {
    fn decoded(self) -> Result<Uuid, StoreError> {
        Ok(self)
    }
}

impl Decoded<Vec<String>> for Vec<String> {
    fn decoded(self) -> Result<Vec<String>, StoreError> {
        Ok(self)
    }
}

/// [`Decoded`] for a nullable column.
pub(super) fn optional<T, S: Decoded<T>>(value: Option<S>) -> Result<Option<T>, StoreError> {
    value.map(Decoded::decoded).transpose()
}

pub(super) fn decode_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

/// Categories as a JSON array, the form both backends take them in on a write.
pub(super) fn categories_json(categories: &[String]) -> String {
    serde_json::to_string(categories).unwrap_or_else(|_| "[]".to_owned())
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow<Id, Time> {
    id: Id,
    username: String,
    email: String,
    role: String,
    created_at: Time,
    password_hash: String,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>> UserRow<Id, Time> {
    pub(super) fn into_credentials(self) -> Result<UserCredentials, StoreError> {
        let role = Role::parse(&self.role).ok_or_else(|| decode_error(format!("unknown role {:?}", self.role)))?;
        Ok(UserCredentials {
            user: User {
                id: self.id.decoded()?,
                username: self.username,
                email: self.email,
                role,
                created_at: self.created_at.decoded()?,
            },
            password_hash: self.password_hash,
        })
    }

    pub(super) fn into_user(self) -> Result<User, StoreError> {
        self.into_credentials().map(|credentials| credentials.user)
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FeedRow<Time> {
    id: i64,
    url: String,
    title: Option<String>,
    site_url: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    status: String,
    last_polled_at: Option<Time>,
    next_poll_at: Option<Time>,
    error_count: i32,
    last_error: Option<String>,
    dead_since: Option<Time>,
}

impl<Time: Decoded<DateTime<Utc>>> FeedRow<Time> {
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
            last_polled_at: optional(self.last_polled_at)?,
            next_poll_at: optional(self.next_poll_at)?,
            error_count: self.error_count,
            last_error: self.last_error,
            dead_since: optional(self.dead_since)?,
        })
    }
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn feeds<Time: Decoded<DateTime<Utc>>>(rows: Vec<FeedRow<Time>>) -> Result<Vec<Feed>, StoreError> {
    rows.into_iter().map(FeedRow::into_feed).collect()
}

/// What a [`SubscriptionRow`] reads besides the feed's columns, the times and the tags, from `subscriptions s` and
/// its category `c`, left-joined by [`CATEGORY_JOIN`].
pub(super) const ORGANISE_COLUMNS: &str = "s.title AS own_title, s.category_id, c.name AS category_name";

/// Joins a subscription `s` to its category `c`, if it has one.
pub(super) const CATEGORY_JOIN: &str = "LEFT JOIN categories c ON c.id = s.category_id";

#[derive(sqlx::FromRow)]
pub(super) struct SubscriptionRow<Time, Tags> {
    #[sqlx(flatten)]
    feed: FeedRow<Time>,
    subscribed_at: Time,
    unread_count: i64,
    own_title: Option<String>,
    category_id: Option<i64>,
    category_name: Option<String>,
    tags: Tags,
}

impl<Time: Decoded<DateTime<Utc>>, Tags: Decoded<Vec<String>>> SubscriptionRow<Time, Tags> {
    pub(super) fn into_subscription(self) -> Result<Subscription, StoreError> {
        let category = match (self.category_id, self.category_name) {
            (Some(id), Some(name)) => Some(CategoryRef { id, name }),
            _ => None,
        };
        Ok(Subscription {
            feed: self.feed.into_feed()?,
            unread_count: self.unread_count,
            subscribed_at: self.subscribed_at.decoded()?,
            title: self.own_title,
            category,
            tags: self.tags.decoded()?,
        })
    }
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn subscriptions<Time: Decoded<DateTime<Utc>>, Tags: Decoded<Vec<String>>>(
    rows: Vec<SubscriptionRow<Time, Tags>>,
) -> Result<Vec<Subscription>, StoreError> {
    rows.into_iter().map(SubscriptionRow::into_subscription).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct ArticleRow<Time, Categories> {
    id: i64,
    feed_id: i64,
    feed_title: Option<String>,
    title: Option<String>,
    url: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    author: Option<String>,
    categories: Categories,
    /// A JSON array, NULL when there are none.
    enclosures: Option<String>,
    published_at: Time,
    read: bool,
    starred: bool,
}

impl<Time: Decoded<DateTime<Utc>>, Categories: Decoded<Vec<String>>> ArticleRow<Time, Categories> {
    pub(super) fn into_article(self) -> Result<Article, StoreError> {
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
            categories: self.categories.decoded()?,
            enclosures,
            published_at: self.published_at.decoded()?,
            read: self.read,
            starred: self.starred,
        })
    }
}

/// Converts every row, failing on the first that does not decode.
pub(super) fn articles<Time: Decoded<DateTime<Utc>>, Categories: Decoded<Vec<String>>>(
    rows: Vec<ArticleRow<Time, Categories>>,
) -> Result<Vec<Article>, StoreError> {
    rows.into_iter().map(ArticleRow::into_article).collect()
}
