//! Domain values shared by the engine and the API: users, feeds, subscriptions, articles and timeline paging.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::search_query::SearchQuery;

pub type UserId = Uuid;
pub type FeedId = i64;
pub type ArticleId = i64;

/// A user as the rest of the system sees it: never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// What a user may do beyond their own data, as stored in `users.role`. Granted only by an operator
/// (`syndic admin grant`), never by registering a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    /// May use the `/v1/admin` routes and the dashboard.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// What registration stores. The username and email are already normalised and the password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    /// The SHA-256 (hex) of the invite code to spend on this registration, if any. The user is created only if
    /// the invite exists, is unused and has not expired; spending it and creating the user are one transaction.
    pub invite_hash: Option<String>,
}

/// An invite to register while registration is closed. Only the code's hash is stored.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl NewInvite {
    /// A fresh invite valid until `expires_at`, and its code: 128 random bits in hex, shown once.
    pub fn generate(expires_at: DateTime<Utc>) -> (String, NewInvite) {
        let code = hex::encode(rand::random::<[u8; 16]>());
        let invite = NewInvite {
            code_hash: invite_code_hash(&code),
            expires_at,
        };
        (code, invite)
    }
}

/// What is stored of an invite code. The codes are random, so a plain SHA-256 is enough: there is nothing to
/// guess that a slow hash would protect.
pub fn invite_code_hash(code: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(code.trim().to_ascii_lowercase().as_bytes()))
}

/// A user with the hash that login verifies against.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// Where a feed stands, as stored in `feeds.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// Subscribed but never polled successfully yet.
    Pending,
    /// The last poll succeeded.
    Ok,
    /// The last poll failed; the actor keeps retrying, backing off.
    Error,
    /// Too many failures in a row, or 410 Gone: no longer polled until someone refreshes it.
    Dead,
    /// Its actor crashed too often (a meltdown): no longer polled until someone refreshes it.
    Failed,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedStatus::Pending => "pending",
            FeedStatus::Ok => "ok",
            FeedStatus::Error => "error",
            FeedStatus::Dead => "dead",
            FeedStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(FeedStatus::Pending),
            "ok" => Some(FeedStatus::Ok),
            "error" => Some(FeedStatus::Error),
            "dead" => Some(FeedStatus::Dead),
            "failed" => Some(FeedStatus::Failed),
            _ => None,
        }
    }
}

/// A feed row: what the supervisor needs to start its actor, and what the API shows.
#[derive(Debug, Clone)]
pub struct Feed {
    pub id: FeedId,
    pub url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub status: FeedStatus,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub error_count: i32,
    pub last_error: Option<String>,
    /// When the feed was declared dead, while it is.
    pub dead_since: Option<DateTime<Utc>>,
}

impl FeedStatus {
    /// Whether the feed is out of the polling schedule until someone refreshes it.
    pub fn is_parked(self) -> bool {
        matches!(self, FeedStatus::Dead | FeedStatus::Failed)
    }
}

/// One of a user's subscriptions, with the feed's state and the user's unread count.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub feed: Feed,
    pub unread_count: i64,
    pub subscribed_at: DateTime<Utc>,
    /// The user's own title for the feed, shown instead of the feed's.
    pub title: Option<String>,
    pub category: Option<crate::organise::CategoryRef>,
    /// The user's tags on the subscription, in name order.
    pub tags: Vec<String>,
}

impl Subscription {
    /// The title the user sees: their own, else the feed's.
    pub fn shown_title(&self) -> Option<&str> {
        self.title.as_deref().or(self.feed.title.as_deref())
    }
}

/// A position in a user's list of subscriptions: the keyset (subscribed_at, feed id) of the last one shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionCursor {
    pub subscribed_at: DateTime<Utc>,
    pub feed_id: FeedId,
}

impl SubscriptionCursor {
    /// An opaque, URL-safe token. Clients must not build it themselves.
    pub fn encode(&self) -> String {
        encode_keyset(self.subscribed_at, self.feed_id)
    }

    pub fn decode(token: &str) -> Result<Self, InvalidCursor> {
        let (subscribed_at, feed_id) = decode_keyset(token)?;
        Ok(SubscriptionCursor { subscribed_at, feed_id })
    }
}

/// One page of a user's subscriptions, oldest subscription first. `next_cursor` is `None` on the last page.
#[derive(Debug, Clone)]
pub struct SubscriptionPage {
    pub subscriptions: Vec<Subscription>,
    pub next_cursor: Option<SubscriptionCursor>,
}

