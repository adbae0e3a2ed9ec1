//! The rows `syndic copy` exports, as both backends read them, and their conversion into transfer records.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{optional, Decoded};
use super::transfer::{ArticleMarkRecord, ArticleRecord, FeedRecord, SubscriptionRecord, UserRecord};
use super::StoreError;

/// A row that becomes one record of a transfer page.
pub(super) trait IntoRecord {
    type Record;
    fn into_record(self) -> Result<Self::Record, StoreError>;
}

/// Converts every row of a page, failing on the first that does not decode.
pub(super) fn records<Row: IntoRecord>(rows: Vec<Row>) -> Result<Vec<Row::Record>, StoreError> {
    rows.into_iter().map(IntoRecord::into_record).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct UserExportRow<Id, Time> {
    id: Id,
    username: String,
    email: String,
    password_hash: String,
    role: String,
    created_at: Time,
    last_event_id: i64,
    display_name: Option<String>,
    display_name_visibility: String,
    email_visibility: String,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>> IntoRecord for UserExportRow<Id, Time> {
    type Record = UserRecord;

    fn into_record(self) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: self.id.decoded()?,
            username: self.username,
            email: self.email,
            password_hash: self.password_hash,
            role: self.role,
            created_at: self.created_at.decoded()?,
            last_event_id: self.last_event_id,
            display_name: self.display_name,
            display_name_visibility: self.display_name_visibility,
            email_visibility: self.email_visibility,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FeedExportRow<Time> {
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
    created_at: Time,
    dead_since: Option<Time>,
    last_seq: i64,
}

impl<Time: Decoded<DateTime<Utc>>> IntoRecord for FeedExportRow<Time> {
    type Record = FeedRecord;

    fn into_record(self) -> Result<FeedRecord, StoreError> {
        Ok(FeedRecord {
            id: self.id,
            url: self.url,
            title: self.title,
            site_url: self.site_url,
            etag: self.etag,
            last_modified: self.last_modified,
            status: self.status,
            last_polled_at: optional(self.last_polled_at)?,
            next_poll_at: optional(self.next_poll_at)?,
            error_count: self.error_count,
            last_error: self.last_error,
            created_at: self.created_at.decoded()?,
            dead_since: optional(self.dead_since)?,
            last_seq: self.last_seq,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SubscriptionExportRow<Id, Time, Tags> {
    user_id: Id,
    feed_id: i64,
    created_at: Time,
    read_through_seq: i64,
    marked_read: i64,
    marked_unread: i64,
    category: Option<String>,
    title: Option<String>,
    tags: Tags,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>, Tags: Decoded<Vec<String>>> IntoRecord
    for SubscriptionExportRow<Id, Time, Tags>
{
    type Record = SubscriptionRecord;

    fn into_record(self) -> Result<SubscriptionRecord, StoreError> {
        Ok(SubscriptionRecord {
            user_id: self.user_id.decoded()?,
            feed_id: self.feed_id,
            created_at: self.created_at.decoded()?,
            read_through_seq: self.read_through_seq,
            marked_read: self.marked_read,
            marked_unread: self.marked_unread,
            category: self.category,
            title: self.title,
            tags: self.tags.decoded()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ArticleExportRow<Time, Categories> {
    id: i64,
    feed_id: i64,
    dedupe_key: String,
    guid: Option<String>,
    url: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    author: Option<String>,
    categories: Categories,
    published_at: Time,
    fetched_at: Time,
    enclosures: Option<String>,
    seq: i64,
}

impl<Time: Decoded<DateTime<Utc>>, Categories: Decoded<Vec<String>>> IntoRecord for ArticleExportRow<Time, Categories> {
    type Record = ArticleRecord;

    fn into_record(self) -> Result<ArticleRecord, StoreError> {
        Ok(ArticleRecord {
            id: self.id,
            feed_id: self.feed_id,
            dedupe_key: self.dedupe_key,
            guid: self.guid,
            url: self.url,
            title: self.title,
            summary: self.summary,
            content: self.content,
            author: self.author,
            categories: self.categories.decoded()?,
            published_at: self.published_at.decoded()?,
            fetched_at: self.fetched_at.decoded()?,
            enclosures: self.enclosures,
            seq: self.seq,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ArticleMarkExportRow<Id, Time> {
    user_id: Id,
    article_id: i64,
    feed_id: i64,
    published_at: Time,
    read_mark: Option<bool>,
    read_at: Option<Time>,
    starred_at: Option<Time>,
}

impl<Id: Decoded<Uuid>, Time: Decoded<DateTime<Utc>>> IntoRecord for ArticleMarkExportRow<Id, Time> {
    type Record = ArticleMarkRecord;

    fn into_record(self) -> Result<ArticleMarkRecord, StoreError> {
        Ok(ArticleMarkRecord {
            user_id: self.user_id.decoded()?,
            article_id: self.article_id,
            feed_id: self.feed_id,
            published_at: self.published_at.decoded()?,
            read_mark: self.read_mark,
            read_at: optional(self.read_at)?,
            starred_at: optional(self.starred_at)?,
        })
    }
}
