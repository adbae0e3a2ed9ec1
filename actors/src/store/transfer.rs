//! Moving a whole database from one backend to another (`syndic copy`): every table's rows, page by page, in
//! key order, with their ids, hashes and timestamps unchanged.

use chrono::{DateTime, Utc};

use crate::domain::{ArticleId, FeedId, UserId};

use super::transfer_tables::{self as tables, PlainTable, Value, NOT_COPIED};

/// The tables, in the order a copy must write them (each refers only to those before it). The first five need
/// conversions of their own; the others are copied column by column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Feeds,
    Subscriptions,
    Articles,
    ArticleMarks,
    Plain(&'static PlainTable),
}

impl Table {
    pub const ALL: [Table; 23] = [
        Table::Users,
        Table::Plain(&tables::INVITES),
        Table::Plain(&tables::CATEGORIES),
        Table::Feeds,
        Table::Plain(&tables::FEED_ICONS),
        Table::Subscriptions,
        Table::Articles,
        Table::ArticleMarks,
        Table::Plain(&tables::EVENTS),
        Table::Plain(&tables::JOBS),
        Table::Plain(&tables::JOB_ITEMS),
        Table::Plain(&tables::SAVED_FILTERS),
        Table::Plain(&tables::WEBHOOKS),
        Table::Plain(&tables::WEBHOOK_DELIVERIES),
        Table::Plain(&tables::WEBHOOK_DELIVERY_ATTEMPTS),
        Table::Plain(&tables::TIMERS),
        Table::Plain(&tables::SESSIONS),
        Table::Plain(&tables::REFRESH_TOKENS),
        Table::Plain(&tables::API_KEYS),
        Table::Plain(&tables::FRIEND_REQUESTS),
        Table::Plain(&tables::FRIENDSHIPS),
        Table::Plain(&tables::SHARES),
        Table::Plain(&tables::NOTIFICATIONS),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Feeds => "feeds",
            Table::Subscriptions => "subscriptions",
            Table::Articles => "articles",
            Table::ArticleMarks => "article_marks",
            Table::Plain(table) => table.name,
        }
    }

    /// The tables of a schema that are neither copied nor known to be left out for a reason: a copy of a
    /// database holding any would lose them.
    pub fn unhandled(schema: &[String]) -> Vec<String> {
        schema
            .iter()
            .filter(|name| {
                !Table::ALL.iter().any(|table| table.name() == name.as_str())
                    && !NOT_COPIED.iter().any(|(skipped, _)| skipped == name)
            })
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    /// `user` or `admin`, as stored.
    pub role: String,
    pub created_at: DateTime<Utc>,
    /// The user's event counter: the copy's event ids go on from it, so a client's `Last-Event-ID` never
    /// points past the copy's log (copied too, as the `events` table).
    pub last_event_id: i64,
    pub display_name: Option<String>,
    /// `everyone`, `friends` or `nobody`, as stored.
    pub display_name_visibility: String,
    /// `friends` or `nobody`, as stored.
    pub email_visibility: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedRecord {
    pub id: FeedId,
    pub url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub status: String,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub error_count: i32,
    pub last_error: Option<String>,
    pub dead_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The number of the feed's newest article.
    pub last_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    pub user_id: UserId,
    pub feed_id: FeedId,
    pub created_at: DateTime<Utc>,
    /// The feed's articles numbered up to this count as read, unless marked otherwise.
    pub read_through_seq: i64,
    pub marked_read: i64,
    pub marked_unread: i64,
    /// The name of the user's category the subscription is in. A category with no feeds is not carried.
    pub category: Option<String>,
    /// The user's own title for the feed.
    pub title: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub feed_id: FeedId,
    pub dedupe_key: String,
    pub guid: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
    /// The stored JSON array as it is (see `Enclosure::to_column`), NULL when there are none.
    pub enclosures: Option<String>,
    pub published_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
    /// The article's number within its feed.
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArticleMarkRecord {
    pub user_id: UserId,
    pub article_id: ArticleId,
    pub feed_id: FeedId,
    pub published_at: DateTime<Utc>,
    /// Read or unread where that differs from the subscription's cutoff; `None` for a star only.
    pub read_mark: Option<bool>,
    pub read_at: Option<DateTime<Utc>>,
    pub starred_at: Option<DateTime<Utc>>,
}

/// One page of one table.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferPage {
    Users(Vec<UserRecord>),
    Feeds(Vec<FeedRecord>),
    Subscriptions(Vec<SubscriptionRecord>),
    Articles(Vec<ArticleRecord>),
    ArticleMarks(Vec<ArticleMarkRecord>),
    /// Rows of a plain table, each value in the table's column order.
    Rows(&'static PlainTable, Vec<Vec<Value>>),
}

/// Where the next page of a table starts: the key of the last row read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferPosition {
    User(UserId),
    Feed(FeedId),
    Subscription(UserId, FeedId),
    Article(ArticleId),
    ArticleMark(UserId, ArticleId),
    /// The key columns of a plain table's last row.
    Row(Vec<Value>),
}

impl TransferPosition {
    /// The keyset to continue after: the user part (if the table's key has one) and the integer part
    /// (0 when it has none). `None` means from the start.
    pub fn keys(position: Option<&TransferPosition>) -> (Option<UserId>, i64) {
        match position {
            Some(TransferPosition::User(user)) => (Some(*user), 0),
            Some(TransferPosition::Feed(id)) | Some(TransferPosition::Article(id)) => (None, *id),
            Some(TransferPosition::Subscription(user, id)) | Some(TransferPosition::ArticleMark(user, id)) => {
                (Some(*user), *id)
            }
            Some(TransferPosition::Row(_)) | None => (None, 0),
        }
    }
}

impl TransferPage {
    pub fn len(&self) -> usize {
        match self {
            TransferPage::Users(rows) => rows.len(),
            TransferPage::Feeds(rows) => rows.len(),
            TransferPage::Subscriptions(rows) => rows.len(),
            TransferPage::Articles(rows) => rows.len(),
            TransferPage::ArticleMarks(rows) => rows.len(),
            TransferPage::Rows(_, rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position after this page, or `None` when it is empty.
    pub fn last_position(&self) -> Option<TransferPosition> {
        match self {
            TransferPage::Users(rows) => rows.last().map(|row| TransferPosition::User(row.id)),
            TransferPage::Feeds(rows) => rows.last().map(|row| TransferPosition::Feed(row.id)),
            TransferPage::Subscriptions(rows) => rows
                .last()
                .map(|row| TransferPosition::Subscription(row.user_id, row.feed_id)),
            TransferPage::Articles(rows) => rows.last().map(|row| TransferPosition::Article(row.id)),
            TransferPage::ArticleMarks(rows) => rows
                .last()
                .map(|row| TransferPosition::ArticleMark(row.user_id, row.article_id)),
            TransferPage::Rows(table, rows) => rows
                .last()
                .map(|row| TransferPosition::Row(row[..table.key_columns].to_vec())),
        }
    }
}