impl SubscriptionPage {
    /// The page from up to `limit + 1` rows: the extra row, dropped here, says whether there is a next page.
    pub fn from_rows(subscriptions: Vec<Subscription>, limit: u32) -> Self {
        let (subscriptions, next_cursor) = cut_page(subscriptions, limit, |last| SubscriptionCursor {
            subscribed_at: last.subscribed_at,
            feed_id: last.feed.id,
        });
        SubscriptionPage {
            subscriptions,
            next_cursor,
        }
    }
}

/// Keeps the first `limit` of up to `limit + 1` rows; a row past `limit` only says that there is a next page,
/// which starts after the last row kept.
fn cut_page<T, Cursor>(mut rows: Vec<T>, limit: u32, cursor_of: impl FnOnce(&T) -> Cursor) -> (Vec<T>, Option<Cursor>) {
    if rows.len() <= limit as usize {
        return (rows, None);
    }
    rows.truncate(limit as usize);
    let next_cursor = rows.last().map(cursor_of);
    (rows, next_cursor)
}

/// Which articles of the timeline to show, by read state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFilter {
    #[default]
    Unread,
    Read,
    All,
}

/// A position in the timeline: the keyset (published_at, id) of the last article shown; in a search by relevance,
/// (rank, id).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArticleCursor {
    pub published_at: DateTime<Utc>,
    pub article_id: ArticleId,
    /// The last article's rank, in a search by relevance; always finite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<f64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the cursor is not one this server issued")]
pub struct InvalidCursor;

impl ArticleCursor {
    /// An opaque, URL-safe token. Clients must not build it themselves.
    pub fn encode(&self) -> String {
        match self.rank {
            None => encode_keyset(self.published_at, self.article_id),
            // Rust prints the shortest text that parses back to the same f64, so the next page starts exactly.
            Some(rank) => {
                let raw = format!("{}:{}:{rank}", self.published_at.timestamp_micros(), self.article_id);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
            }
        }
    }

    pub fn decode(token: &str) -> Result<Self, InvalidCursor> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| InvalidCursor)?;
        let raw = std::str::from_utf8(&raw).map_err(|_| InvalidCursor)?;
        let (keyset, rank) = match raw.match_indices(':').nth(1) {
            None => (raw, None),
            Some((at, _)) => {
                let rank: f64 = raw[at + 1..].parse().map_err(|_| InvalidCursor)?;
                (&raw[..at], Some(rank.is_finite().then_some(rank).ok_or(InvalidCursor)?))
            }
        };
        let (published_at, article_id) = parse_keyset(keyset)?;
        Ok(ArticleCursor {
            published_at,
            article_id,
            rank,
        })
    }
}

/// A (time, id) keyset as `base64url("micros:id")`, the shape of every cursor this server issues (a relevance
/// cursor adds `:rank`).
fn encode_keyset(at: DateTime<Utc>, id: i64) -> String {
    let raw = format!("{}:{}", at.timestamp_micros(), id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_keyset(token: &str) -> Result<(DateTime<Utc>, i64), InvalidCursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| InvalidCursor)?;
    let raw = std::str::from_utf8(&raw).map_err(|_| InvalidCursor)?;
    parse_keyset(raw)
}

/// `micros:id`, the text inside a keyset cursor.
fn parse_keyset(raw: &str) -> Result<(DateTime<Utc>, i64), InvalidCursor> {
    let (micros, id) = raw.split_once(':').ok_or(InvalidCursor)?;
    let micros: i64 = micros.parse().map_err(|_| InvalidCursor)?;
    let id: i64 = id.parse().map_err(|_| InvalidCursor)?;
    let at = DateTime::from_timestamp_micros(micros).ok_or(InvalidCursor)?;
    Ok((at, id))
}

/// A timeline request, already validated.
#[derive(Debug, Clone)]
pub struct ArticleQuery {
    pub feed_id: Option<FeedId>,
    pub status: ReadFilter,
    pub starred: Option<bool>,
    pub limit: u32,
    pub cursor: Option<ArticleCursor>,
    pub filter: ArticleFilter,
}

/// Which articles of the user's feeds a timeline request keeps, beyond read state and stars. Every field narrows
/// the timeline; together they all apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    /// Only the feeds in the user's category of that name.
    pub category: Option<String>,
    /// Only the feeds the user tagged with that name.
    pub tag: Option<String>,
    /// Only articles published at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only articles published before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only articles by this author (the whole name, any case).
    pub author: Option<String>,
    /// Only articles whose title, summary or content match this search.
    pub search: Option<ArticleSearch>,
}

