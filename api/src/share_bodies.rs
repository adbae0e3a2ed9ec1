//! The bodies of the share and notification routes, and the parsing of a share request into a `NewShare`.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use syndic_actors::domain::{ArticleId, UserId};
use syndic_actors::feed_url::FeedUrl;
use syndic_actors::social::{NewShare, Notification, SentShare, Share, ShareId};

use crate::error::ApiError;
use crate::nullable::Nullable;

pub(crate) const MAX_TITLE_CHARS: usize = 300;
pub(crate) const MAX_NOTE_CHARS: usize = 1000;
pub(crate) const MAX_RECIPIENTS: usize = 100;
pub(crate) const MAX_USERNAME_CHARS: usize = 64;
pub(crate) const MAX_SEEN_IDS: usize = 1000;

/// A link to share: an article of a feed you follow (`article_id`), or any http(s) `url` with an optional
/// `title`; exactly one of `article_id` and `url`.
#[derive(Debug, Object)]
pub struct ShareRequest {
    /// An article in a feed you follow; its url and title are copied into the share.
    #[oai(deserialize_with = "crate::strict_json::article_id")]
    pub article_id: Option<ArticleId>,
    /// An http or https URL, at most 2048 bytes.
    #[oai(deserialize_with = "crate::strict_json::url_if_given")]
    pub url: Option<String>,
    /// The link's title, with `url` only; at most 300 characters.
    #[oai(deserialize_with = "crate::strict_json::title")]
    pub title: Option<String>,
    /// A note to the recipients, at most 1000 characters.
    #[oai(deserialize_with = "crate::strict_json::note")]
    pub note: Option<String>,
    /// Friends to share with, by username, at most 100; left out, every friend. A name that is not a friend's
    /// is a 422 naming `to`, and nothing is sent.
    #[oai(deserialize_with = "crate::strict_json::to")]
    pub to: Option<Vec<String>>,
}

/// Trimmed text of at most `max` characters with no control characters but newlines and tabs; blank is none.
fn text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
    else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(ApiError::validation(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::validation(field, "must not hold control characters"));
    }
    Ok(Some(value))
}

fn recipients(to: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(names) = to else {
        return Ok(None);
    };
    if names.is_empty() {
        return Err(ApiError::validation(
            "to",
            "must name at least one friend, or be left out",
        ));
    }
    if names.len() > MAX_RECIPIENTS {
        return Err(ApiError::validation("to", format!("at most {MAX_RECIPIENTS} friends")));
    }
    if names
        .iter()
        .any(|name| name.trim().is_empty() || name.chars().count() > MAX_USERNAME_CHARS)
    {
        return Err(ApiError::validation("to", "names a user that cannot exist"));
    }
    Ok(Some(names))
}

