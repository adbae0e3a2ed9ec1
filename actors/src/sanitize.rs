//! Article HTML made safe to show. The store keeps what a feed sent as it came; what the API serves goes through
//! [`sanitize_html`] first: ammonia's allow-list of tags and attributes (no script, style, form, frame, object or
//! event-handler attribute), links and images only over http, https and mailto (so `javascript:` and `data:`
//! go), tracking pixels removed, relative links and images made absolute against the article's own address, and
//! `rel="noopener noreferrer nofollow"` on every link.

use std::borrow::Cow;
use std::collections::HashSet;

use ammonia::{Builder, Url, UrlRelative};

/// Hosts that serve counting pixels and click trackers in feeds, not pictures.
const TRACKER_HOSTS: &[&str] = &[
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "feeds.wordpress.com",
    "stats.wordpress.com",
    "pixel.wp.com",
    "pixel.quantserve.com",
    "google-analytics.com",
    "doubleclick.net",
    "feedsportal.com",
    "feedblitz.com",
    "api.flattr.com",
    "scorecardresearch.com",
    "pixel.mathtag.com",
    "ping.chartbeat.net",
];

/// The attributes ammonia keeps that carry a URL to fetch as an image.
const IMAGE_SOURCES: &[&str] = &["src"];

/// Returns `html` with only safe markup left. `base` (the article's address) makes relative URLs absolute;
/// without one, relative URLs are removed, since they would resolve against the reader's own origin.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    let without_pixels = remove_pixel_images(html);
    let mut builder = Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(match base {
            Some(base) => UrlRelative::RewriteWithBase(base.clone()),
            None => UrlRelative::Deny,
        })
        .attribute_filter(|element, attribute, value| {
            let tracked = element == "img" && IMAGE_SOURCES.contains(&attribute) && is_tracker(value);
            (!tracked).then(|| Cow::Owned(value.to_owned()))
        });
    builder.clean(&without_pixels).to_string()
}

/// The article's address as a base for its relative URLs, if it is an absolute http(s) URL.
pub fn base_of(article_url: Option<&str>) -> Option<Url> {
    let url = Url::parse(article_url?).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn is_tracker(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    TRACKER_HOSTS
        .iter()
        .any(|tracker| host == *tracker || host.ends_with(&format!(".{tracker}")))
}

/// Removes `<img>` tags drawn at 1x1 pixel or smaller (or 0 wide or high): counting pixels, whatever host they
/// come from. It only ever deletes whole tags, so a tag it misreads is left for the sanitiser, never mangled.
fn remove_pixel_images(html: &str) -> Cow<'_, str> {
    let mut kept: Option<String> = None;
    let mut copied = 0;
    let mut position = 0;
    while let Some(start) = find_image_tag(html, position) {
        let Some(end) = tag_end(html, start) else {
            break;
        };
        position = end;
        if is_pixel(&html[start..end]) {
            let kept = kept.get_or_insert_with(|| String::with_capacity(html.len()));
            kept.push_str(&html[copied..start]);
            copied = end;
        }
    }
    match kept {
        None => Cow::Borrowed(html),
        Some(mut kept) => {
            kept.push_str(&html[copied..]);
            Cow::Owned(kept)
        }
    }
}

/// Where the next `<img` tag (any case, followed by whitespace, `/` or `>`) starts, at or after `from`.
fn find_image_tag(html: &str, from: usize) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut at = from;
    while let Some(offset) = memchr::memchr(b'<', &bytes[at..]) {
        let start = at + offset;
        let name = bytes.get(start + 1..start + 4)?;
        let after = bytes.get(start + 4).copied().unwrap_or(b'>');
        if name.eq_ignore_ascii_case(b"img") && (after.is_ascii_whitespace() || after == b'/' || after == b'>') {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// One past the `>` that closes the tag starting at `start`, skipping `>` inside quoted attribute values.
fn tag_end(html: &str, start: usize) -> Option<usize> {
    let mut quote = None;
    for (offset, byte) in html.as_bytes()[start..].iter().enumerate() {
        match (quote, byte) {
            (None, b'"' | b'\'') => quote = Some(*byte),
            (Some(open), _) if *byte == open => quote = None,
            (None, b'>') => return Some(start + offset + 1),
            _ => {}
        }
    }
    None
}

/// Whether an `<img ...>` tag is drawn no larger than 1x1 by its `width` and `height` attributes.
fn is_pixel(tag: &str) -> bool {
    let small = |name: &str| attribute(tag, name).is_some_and(|value| at_most_one_pixel(&value));
    small("width") && small("height")
}

fn at_most_one_pixel(value: &str) -> bool {
    let number = value.trim().trim_end_matches("px").trim();
    matches!(number.parse::<f64>(), Ok(size) if size <= 1.0)
}

/// The value of attribute `name` in a tag, quoted or not (names compared in any case).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // An attribute name starts after whitespace and runs to `=`, whitespace, `/` or `>`.
        if !bytes[at].is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let name_start = at + 1;
        let mut name_end = name_start;
        while name_end < bytes.len()
            && !matches!(bytes[name_end], b'=' | b'>' | b'/')
            && !bytes[name_end].is_ascii_whitespace()
        {
            name_end += 1;
        }
        let mut value_start = name_end;
        while value_start < bytes.len() && bytes[value_start].is_ascii_whitespace() {
            value_start += 1;
        }
        let (value, next) = if bytes.get(value_start) == Some(&b'=') {
            read_value(tag, value_start + 1)
        } else {
            (String::new(), name_end.max(name_start + 1))
        };
        if tag[name_start..name_end].eq_ignore_ascii_case(name) {
            return Some(value);
        }
        at = next;
    }
    None
}

/// Reads an attribute value starting at `from` (after `=`): quoted, or up to whitespace or `>`.
fn read_value(tag: &str, from: usize) -> (String, usize) {
    let bytes = tag.as_bytes();
    let mut start = from;
    while start < bytes.len() && bytes[start].is_ascii_whitespace() {
        start += 1;
    }
    match bytes.get(start) {
        Some(&quote @ (b'"' | b'\'')) => {
            let end = memchr::memchr(quote, &bytes[start + 1..]).map_or(bytes.len(), |offset| start + 1 + offset);
            (tag[start + 1..end].to_owned(), (end + 1).min(bytes.len()))
        }
        _ => {
            let mut end = start;
            while end < bytes.len() && !bytes[end].is_ascii_whitespace() && bytes[end] != b'>' {
                end += 1;
            }
            (tag[start..end].to_owned(), end)
        }
    }
}

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