/// A text search of the timeline: which articles match, and the order they come in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleSearch {
    pub query: SearchQuery,
    pub order: SearchOrder,
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    /// Best match first (a title hit weighs most, then the summary, then the content), ties by id, larger first;
    /// the cursor carries the rank.
    Relevance,
    /// Newest first, as the timeline.
    Date,
}

impl ArticleFilter {
    /// Whether the filter keeps every article.
    pub fn is_empty(&self) -> bool {
        *self == ArticleFilter::default()
    }

    /// Whether the filter narrows which subscriptions count, as opposed to which of their articles.
    pub fn narrows_subscriptions(&self) -> bool {
        self.category.is_some() || self.tag.is_some()
    }
}

/// A file attached to an article, as podcasts attach their episodes: RSS `<enclosure>`, Atom
/// `link rel="enclosure"`, JSON Feed `attachments` and Media RSS `media:content`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enclosure {
    pub url: String,
    /// The media type the feed gives, such as `audio/mpeg`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The size in bytes the feed gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

impl Enclosure {
    /// How an article's enclosures are stored: a JSON array, or NULL when there are none.
    pub fn to_column(enclosures: &[Enclosure]) -> Option<String> {
        if enclosures.is_empty() {
            return None;
        }
        serde_json::to_string(enclosures).ok()
    }

    /// The enclosures a stored column holds; NULL holds none.
    pub fn from_column(column: Option<&str>) -> Result<Vec<Enclosure>, serde_json::Error> {
        column.map_or(Ok(Vec::new()), serde_json::from_str)
    }
}

/// An article as one user sees it, with that user's read and starred state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Article {
    pub id: ArticleId,
    pub feed_id: FeedId,
    /// The feed's current title, read with the article rather than copied into it.
    pub feed_title: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    pub published_at: DateTime<Utc>,
    pub read: bool,
    pub starred: bool,
}

/// One page of the timeline. `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArticlePage {
    pub articles: Vec<Article>,
    pub next_cursor: Option<ArticleCursor>,
}

impl ArticlePage {
    /// The page from up to `limit + 1` rows in timeline order: the extra row, dropped here, says whether there is
    /// a next page.
    pub fn from_rows(articles: Vec<Article>, limit: u32) -> Self {
        let (articles, next_cursor) = cut_page(articles, limit, |last| ArticleCursor {
            published_at: last.published_at,
            article_id: last.id,
            rank: None,
        });
        ArticlePage { articles, next_cursor }
    }
}

/// A change to a user's read or starred state; `None` leaves a flag as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArticlePatch {
    pub read: Option<bool>,
    pub starred: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = ArticleCursor {
            published_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            article_id: 42,
            rank: None,
        };
        assert_eq!(ArticleCursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn a_relevance_cursor_round_trips_its_rank_exactly() {
        for rank in [0.1 + 0.2, -7.25e-7, 0.0, 1e300] {
            let cursor = ArticleCursor {
                published_at: DateTime::from_timestamp_micros(-5).unwrap(),
                article_id: 9,
                rank: Some(rank),
            };
            assert_eq!(ArticleCursor::decode(&cursor.encode()), Ok(cursor), "{rank}");
        }
        let infinite = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1:2:inf");
        assert_eq!(ArticleCursor::decode(&infinite), Err(InvalidCursor));
    }

    #[test]
    fn subscription_cursor_round_trips() {
        let cursor = SubscriptionCursor {
            subscribed_at: DateTime::from_timestamp_micros(1_700_000_000_654_321).unwrap(),
            feed_id: 7,
        };
        assert_eq!(SubscriptionCursor::decode(&cursor.encode()), Ok(cursor));
        assert_eq!(SubscriptionCursor::decode("not a cursor"), Err(InvalidCursor));
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert_eq!(ArticleCursor::decode("not a cursor"), Err(InvalidCursor));
        assert_eq!(ArticleCursor::decode(""), Err(InvalidCursor));
        let no_colon = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("12345");
        assert_eq!(ArticleCursor::decode(&no_colon), Err(InvalidCursor));
    }
}

/// A feed's favicon, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedIcon {
    /// The image's media type, read from its bytes (`image/png`, `image/x-icon`, …).
    pub content_type: String,
    pub image: Vec<u8>,
    /// A strong validator of the image: a quoted hash of its bytes.
    pub etag: String,
    /// Where it was fetched from.
    pub source_url: String,
}
