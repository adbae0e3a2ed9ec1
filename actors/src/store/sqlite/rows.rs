//! The encodings of the values SQLite has no type for, and the types SQLite reads the shared rows in: times are
//! microseconds since the Unix epoch (an INTEGER that sorts chronologically), user ids hyphenated text, and
//! category lists JSON arrays.

use chrono::{DateTime, Utc};
use uuid::fmt::Hyphenated;
use uuid::Uuid;

use crate::store::rows::{self, decode_error, Decoded};
use crate::store::{timeline_page, timeline_search, transfer_rows, StoreError};

/// A time as stored.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(super) fn now_micros() -> i64 {
    micros(Utc::now())
}

impl Decoded<DateTime<Utc>> for i64 {
    fn decoded(self) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(self).ok_or_else(|| decode_error(format!("time out of range: {self} µs")))
    }
}

impl Decoded<Uuid> for Hyphenated {
    fn decoded(self) -> Result<Uuid, StoreError> {
        Ok(self.into_uuid())
    }
}

impl Decoded<Vec<String>> for String {
    fn decoded(self) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&self).map_err(|error| decode_error(format!("categories: {error}")))
    }
}

type Time = i64;

pub(super) type UserRow = rows::UserRow<Hyphenated, Time>;
pub(super) type FeedRow = rows::FeedRow<Time>;
pub(super) type SubscriptionRow = rows::SubscriptionRow<Time, String>;

/// A subscription `s`'s tags as a [`SubscriptionRow`] reads them: a JSON array in name order.
pub(super) const TAGS_COLUMN: &str = "(SELECT json_group_array(name) FROM (SELECT t.name FROM subscription_tags t \
     WHERE t.user_id = s.user_id AND t.feed_id = s.feed_id ORDER BY t.name)) AS tags";
pub(super) type PageKeyRow = timeline_page::PageKeyRow<Time>;
pub(super) type SearchKeyRow = timeline_search::SearchKeyRow<Time>;
pub(super) type ArticleRow = rows::ArticleRow<Time, String>;

pub(super) type UserExportRow = transfer_rows::UserExportRow<Hyphenated, Time>;
pub(super) type FeedExportRow = transfer_rows::FeedExportRow<Time>;
pub(super) type SubscriptionExportRow = transfer_rows::SubscriptionExportRow<Hyphenated, Time, String>;
pub(super) type ArticleExportRow = transfer_rows::ArticleExportRow<Time, String>;
pub(super) type ArticleMarkExportRow = transfer_rows::ArticleMarkExportRow<Hyphenated, Time>;
pub(super) type JobRow = crate::store::job_rows::JobRow<Hyphenated, Time>;
pub(super) type TimerRow = crate::store::timer_rows::TimerRow<Hyphenated, Time>;
