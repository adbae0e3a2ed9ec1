//! Profiles, friends and shares: what of a profile a viewer may see, a friendship as one side sees it, and the
//! links friends share with each other with the notifications they leave.

use chrono::{DateTime, Utc};

use crate::domain::{ArticleId, UserId};

/// A share's id; it is also the id of the notification each recipient gets of it.
pub type ShareId = i64;

/// Who may see a profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Everyone,
    Friends,
    Nobody,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Everyone => "everyone",
            Visibility::Friends => "friends",
            Visibility::Nobody => "nobody",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Visibility::Everyone, Visibility::Friends, Visibility::Nobody]
            .into_iter()
            .find(|visibility| visibility.as_str() == value)
    }

    /// Whether a viewer in `friendship` with the field's owner sees it.
    fn shown_to(self, friendship: Friendship) -> bool {
        match self {
            Visibility::Everyone => true,
            Visibility::Friends => friendship == Friendship::Friends,
            Visibility::Nobody => false,
        }
    }
}

/// Where a viewer stands with another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Friendship {
    None,
    /// The viewer asked; the other has not answered.
    PendingSent,
    /// The other asked the viewer.
    PendingReceived,
    Friends,
}

impl Friendship {
    pub fn as_str(self) -> &'static str {
        match self {
            Friendship::None => "none",
            Friendship::PendingSent => "pending_sent",
            Friendship::PendingReceived => "pending_received",
            Friendship::Friends => "friends",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Friendship::None,
            Friendship::PendingSent,
            Friendship::PendingReceived,
            Friendship::Friends,
        ]
        .into_iter()
        .find(|friendship| friendship.as_str() == value)
    }
}

/// A user's profile as stored, with where the viewer who asked stands: not for showing until
/// [`ProfileRecord::as_seen`] has hidden what the viewer may not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub display_name_visibility: Visibility,
    pub email: String,
    pub email_visibility: Visibility,
    pub friendship: Friendship,
}

/// A profile as its viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    /// Only a friend's, and only when that friend shows it to friends.
    pub email: Option<String>,
    pub friendship: Friendship,
}

impl ProfileRecord {
    /// The profile with every field its owner hides from this viewer taken out.
    pub fn as_seen(self) -> Profile {
        let friendship = self.friendship;
        Profile {
            id: self.id,
            username: self.username,
            display_name: self
                .display_name
                .filter(|_| self.display_name_visibility.shown_to(friendship)),
            // An email is never shown beyond friends, whatever is stored.
            email: Some(self.email)
                .filter(|_| friendship == Friendship::Friends && self.email_visibility.shown_to(friendship)),
            friendship,
        }
    }
}

/// A change to the user's own profile; `None` leaves a field as it is, `Some(None)` clears the display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub display_name: Option<Option<String>>,
    pub display_name_visibility: Option<Visibility>,
    pub email_visibility: Option<Visibility>,
}

/// The user's own profile settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnProfile {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub display_name_visibility: Visibility,
    pub email_visibility: Visibility,
}

/// Which of a user's pending requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestDirection {
    Received,
    Sent,
}

/// A pending friend request, as one of its two sides lists it: `profile` is the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FriendRequest {
    pub profile: ProfileRecord,
    pub created_at: DateTime<Utc>,
}

/// What sending a friend request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The request waits for an answer.
    Sent,
    /// The other user had asked first: both are friends now.
    Accepted,
}

/// A share to store: an article's (its url and title are copied from the article), or a link of the sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShare {
    pub user_id: UserId,
    pub article_id: Option<ArticleId>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub note: Option<String>,
    /// The friends named, by username; `None` shares with every friend.
    pub to: Option<Vec<String>>,
}

/// A share as its sender and its recipients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub id: ShareId,
    /// The sender's username.
    pub sender: String,
    /// The sender's display name, where the viewer may see it.
    pub sender_display_name: Option<String>,
    pub article_id: Option<ArticleId>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A share once committed: who got it, and which of their webhooks got a `share.new` delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedShare {
    pub share: Share,
    pub recipients: Vec<UserId>,
    pub webhooks: Vec<crate::webhook::WebhookId>,
}

/// A share received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub share: Share,
    pub seen_at: Option<DateTime<Utc>>,
}

/// A share sent, with how many of its recipients have not seen it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentShare {
    pub share: Share,
    pub recipients: i64,
    pub not_seen_count: i64,
}

/// The `data` of a `share.new` event and delivery. It names the sender by username only: events are kept in the
/// recipient's log for 24 h and replayed from it, and a display name the sender has since hidden from that
/// recipient (a former friend) must not come back with them. Where the name is shown, it is read at that time.
pub fn share_new_data(share: &Share) -> serde_json::Value {
    serde_json::json!({
        "share_id": share.id,
        "from": share.sender,
        "article_id": share.article_id,
        "url": share.url,
        "title": share.title,
        "note": share.note,
        "created_at": share.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(friendship: Friendship, name: Visibility, email: Visibility) -> ProfileRecord {
        ProfileRecord {
            id: UserId::nil(),
            username: "bob".to_owned(),
            display_name: Some("Bob".to_owned()),
            display_name_visibility: name,
            email: "bob@example.com".to_owned(),
            email_visibility: email,
            friendship,
        }
    }

    #[test]
    fn a_display_name_is_shown_as_its_owner_chose() {
        let seen = |friendship, name| record(friendship, name, Visibility::Nobody).as_seen().display_name;
        assert_eq!(seen(Friendship::None, Visibility::Everyone).as_deref(), Some("Bob"));
        assert_eq!(seen(Friendship::None, Visibility::Friends), None);
        assert_eq!(seen(Friendship::PendingReceived, Visibility::Friends), None);
        assert_eq!(seen(Friendship::Friends, Visibility::Friends).as_deref(), Some("Bob"));
        assert_eq!(seen(Friendship::Friends, Visibility::Nobody), None);
    }

    #[test]
    fn an_email_is_shown_only_to_friends_and_only_when_its_owner_shows_it() {
        let seen = |friendship, email| record(friendship, Visibility::Everyone, email).as_seen().email;
        assert_eq!(
            seen(Friendship::Friends, Visibility::Friends).as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(seen(Friendship::Friends, Visibility::Nobody), None);
        assert_eq!(seen(Friendship::None, Visibility::Friends), None);
        assert_eq!(seen(Friendship::PendingSent, Visibility::Friends), None);
        assert_eq!(seen(Friendship::None, Visibility::Everyone), None, "never to strangers");
    }

    #[test]
    fn every_name_parses_back() {
        for visibility in [Visibility::Everyone, Visibility::Friends, Visibility::Nobody] {
            assert_eq!(Visibility::parse(visibility.as_str()), Some(visibility));
        }
        for friendship in [
            Friendship::None,
            Friendship::PendingSent,
            Friendship::PendingReceived,
            Friendship::Friends,
        ] {
            assert_eq!(Friendship::parse(friendship.as_str()), Some(friendship));
        }
        assert_eq!(Visibility::parse("public"), None);
    }
}
