//! Feed parsing: raw bytes in, entries with stable dedupe keys out. RSS 0.9x/1.0/2.0, Atom and JSON Feed, as
//! published: the bytes are decoded and repaired first (`encoding`, `xml_prolog`, `html_entities`,
//! `xml_root`, `json_feed`), then read by feed-rs, read again after a repair if it refuses them
//! (`xml_second_chance`), and converted to syndic's entries (`convert`).

mod convert;
pub(crate) mod encoding;
mod html_entities;
mod json_feed;
#[cfg(test)]
mod real_world_tests;
mod xml_prolog;
mod xml_root;
mod xml_second_chance;

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use feed_rs::parser::{ParseFeedError, Parser};

use crate::domain::Enclosure;

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
    pub enclosures: Vec<Enclosure>,
    pub published_at: Option<DateTime<Utc>>,
}

/// The format a feed is published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Rss,
    Atom,
    Json,
}

impl FeedKind {
    /// The kind a media type (a `<link type>`, a `Content-Type`) names, if it names a feed.
    pub fn from_media_type(media_type: &str) -> Option<FeedKind> {
        let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/rss+xml" | "application/rdf+xml" => Some(FeedKind::Rss),
            "application/atom+xml" => Some(FeedKind::Atom),
            "application/feed+json" | "application/json" => Some(FeedKind::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Rss => "rss",
            FeedKind::Atom => "atom",
            FeedKind::Json => "json",
        }
    }
}

/// A parsed feed document.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    pub kind: FeedKind,
    /// The feed's own icon, else its logo, as written (maybe relative).
    pub icon_url: Option<String>,
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// RSS `<ttl>`, in minutes: the publisher's hint of how often to poll.
    pub ttl_minutes: Option<u32>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    Invalid(#[source] Arc<ParseFeedError>),
    /// The parser itself panicked on this input; the feed is treated as unparseable, not as a crash.
    #[error("the feed parser crashed on this document: {0}")]
    ParserPanicked(String),
}

/// Parses raw bytes as they came over the wire, in whatever encoding and state of repair they came.
pub fn parse_feed(bytes: &[u8]) -> Result<ParsedFeed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        // An entry without an id must not get feed-rs's generated one: we derive our own stable key.
        .id_generator(|_, _, _| String::new())
        .build();
    let text = encoding::decode_to_utf8(bytes);
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let feed = if text.starts_with('{') {
        parse_json_feed(&parser, text)?
    } else {
        let prolog = xml_prolog::split_at_root(text);
        let body = html_entities::to_xml_references(prolog.body, &prolog.entities);
        let body = xml_root::repair(body);
        parse_xml_feed(&parser, body)?
    };
    Ok(convert::feed(feed))
}

/// How many times a refused XML document is repaired and read again: each repair fixes one cause.
const XML_SECOND_CHANCES: usize = 8;

/// XML: read as it is, and while feed-rs refuses it for a reason that can be repaired, again once repaired.
/// The first refusal is the error when no repair helps.
fn parse_xml_feed(parser: &Parser, mut body: Cow<'_, str>) -> Result<feed_rs::model::Feed, ParseError> {
    let first_error = match parse_guarded(parser, body.as_bytes()) {
        Ok(feed) => return Ok(feed),
        Err(error) => error,
    };
    let mut error = first_error.clone();
    for _ in 0..XML_SECOND_CHANCES {
        let ParseError::Invalid(refusal) = &error else {
            break;
        };
        let Some(repaired) = xml_second_chance::repair(&body, refusal) else {
            break;
        };
        body = Cow::Owned(repaired);
        match parse_guarded(parser, body.as_bytes()) {
            Ok(feed) => return Ok(feed),
            Err(next) => error = next,
        }
    }
    Err(first_error)
}

/// JSON Feed: read as it is, and only if feed-rs refuses it, again after coercing it into shape.
fn parse_json_feed(parser: &Parser, text: &str) -> Result<feed_rs::model::Feed, ParseError> {
    let first_error = match parse_guarded(parser, text.as_bytes()) {
        Ok(feed) => return Ok(feed),
        Err(error) => error,
    };
    match json_feed::normalise(text) {
        Some(normalised) => parse_guarded(parser, &normalised),
        None => Err(first_error),
    }
}

