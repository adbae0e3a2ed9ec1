//! How a user organises their subscriptions: categories (one folder per subscription, at most), tags (any number),
//! a title of their own, and the names those take, which parse rather than validate.

use chrono::{DateTime, Utc};

use crate::domain::{ArticleId, FeedId};

pub type CategoryId = i64;

/// The most characters a category name may have: as long as the longest folder path an OPML import takes.
pub const CATEGORY_MAX_CHARS: usize = crate::opml::MAX_FOLDER_BYTES;
/// The most characters a tag may have.
pub const TAG_MAX_CHARS: usize = 100;
/// The most tags one subscription may carry.
pub const TAGS_MAX: usize = 50;
/// The most characters a subscription's own title may have.
pub const TITLE_MAX_CHARS: usize = 300;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    Control,
}

/// A category's or a tag's name: trimmed, not blank, bounded, no control characters. Names are compared as
/// written (case counts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// A category's name, at most [`CATEGORY_MAX_CHARS`] characters.
    pub fn category(value: &str) -> Result<Name, InvalidName> {
        parse_text(value, CATEGORY_MAX_CHARS).map(Name)
    }

    /// A tag, at most [`TAG_MAX_CHARS`] characters.
    pub fn tag(value: &str) -> Result<Name, InvalidName> {
        parse_text(value, TAG_MAX_CHARS).map(Name)
    }

    /// A saved filter's name, at most [`TAG_MAX_CHARS`] characters, as a tag.
    pub fn saved_filter(value: &str) -> Result<Name, InvalidName> {
        parse_text(value, TAG_MAX_CHARS).map(Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A subscription's own title: trimmed, not blank, at most [`TITLE_MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(value: &str) -> Result<Title, InvalidName> {
        parse_text(value, TITLE_MAX_CHARS).map(Title)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_text(value: &str, max: usize) -> Result<String, InvalidName> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidName::Blank);
    }
    if trimmed.chars().count() > max {
        return Err(InvalidName::TooLong { max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidName::Control);
    }
    Ok(trimmed.to_owned())
}

/// A category as a subscription names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRef {
    pub id: CategoryId,
    pub name: String,
}

/// One of a user's categories with its feeds and their unread articles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub feed_count: i64,
    pub unread_count: i64,
}

/// One of a user's tags with the number of subscriptions carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub name: String,
    pub feed_count: i64,
}

/// What a `PATCH` of a subscription changes; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionPatch {
    pub title: Option<Option<Title>>,
    /// A category by name: created for the user if they have none of that name.
    pub category: Option<Option<Name>>,
    /// The whole set of tags, replacing the stored one.
    pub tags: Option<Vec<Name>>,
}

/// The most article ids one bulk mark may name.
pub const MARK_IDS_MAX: usize = 1_000;

/// Which of a user's articles a bulk mark takes: those of the feeds they follow, narrowed by every selector given
/// (an intersection); none given selects every article of every feed they follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkSelection {
    pub feed_id: Option<FeedId>,
    /// A category by name; one the user does not have selects nothing.
    pub category: Option<String>,
    /// Only these articles; ids of articles the user cannot see select nothing. At most [`MARK_IDS_MAX`].
    pub ids: Option<Vec<ArticleId>>,
    /// Only the articles published before this instant.
    pub before: Option<DateTime<Utc>>,
}

impl MarkSelection {
    /// Whether the selection takes whole subscriptions, which marking read can do by moving their cutoffs.
    pub fn is_whole_feeds(&self) -> bool {
        self.ids.is_none() && self.before.is_none()
    }
}

/// What a bulk mark changes: `None` leaves that state alone. At least one is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marking {
    pub read: Option<bool>,
    pub starred: Option<bool>,
}

/// Unread counts per feed and per category, for badges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub feeds: Vec<(FeedId, i64)>,
    pub categories: Vec<(CategoryId, i64)>,
}

#[cfg(test)]
mod tests {
    use super::{InvalidName, Name, Title, CATEGORY_MAX_CHARS, TAG_MAX_CHARS};

    #[test]
    fn a_name_is_trimmed_and_must_hold_something() {
        assert_eq!(Name::category("  News ").unwrap().as_str(), "News");
        assert_eq!(Name::tag(" \t "), Err(InvalidName::Blank));
        assert_eq!(Name::category(""), Err(InvalidName::Blank));
        assert_eq!(Title::parse(" "), Err(InvalidName::Blank));
    }

    #[test]
    fn a_name_is_bounded_in_characters_not_bytes() {
        assert!(Name::tag(&"é".repeat(TAG_MAX_CHARS)).is_ok());
        assert_eq!(
            Name::tag(&"e".repeat(TAG_MAX_CHARS + 1)),
            Err(InvalidName::TooLong { max: TAG_MAX_CHARS })
        );
        assert!(Name::category(&"e".repeat(CATEGORY_MAX_CHARS)).is_ok());
        assert_eq!(Name::tag("a\u{0}b"), Err(InvalidName::Control));
    }
}
