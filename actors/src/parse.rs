//! Feed parsing: raw bytes in, entries with stable dedupe keys out.

use chrono::{DateTime, Utc};

/// One entry of a feed, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub dedupe_key: String,
    pub guid: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
}
