//! The tables `syndic copy` moves column by column, as they are: their columns, keys and id generators, and the
//! SQL text both backends share to page them out and write them in.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How a column is stored, which decides how each backend reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Text,
    /// `uuid` on Postgres, hyphenated text on SQLite.
    Uuid,
    /// `timestamptz` on Postgres, microseconds since the epoch on SQLite.
    Time,
    Boolean,
    Bytes,
    /// `text[]` on Postgres, a JSON array on SQLite.
    TextList,
}

/// One value of one column, in the backend-neutral form a page carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Boolean(bool),
    Bytes(Vec<u8>),
    TextList(Vec<String>),
}

/// A table copied row for row. Its key is its first `key_columns` columns, the order pages are read in.
#[derive(Debug, PartialEq, Eq)]
pub struct PlainTable {
    pub name: &'static str,
    pub columns: &'static [(&'static str, ColumnKind)],
    pub key_columns: usize,
    /// The column whose values a sequence hands out, moved past the copied ids after an import.
    pub sequence: Option<&'static str>,
}

use ColumnKind::{Boolean, Bytes, Integer, Text, TextList, Time, Uuid as Id};

pub const INVITES: PlainTable = PlainTable {
    name: "invites",
    columns: &[
        ("code_hash", Text),
        ("created_at", Time),
        ("expires_at", Time),
        ("used_at", Time),
        ("used_by", Id),
    ],
    key_columns: 1,
    sequence: None,
};

/// Subscriptions name their category, so categories come first (empty ones included).
pub const CATEGORIES: PlainTable = PlainTable {
    name: "categories",
    columns: &[("id", Integer), ("user_id", Id), ("name", Text), ("created_at", Time)],
    key_columns: 1,
    sequence: Some("id"),
};

pub const FEED_ICONS: PlainTable = PlainTable {
    name: "feed_icons",
    columns: &[
        ("feed_id", Integer),
        ("content_type", Text),
        ("image", Bytes),
        ("etag", Text),
        ("source_url", Text),
        ("looked_at", Time),
    ],
    key_columns: 1,
    sequence: None,
};

/// The log a client replays after `Last-Event-ID`; ids go on from `users.last_event_id`.
pub const EVENTS: PlainTable = PlainTable {
    name: "events",
    columns: &[
        ("user_id", Id),
        ("id", Integer),
        ("kind", Text),
        ("feed_id", Integer),
        ("data", Text),
        ("created_at", Time),
    ],
    key_columns: 2,
    sequence: None,
};