/// feed-rs under `catch_unwind`: a panic on hostile input becomes an error, not a crashed actor.
fn parse_guarded(parser: &Parser, bytes: &[u8]) -> Result<feed_rs::model::Feed, ParseError> {
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| parser.parse(bytes))).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        ParseError::ParserPanicked(message)
    })?;
    parsed.map_err(|error| ParseError::Invalid(Arc::new(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::dedupe_key;

    const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Example RSS</title><link>https://example.com/</link><ttl>60</ttl>
<item><title>First</title><link>https://example.com/1</link><guid>urn:one</guid>
  <description>Summary one</description><author>alice@example.com (Alice)</author><category>rust</category>
  <pubDate>Mon, 02 Jan 2006 15:04:05 GMT</pubDate></item>
<item><title>No guid</title><link>https://example.com/2</link></item>
<item><title>Nothing</title><description>only text</description></item>
</channel></rss>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example Atom</title><id>urn:feed</id>
<link rel="self" href="https://example.com/atom.xml"/><link href="https://example.com/"/>
<updated>2024-01-01T00:00:00Z</updated>
<entry><title>Atom entry</title><id>urn:atom:1</id><link href="https://example.com/a1"/>
<updated>2024-01-01T00:00:00Z</updated><author><name>Bob</name></author>
<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry>
</feed>"#;

    const JSON_FEED: &str = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Example JSON",
"home_page_url":"https://example.com/","items":[{"id":"j1","url":"https://example.com/j1","title":"Json entry",
"content_html":"<p>hi</p>","date_published":"2024-02-01T10:00:00Z","tags":["a","b"]}]}"#;

    #[test]
    fn rss_entries_get_fields_and_keys_from_guid_link_or_hash() {
        let feed = parse_feed(RSS.as_bytes()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Example RSS"));
        assert_eq!(feed.site_url.as_deref(), Some("https://example.com/"));
        assert_eq!(feed.ttl_minutes, Some(60));
        assert_eq!(feed.entries.len(), 3);
        let first = &feed.entries[0];
        assert_eq!(first.guid.as_deref(), Some("urn:one"));
        assert_eq!(first.url.as_deref(), Some("https://example.com/1"));
        assert_eq!(first.summary.as_deref(), Some("Summary one"));
        assert_eq!(first.categories, vec!["rust".to_owned()]);
        assert_eq!(first.published_at.unwrap().to_rfc3339(), "2006-01-02T15:04:05+00:00");
        assert_eq!(first.dedupe_key, dedupe_key(Some("urn:one"), None, None, None));
        assert_eq!(feed.entries[1].guid, None);
        assert_eq!(
            feed.entries[1].dedupe_key,
            dedupe_key(None, Some("https://example.com/2"), None, None)
        );
        assert!(feed.entries[2].dedupe_key.starts_with("hash:"));
    }

    #[test]
    fn keys_are_the_same_on_every_parse() {
        let once = parse_feed(RSS.as_bytes()).unwrap();
        let twice = parse_feed(RSS.as_bytes()).unwrap();
        let keys = |feed: &ParsedFeed| feed.entries.iter().map(|e| e.dedupe_key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&once), keys(&twice));
    }

    #[test]
    fn atom_is_parsed_with_author_content_and_alternate_link() {
        let feed = parse_feed(ATOM.as_bytes()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Example Atom"));
        assert_eq!(feed.site_url.as_deref(), Some("https://example.com/"));
        let entry = &feed.entries[0];
        assert_eq!(entry.guid.as_deref(), Some("urn:atom:1"));
        assert_eq!(entry.author.as_deref(), Some("Bob"));
        assert_eq!(entry.content.as_deref(), Some("<p>Body</p>"));
        assert_eq!(entry.url.as_deref(), Some("https://example.com/a1"));
        assert!(entry.published_at.is_some());
    }

    #[test]
    fn json_feed_is_parsed() {
        let feed = parse_feed(JSON_FEED.as_bytes()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Example JSON"));
        let entry = &feed.entries[0];
        assert_eq!(entry.guid.as_deref(), Some("j1"));
        assert_eq!(entry.categories, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(entry.published_at.unwrap().to_rfc3339(), "2024-02-01T10:00:00+00:00");
    }

    #[test]
    fn declared_encoding_is_honoured_from_raw_bytes() {
        let mut bytes =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf".to_vec();
        bytes.push(0xE9); // 'é' in Latin-1, invalid as UTF-8
        bytes.extend_from_slice(b"</title><item><guid>1</guid><title>x</title></item></channel></rss>");
        let feed = parse_feed(&bytes).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Café"));
    }

    #[test]
    fn garbage_is_a_parse_error_not_a_panic() {
        assert!(matches!(parse_feed(b"hello world"), Err(ParseError::Invalid(_))));
        assert!(matches!(
            parse_feed(b"<html><body>nope</body></html>"),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_feed(b"<rss><channel><item>"),
            Err(ParseError::Invalid(_)) | Ok(_)
        ));
        assert!(parse_feed(b"").is_err());
    }

    #[test]
    fn nul_characters_are_removed() {
        let xml = "<rss version=\"2.0\"><channel><title>a</title><item><guid>1</guid><title>x&#0;y</title></item></channel></rss>";
        if let Ok(feed) = parse_feed(xml.as_bytes()) {
            assert!(!feed
                .entries
                .iter()
                .any(|e| e.title.as_deref().unwrap_or_default().contains('\0')));
        }
        assert_eq!(convert::clean("a\0b".to_owned()), "ab");
    }
}
