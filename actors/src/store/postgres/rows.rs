//! The types Postgres reads the shared rows in: timestamps, uuids and text arrays are its own.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{rows, timeline_page, timeline_search, transfer_rows};

type Time = DateTime<Utc>;

pub(super) type UserRow = rows::UserRow<Uuid, Time>;
pub(super) type FeedRow = rows::FeedRow<Time>;
pub(super) type SubscriptionRow = rows::SubscriptionRow<Time, Vec<String>>;

/// A subscription `s`'s tags as a [`SubscriptionRow`] reads them: a text array in name order.
pub(super) const TAGS_COLUMN: &str = "ARRAY(SELECT t.name FROM subscription_tags t \
     WHERE t.user_id = s.user_id AND t.feed_id = s.feed_id ORDER BY t.name) AS tags";
pub(super) type PageKeyRow = timeline_page::PageKeyRow<Time>;
pub(super) type SearchKeyRow = timeline_search::SearchKeyRow<Time>;
pub(super) type ArticleRow = rows::ArticleRow<Time, Vec<String>>;

pub(super) type UserExportRow = transfer_rows::UserExportRow<Uuid, Time>;
pub(super) type FeedExportRow = transfer_rows::FeedExportRow<Time>;
pub(super) type SubscriptionExportRow = transfer_rows::SubscriptionExportRow<Uuid, Time, Vec<String>>;
pub(super) type ArticleExportRow = transfer_rows::ArticleExportRow<Time, Vec<String>>;
pub(super) type ArticleMarkExportRow = transfer_rows::ArticleMarkExportRow<Uuid, Time>;
pub(super) type JobRow = crate::store::job_rows::JobRow<Uuid, Time>;
pub(super) type TimerRow = crate::store::timer_rows::TimerRow<Uuid, Time>;
