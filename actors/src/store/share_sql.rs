//! The statements of shares and notifications, the same on both backends: a backend binds its own types (user
//! ids, times) and maps its own errors.

use chrono::{DateTime, Utc};

use super::rows::{optional, Decoded};
use super::social_sql::SHOWN_DISPLAY_NAME;
use super::StoreError;
use crate::domain::ArticleId;
use crate::social::{Notification, SentShare, Share, ShareId};

/// The url and title of article $2 when it is in a feed user $1 follows.
pub(super) const VISIBLE_ARTICLE: &str = "SELECT a.url, a.title FROM articles a WHERE a.id = $2 \
     AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $1 AND s.feed_id = a.feed_id)";

/// Every friend of user $1.
pub(super) const ALL_FRIENDS: &str = "SELECT friend_id FROM friendships WHERE user_id = $1 ORDER BY friend_id";

/// The friend of user $1 named $2 (any case).
pub(super) const FRIEND_NAMED: &str = "SELECT u.id FROM friendships f JOIN users u ON u.id = f.friend_id \
     WHERE f.user_id = $1 AND lower(u.username) = lower($2)";

/// The username of user $1, and the display name their friends see.
pub(super) const SENDER: &str =
    "SELECT username, CASE WHEN display_name_visibility <> 'nobody' THEN display_name END FROM users WHERE id = $1";

pub(super) const INSERT_SHARE: &str = "INSERT INTO shares (user_id, article_id, url, title, note, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

pub(super) const INSERT_NOTIFICATION: &str = "INSERT INTO notifications (user_id, share_id) VALUES ($1, $2)";

/// A share's columns, from `shares s` and its sender `users u`, the display name as viewer $1 sees it.
fn share_columns() -> String {
    format!("s.id, u.username, {SHOWN_DISPLAY_NAME}, s.article_id, s.url, s.title, s.note, s.created_at")
}

/// Up to $4 of the shares user $1 received before share $3 (none: from the newest), seen or not as $2 says
/// (none: both), newest first.
pub(super) fn notifications_sql() -> String {
    format!(
        "SELECT {columns}, n.seen_at FROM notifications n JOIN shares s ON s.id = n.share_id \
         JOIN users u ON u.id = s.user_id \
         WHERE n.user_id = $1 AND ($2 IS NULL OR (n.seen_at IS NOT NULL) = $2) AND ($3 IS NULL OR n.share_id < $3) \
         ORDER BY n.share_id DESC LIMIT $4",
        columns = share_columns(),
    )
}

/// Up to $3 of the shares user $1 sent before share $2 (none: from the newest), newest first, each with its
/// recipients and how many have not seen it.
pub(super) fn sent_sql() -> String {
    format!(
        "SELECT {columns}, \
           (SELECT count(*) FROM notifications n WHERE n.share_id = s.id), \
           (SELECT count(*) FROM notifications n WHERE n.share_id = s.id AND n.seen_at IS NULL) \
         FROM shares s JOIN users u ON u.id = s.user_id \
         WHERE s.user_id = $1 AND ($2 IS NULL OR s.id < $2) ORDER BY s.id DESC LIMIT $3",
        columns = share_columns(),
    )
}

/// A share received as both backends read it: the share, then when it was seen.
pub(super) type NotificationRow<Time> = (
    ShareId,
    String,
    Option<String>,
    Option<ArticleId>,
    Option<String>,
    Option<String>,
    Option<String>,
    Time,
    Option<Time>,
);

/// A share sent as both backends read it: the share, then its recipients and how many have not seen it.
pub(super) type SentRow<Time> = (
    ShareId,
    String,
    Option<String>,
    Option<ArticleId>,
    Option<String>,
    Option<String>,
    Option<String>,
    Time,
    i64,
    i64,
);

pub(super) fn notification<Time: Decoded<DateTime<Utc>>>(
    row: NotificationRow<Time>,
) -> Result<Notification, StoreError> {
    let (id, sender, sender_display_name, article_id, url, title, note, created_at, seen_at) = row;
    Ok(Notification {
        share: Share {
            id,
            sender,
            sender_display_name,
            article_id,
            url,
            title,
            note,
            created_at: created_at.decoded()?,
        },
        seen_at: optional(seen_at)?,
    })
}

pub(super) fn sent_share<Time: Decoded<DateTime<Utc>>>(row: SentRow<Time>) -> Result<SentShare, StoreError> {
    let (id, sender, sender_display_name, article_id, url, title, note, created_at, recipients, not_seen_count) = row;
    Ok(SentShare {
        share: Share {
            id,
            sender,
            sender_display_name,
            article_id,
            url,
            title,
            note,
            created_at: created_at.decoded()?,
        },
        recipients,
        not_seen_count,
    })
}

/// The names a share is addressed to, folded, each once.
pub(super) fn folded_names(names: &[String]) -> Vec<String> {
    let mut folded: Vec<String> = names.iter().map(|name| name.trim().to_lowercase()).collect();
    folded.sort();
    folded.dedup();
    folded
}

/// `to` names someone who is not the sender's friend (or no one at all).
pub(super) const NOT_A_FRIEND: StoreError = StoreError::Rejected {
    field: "to",
    reason: "names someone who is not your friend",
};

/// The sender has no friends to share with.
pub(super) const NO_RECIPIENTS: StoreError = StoreError::Rejected {
    field: "to",
    reason: "you have no friends to share with",
};

/// The article is not in a feed the sender follows, or does not exist.
pub(super) const ARTICLE_NOT_VISIBLE: StoreError = StoreError::Rejected {
    field: "article_id",
    reason: "no article you can see has that id",
};