impl ShareRequest {
    /// The share `user` asks for, or a 422 naming the first field at fault.
    pub fn into_new_share(self, user: UserId) -> Result<NewShare, ApiError> {
        let url = match (self.article_id, self.url) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(ApiError::validation(
                    "article_id",
                    "give exactly one of article_id and url",
                ))
            }
            (Some(_), None) => {
                if self.title.is_some() {
                    return Err(ApiError::validation(
                        "title",
                        "an article's title is its own; give it with url",
                    ));
                }
                None
            }
            (None, Some(url)) => Some(
                FeedUrl::parse(&url)
                    .map_err(|error| ApiError::validation("url", error.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
        };
        Ok(NewShare {
            user_id: user,
            article_id: self.article_id,
            url,
            title: text("title", self.title, MAX_TITLE_CHARS)?,
            note: text("note", self.note, MAX_NOTE_CHARS)?,
            to: recipients(self.to)?,
        })
    }
}

/// Who shared a link.
#[derive(Debug, Object)]
#[oai(rename = "ShareSender")]
pub struct SenderBody {
    pub username: String,
    /// `null` unless they show it to you.
    #[oai(nullable)]
    pub display_name: Nullable<String>,
}

/// A shared link.
#[derive(Debug, Object)]
#[oai(rename = "Share")]
pub struct ShareBody {
    /// The share; also what `POST /v1/notifications/seen` takes.
    pub id: ShareId,
    pub from: SenderBody,
    /// The article shared, `null` for a link of the sender's or once the article is gone.
    #[oai(nullable)]
    pub article_id: Nullable<ArticleId>,
    #[oai(nullable)]
    pub url: Nullable<String>,
    #[oai(nullable)]
    pub title: Nullable<String>,
    #[oai(nullable)]
    pub note: Nullable<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Share> for ShareBody {
    fn from(share: Share) -> Self {
        ShareBody {
            id: share.id,
            from: SenderBody {
                username: share.sender,
                display_name: share.sender_display_name.into(),
            },
            article_id: share.article_id.into(),
            url: share.url.into(),
            title: share.title.into(),
            note: share.note.into(),
            created_at: share.created_at,
        }
    }
}

/// A share just sent.
#[derive(Debug, Object)]
#[oai(rename = "ShareCreated")]
pub struct ShareCreatedBody {
    pub share: ShareBody,
    /// How many friends got it.
    pub recipients: u64,
}

/// A share you received.
#[derive(Debug, Object)]
#[oai(rename = "Notification")]
pub struct NotificationBody {
    pub share: ShareBody,
    /// When you marked it seen; `null` while unseen.
    #[oai(nullable)]
    pub seen_at: Nullable<DateTime<Utc>>,
}

impl From<Notification> for NotificationBody {
    fn from(notification: Notification) -> Self {
        NotificationBody {
            share: notification.share.into(),
            seen_at: notification.seen_at.into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "Notifications")]
pub struct NotificationsBody {
    /// Newest first.
    pub notifications: Vec<NotificationBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

/// A share you sent.
#[derive(Debug, Object)]
#[oai(rename = "SentShare")]
pub struct SentShareBody {
    pub share: ShareBody,
    /// How many friends got it (a deleted account's notification is gone with it).
    pub recipients: i64,
    /// How many of them have not marked it seen.
    pub not_seen_count: i64,
}

impl From<SentShare> for SentShareBody {
    fn from(sent: SentShare) -> Self {
        SentShareBody {
            share: sent.share.into(),
            recipients: sent.recipients,
            not_seen_count: sent.not_seen_count,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "SentShares")]
pub struct SentSharesBody {
    /// Newest first.
    pub shares: Vec<SentShareBody>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Nullable<String>,
}

#[derive(Debug, Object)]
pub struct MarkSeenRequest {
    /// Share ids from your notifications, at most 1000; others are ignored.
    pub ids: Vec<ShareId>,
}

#[derive(Debug, Object)]
#[oai(rename = "MarkedSeen")]
pub struct MarkedSeenBody {
    /// How many notifications were unseen and are seen now.
    pub changed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ShareRequest {
        ShareRequest {
            article_id: None,
            url: Some("https://example.com/a".to_owned()),
            title: None,
            note: None,
            to: None,
        }
    }

    fn field_of(result: Result<NewShare, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_share_names_exactly_one_link() {
        let user = UserId::nil();
        assert!(request().into_new_share(user).is_ok());
        let both = ShareRequest {
            article_id: Some(1),
            ..request()
        };
        assert_eq!(field_of(both.into_new_share(user)), "article_id");
        let neither = ShareRequest { url: None, ..request() };
        assert_eq!(field_of(neither.into_new_share(user)), "article_id");
        let javascript = ShareRequest {
            url: Some("javascript:alert(1)".to_owned()),
            ..request()
        };
        assert_eq!(field_of(javascript.into_new_share(user)), "url");
    }

    #[test]
    fn texts_and_recipients_are_bounded() {
        let user = UserId::nil();
        let long_note = ShareRequest {
            note: Some("n".repeat(MAX_NOTE_CHARS + 1)),
            ..request()
        };
        assert_eq!(field_of(long_note.into_new_share(user)), "note");
        let long_title = ShareRequest {
            title: Some("t".repeat(MAX_TITLE_CHARS + 1)),
            ..request()
        };
        assert_eq!(field_of(long_title.into_new_share(user)), "title");
        let crowd = ShareRequest {
            to: Some((0..=MAX_RECIPIENTS).map(|n| format!("user{n}")).collect()),
            ..request()
        };
        assert_eq!(field_of(crowd.into_new_share(user)), "to");
        let nobody = ShareRequest {
            to: Some(Vec::new()),
            ..request()
        };
        assert_eq!(field_of(nobody.into_new_share(user)), "to");
    }
}
