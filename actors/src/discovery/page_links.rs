//! Reading an HTML page's `<link>` tags: the feeds it announces (`rel="alternate"` with a feed type), its
//! icons (`rel="icon"`) and its `<base href>`. html5ever's tokenizer reads the page as a browser would
//! (comments, scripts and odd markup included) without building a tree.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use crate::parse::FeedKind;

/// A feed a page links to, as written there (`href` not yet resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedFeed {
    pub href: String,
    pub title: Option<String>,
    pub kind: FeedKind,
}

/// What a page's link tags say, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The first `<base href>`, against which relative links resolve.
    pub base: Option<String>,
    pub feeds: Vec<LinkedFeed>,
    /// `rel="icon"` (and the older `shortcut icon`, `apple-touch-icon`) hrefs.
    pub icons: Vec<String>,
}

/// Reads the link tags of an HTML document.
pub fn read_page_links(html: &str) -> PageLinks {
    let tokenizer = Tokenizer::new(LinkCollector::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.links.into_inner()
}

/// Whether a document is an HTML page rather than a feed: after a byte-order mark, white space, an XML
/// declaration and comments, it opens with an HTML doctype or an `<html>` element.
pub fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let mut rest = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, tail)| tail);
        } else {
            break;
        }
        rest = rest.trim_start();
    }
    let lower = rest.get(..rest.len().min(14)).unwrap_or("").to_ascii_lowercase();
    lower.starts_with("<!doctype html") || lower.starts_with("<html")
}

#[derive(Default)]
struct LinkCollector {
    links: RefCell<PageLinks>,
}

impl TokenSink for LinkCollector {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind != TagKind::StartTag {
            return TokenSinkResult::Continue;
        }
        match &*tag.name {
            "link" => self.read_link(&tag),
            "base" => {
                let mut links = self.links.borrow_mut();
                if links.base.is_none() {
                    links.base = attribute(&tag, "href");
                }
            }
            // Their text is not markup: a `<link>` inside a script is not one.
            "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => return TokenSinkResult::RawData(RawKind::Rawtext),
            "title" | "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl LinkCollector {
    fn read_link(&self, tag: &Tag) {
        let Some(href) = attribute(tag, "href").filter(|href| !href.is_empty()) else {
            return;
        };
        let rel = attribute(tag, "rel").unwrap_or_default().to_ascii_lowercase();
        let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
        let mut links = self.links.borrow_mut();
        if rels.contains(&"alternate") {
            let kind = attribute(tag, "type").as_deref().and_then(FeedKind::from_media_type);
            if let Some(kind) = kind {
                let title = attribute(tag, "title").filter(|title| !title.is_empty());
                links.feeds.push(LinkedFeed { href, title, kind });
            }
        } else if rels.iter().any(|rel| matches!(*rel, "icon" | "apple-touch-icon")) {
            links.icons.push(href);
        }
    }
}

fn attribute(tag: &Tag, name: &str) -> Option<String> {
    tag.attrs
        .iter()
        .find(|attribute| &*attribute.name.local == name)
        .map(|attribute| attribute.value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_announced_feed_in_order_with_titles_and_kinds() {
        let page = r#"<!DOCTYPE html><html><head>
            <link rel="stylesheet" href="/style.css">
            <LINK REL="Alternate" TYPE="application/rss+xml" title="Posts" href="/feed.xml">
            <link rel="alternate" type="application/atom+xml" href="https://example.com/atom">
            <link rel="alternate" type="application/feed+json; charset=utf-8" title="JSON" href="feed.json">
            <link rel="alternate" hreflang="fr" href="/fr/">
            <link rel="alternate" type="application/rss+xml" href="">
            </head><body></body></html>"#;
        let links = read_page_links(page);
        let feeds: Vec<_> = links
            .feeds
            .iter()
            .map(|feed| (feed.href.as_str(), feed.title.as_deref(), feed.kind))
            .collect();
        assert_eq!(
            feeds,
            vec![
                ("/feed.xml", Some("Posts"), FeedKind::Rss),
                ("https://example.com/atom", None, FeedKind::Atom),
                ("feed.json", Some("JSON"), FeedKind::Json),
            ]
        );
    }

    #[test]
    fn links_in_comments_and_scripts_do_not_count() {
        let page = r#"<html><head>
            <!-- <link rel="alternate" type="application/rss+xml" href="/commented.xml"> -->
            <script>document.write('<link rel="alternate" type="application/rss+xml" href="/scripted.xml">')</script>
            <link rel="alternate" type="application/rss+xml" href="/real.xml">
            </head></html>"#;
        let hrefs: Vec<_> = read_page_links(page).feeds.into_iter().map(|feed| feed.href).collect();
        assert_eq!(hrefs, vec!["/real.xml"]);
    }

    #[test]
    fn reads_icons_and_the_base() {
        let page = r#"<html><head><base href="https://cdn.example.com/"><base href="/ignored/">
            <link rel="shortcut icon" href="/favicon.png"><link rel="apple-touch-icon" href="touch.png">
            <link rel="icon" href="  /icon.svg  "></head></html>"#;
        let links = read_page_links(page);
        assert_eq!(links.base.as_deref(), Some("https://cdn.example.com/"));
        assert_eq!(links.icons, vec!["/favicon.png", "touch.png", "/icon.svg"]);
    }

    #[test]
    fn tells_pages_from_feeds() {
        for page in [
            "<!DOCTYPE html><html></html>",
            "\u{feff}  <!doctype HTML>",
            "<?xml version=\"1.0\"?>\n<!-- generated -->\n<html xmlns=\"http://www.w3.org/1999/xhtml\">",
            "<HTML><body>",
        ] {
            assert!(looks_like_html(page.as_bytes()), "{page}");
        }
        for feed in [
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel></channel></rss>",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
            "{\"version\": \"https://jsonfeed.org/version/1.1\"}",
            "<!-- <html> --><rss/>",
            "",
        ] {
            assert!(!looks_like_html(feed.as_bytes()), "{feed}");
        }
    }
}
