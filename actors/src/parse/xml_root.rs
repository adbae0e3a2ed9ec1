//! The root element of an XML feed, made one that feed-rs dispatches on: an RSS root gets a version it knows
//! and a `<channel>`, and the namespaces of Atom 0.3 and RSS 0.90 become those of Atom 1.0 and RSS 1.0.

use std::borrow::Cow;
use std::ops::Range;

/// The RSS versions feed-rs reads; any other, or none, is read as 2.0 (a superset of 0.9x), as feedparser does.
const RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// Namespaces of feed formats feed-rs does not know, and the later ones whose elements are the same for what
/// syndic keeps (entries, titles, links, ids, content).
const NAMESPACES: [(&str, &str); 2] = [
    ("\"http://purl.org/atom/ns#\"", "\"http://www.w3.org/2005/Atom\""),
    (
        "\"http://my.netscape.com/rdf/simple/0.9/\"",
        "\"http://purl.org/rss/1.0/\"",
    ),
];

/// Repairs the root of `body`, which starts at the root element; a root that needs nothing comes back as it was.
pub(super) fn repair(body: Cow<'_, str>) -> Cow<'_, str> {
    let body = with_known_namespaces(body);
    if !is_start_of(&body, "rss") {
        return body;
    }
    let body = with_known_rss_version(body);
    with_channel(body)
}

fn with_known_namespaces(mut body: Cow<'_, str>) -> Cow<'_, str> {
    // Only the root's own declarations: that is where a feed names its format.
    let root_end = end_of_tag(&body);
    for (old, new) in NAMESPACES {
        if body[..root_end].contains(old) {
            body = Cow::Owned(body.replacen(old, new, 1));
        }
    }
    body
}

/// Gives an `<rss>` root with no `version`, or one feed-rs does not know (`0.93`, `2.00`, `2.0.1`), the version 2.0.
fn with_known_rss_version(body: Cow<'_, str>) -> Cow<'_, str> {
    let tag = &body[..end_of_tag(&body)];
    let version = attribute_span(tag, "version");
    if let Some((_, value)) = &version {
        if RSS_VERSIONS.contains(&tag[value.clone()].trim()) {
            return body;
        }
    }
    let mut repaired = String::with_capacity(body.len() + 16);
    repaired.push_str("<rss version=\"2.0\"");
    match version {
        Some((whole, _)) => {
            repaired.push_str(&tag["<rss".len()..whole.start]);
            repaired.push_str(&body[whole.end..]);
        }
        None => repaired.push_str(&body["<rss".len()..]),
    }
    Cow::Owned(repaired)
}

/// Wraps the items of an `<rss>` that has no `<channel>` (feed-rs finds items only inside one) in a channel.
fn with_channel(body: Cow<'_, str>) -> Cow<'_, str> {
    if body.contains("<channel") {
        return body;
    }
    let root_end = end_of_tag(&body);
    if body[..root_end].ends_with("/>") {
        return body;
    }
    let close = body.rfind("</rss").unwrap_or(body.len());
    let mut repaired = String::with_capacity(body.len() + 32);
    repaired.push_str(&body[..root_end]);
    repaired.push_str("<channel>");
    repaired.push_str(&body[root_end..close]);
    repaired.push_str("</channel>");
    repaired.push_str(&body[close..]);
    Cow::Owned(repaired)
}

/// Whether `body` starts with a start tag named `name` (and not merely a longer name that begins with it).
fn is_start_of(body: &str, name: &str) -> bool {
    body.strip_prefix('<')
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/'))
}

/// The length of the start tag that `text` begins with, through its closing `>` (quotes may hold a `>`).
fn end_of_tag(text: &str) -> usize {
    let mut quote = None;
    for (index, character) in text.char_indices() {
        match (quote, character) {
            (None, '"' | '\'') => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (None, '>') => return index + 1,
            _ => {}
        }
    }
    text.len()
}

/// Where attribute `name` is in `tag`: the span of `name="value"` and the span of the value.
fn attribute_span(tag: &str, name: &str) -> Option<(Range<usize>, Range<usize>)> {
    let mut search_from = 0;
    while let Some(found) = tag[search_from..].find(name) {
        let start = search_from + found;
        search_from = start + name.len();
        if !tag[..start].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let Some(after_equals) = tag[search_from..].trim_start().strip_prefix('=') else {
            continue;
        };
        let value_text = after_equals.trim_start();
        let Some(quote) = value_text.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let value_start = tag.len() - value_text.len() + 1;
        let value_end = value_start + tag[value_start..].find(quote)?;
        return Some((start..value_end + 1, value_start..value_end));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(body: &str) -> String {
        repair(Cow::Borrowed(body)).into_owned()
    }

    #[test]
    fn rss_without_a_version_or_with_an_unknown_one_becomes_2_0() {
        assert_eq!(
            repaired("<rss><channel/></rss>"),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            repaired("<rss xmlns:a='x>y' version='0.94'><channel/></rss>"),
            "<rss version=\"2.0\" xmlns:a='x>y' ><channel/></rss>"
        );
        assert_eq!(repaired("<rss\nversion = \"2.00\"/>"), "<rss version=\"2.0\"\n/>");
    }

    #[test]
    fn rss_items_outside_a_channel_are_put_in_one() {
        assert_eq!(
            repaired("<rss version=\"2.0\"><item><title>a</title></item></rss>\n"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>\n"
        );
    }

    #[test]
    fn atom_0_3_and_rss_0_90_namespaces_become_atom_1_0_and_rss_1_0() {
        assert_eq!(
            repaired("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry/></feed>"),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><entry/></feed>"
        );
        assert_eq!(
            repaired("<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><item/></rdf:RDF>"),
            "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><item/></rdf:RDF>"
        );
    }

    #[test]
    fn roots_that_need_nothing_are_untouched() {
        for body in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<rss version='0.91'><channel></channel></rss>",
            "<rssfeed/>",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
        ] {
            assert!(matches!(repair(Cow::Borrowed(body)), Cow::Borrowed(_)), "{body}");
        }
    }
}