pub const JOBS: PlainTable = PlainTable {
    name: "jobs",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("kind", Text),
        ("status", Text),
        ("input", Text),
        ("done", Integer),
        ("total", Integer),
        ("result", Text),
        ("output", Text),
        ("error", Text),
        ("attempts", Integer),
        ("next_attempt_at", Time),
        ("created_at", Time),
        ("updated_at", Time),
        ("started_at", Time),
        ("finished_at", Time),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

pub const JOB_ITEMS: PlainTable = PlainTable {
    name: "job_items",
    columns: &[("job_id", Integer), ("position", Integer), ("data", Text)],
    key_columns: 2,
    sequence: None,
};

/// Named timeline queries; webhooks and timers name them by id (no foreign key), so their ids are kept.
pub const SAVED_FILTERS: PlainTable = PlainTable {
    name: "saved_filters",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("name", Text),
        ("q", Text),
        ("category", Text),
        ("tag", Text),
        ("author", Text),
        ("created_at", Time),
        ("updated_at", Time),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

/// Before timers, which deliver through them (`webhooks.timer_id` has no foreign key).
pub const WEBHOOKS: PlainTable = PlainTable {
    name: "webhooks",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("url", Text),
        ("events", TextList),
        ("feed_id", Integer),
        ("category", Text),
        ("secret", Text),
        ("enabled", Boolean),
        ("disabled_reason", Text),
        ("consecutive_dead", Integer),
        ("timer_id", Integer),
        ("created_at", Time),
        ("updated_at", Time),
        ("saved_filter_id", Integer),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

/// The outbox: pending deliveries go out from the target, dead ones stay listed.
pub const WEBHOOK_DELIVERIES: PlainTable = PlainTable {
    name: "webhook_deliveries",
    columns: &[
        ("id", Id),
        ("webhook_id", Integer),
        ("event", Text),
        ("payload", Text),
        ("created_at", Time),
        ("status", Text),
        ("attempts", Integer),
        ("next_attempt_at", Time),
        ("last_status", Integer),
        ("last_error", Text),
        ("delivered_at", Time),
    ],
    key_columns: 1,
    sequence: None,
};

pub const WEBHOOK_DELIVERY_ATTEMPTS: PlainTable = PlainTable {
    name: "webhook_delivery_attempts",
    columns: &[
        ("delivery_id", Id),
        ("attempt", Integer),
        ("at", Time),
        ("status_code", Integer),
        ("latency_ms", Integer),
        ("error", Text),
    ],
    key_columns: 2,
    sequence: None,
};

pub const TIMERS: PlainTable = PlainTable {
    name: "timers",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("name", Text),
        ("schedule_kind", Text),
        ("schedule_spec", Text),
        ("at_time", Text),
        ("timezone", Text),
        ("anchor_at", Time),
        ("webhook_id", Integer),
        ("owns_webhook", Boolean),
        ("payload_kind", Text),
        ("digest_feed_id", Integer),
        ("digest_category", Text),
        ("digest_filter_id", Integer),
        ("status", Text),
        ("next_fire_at", Time),
        ("last_fired_at", Time),
        ("fire_count", Integer),
        ("created_at", Time),
        ("updated_at", Time),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

pub const SESSIONS: PlainTable = PlainTable {
    name: "sessions",
    columns: &[
        ("id", Id),
        ("user_id", Id),
        ("created_at", Time),
        ("last_used_at", Time),
        ("expires_at", Time),
        ("user_agent", Text),
        ("ip", Text),
    ],
    key_columns: 1,
    sequence: None,
};

/// Rotated tokens included: presenting one on the target is still seen as theft.
pub const REFRESH_TOKENS: PlainTable = PlainTable {
    name: "refresh_tokens",
    columns: &[("token_hash", Text), ("session_id", Id), ("rotated_at", Time)],
    key_columns: 1,
    sequence: None,
};

pub const API_KEYS: PlainTable = PlainTable {
    name: "api_keys",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("name", Text),
        ("key_hash", Text),
        ("created_at", Time),
        ("last_used_at", Time),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

pub const FRIEND_REQUESTS: PlainTable = PlainTable {
    name: "friend_requests",
    columns: &[("user_id", Id), ("to_user_id", Id), ("created_at", Time)],
    key_columns: 2,
    sequence: None,
};

pub const FRIENDSHIPS: PlainTable = PlainTable {
    name: "friendships",
    columns: &[("user_id", Id), ("friend_id", Id), ("created_at", Time)],
    key_columns: 2,
    sequence: None,
};

pub const SHARES: PlainTable = PlainTable {
    name: "shares",
    columns: &[
        ("id", Integer),
        ("user_id", Id),
        ("article_id", Integer),
        ("url", Text),
        ("title", Text),
        ("note", Text),
        ("created_at", Time),
    ],
    key_columns: 1,
    sequence: Some("id"),
};

/// Each recipient's copy of a share, seen or not.
pub const NOTIFICATIONS: PlainTable = PlainTable {
    name: "notifications",
    columns: &[("user_id", Id), ("share_id", Integer), ("seen_at", Time)],
    key_columns: 2,
    sequence: None,
};

/// Tables of either schema that a copy does not move row for row, and why. Every other table must be in
/// [`super::transfer::Table::ALL`]: a copy refuses to start otherwise, so that nothing stored is lost.
pub const NOT_COPIED: &[(&str, &str)] = &[
    ("_sqlx_migrations", "the target ran its own migrations"),
    ("subscription_tags", "carried with each subscription row"),
    (
        "articles_search",
        "SQLite full-text index, rebuilt as the articles are written",
    ),
    ("articles_search_config", "part of the SQLite full-text index"),
    ("articles_search_data", "part of the SQLite full-text index"),
    ("articles_search_docsize", "part of the SQLite full-text index"),
    ("articles_search_idx", "part of the SQLite full-text index"),
    (
        "sqlite_sequence",
        "SQLite moves its AUTOINCREMENT counters past the ids written",
    ),
];

impl PlainTable {
    fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|(name, _)| *name)
    }

    fn key_list(&self) -> String {
        self.column_names()
            .take(self.key_columns)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One page: `$1..` hold the key to continue after (when `after`), then the limit.
    pub fn select_sql(&self, after: bool) -> String {
        // Integers are read as 64-bit whatever their declared width.
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, kind)| match kind {
                Integer => format!("CAST({name} AS bigint) AS {name}"),
                _ => name.to_string(),
            })
            .collect();
        let keys = self.key_list();
        let (filter, limit) = if after {
            let placeholders: Vec<String> = (1..=self.key_columns).map(|n| format!("${n}")).collect();
            (
                format!("WHERE ({keys}) > ({}) ", placeholders.join(", ")),
                self.key_columns + 1,
            )
        } else {
            (String::new(), 1)
        };
        format!(
            "SELECT {} FROM {} {filter}ORDER BY {keys} LIMIT ${limit}",
            columns.join(", "),
            self.name
        )
    }

    /// One row, every column bound in order; `overriding` is Postgres's clause for identity columns.
    pub fn insert_sql(&self, overriding: &str) -> String {
        let placeholders: Vec<String> = (1..=self.columns.len()).map(|n| format!("${n}")).collect();
        format!(
            "INSERT INTO {} ({}) {overriding} VALUES ({})",
            self.name,
            self.column_names().collect::<Vec<_>>().join(", "),
            placeholders.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_after_a_composite_key_compares_the_whole_key() {
        assert_eq!(
            JOB_ITEMS.select_sql(true),
            "SELECT CAST(job_id AS bigint) AS job_id, CAST(position AS bigint) AS position, data FROM job_items \
             WHERE (job_id, position) > ($1, $2) ORDER BY job_id, position LIMIT $3"
        );
        assert_eq!(
            REFRESH_TOKENS.select_sql(false),
            "SELECT token_hash, session_id, rotated_at FROM refresh_tokens ORDER BY token_hash LIMIT $1"
        );
    }

    #[test]
    fn an_insert_binds_every_column() {
        assert_eq!(
            NOTIFICATIONS.insert_sql(""),
            "INSERT INTO notifications (user_id, share_id, seen_at)  VALUES ($1, $2, $3)"
        );
    }
}
