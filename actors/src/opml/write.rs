//! Writes a user's subscriptions as an OPML 2.0 document: feeds without a folder at the top, each folder an
//! outline holding its feeds. Every value is escaped, so a title with `&`, `<` or quotes reads back as it was.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use quick_xml::escape::escape;

/// One subscription as the export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFeed {
    pub url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub folder: Option<String>,
}

/// The document for `feeds`, in their order within each folder; folders by name.
pub fn write(feeds: &[ExportedFeed], created_at: DateTime<Utc>) -> String {
    let mut document = String::with_capacity(128 + feeds.len() * 160);
    document.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n");
    document.push_str("    <title>syndic subscriptions</title>\n");
    let _ = writeln!(document, "    <dateCreated>{}</dateCreated>", created_at.to_rfc2822());
    document.push_str("  </head>\n  <body>\n");
    let mut folders: BTreeMap<&str, Vec<&ExportedFeed>> = BTreeMap::new();
    for feed in feeds {
        match &feed.folder {
            Some(folder) => folders.entry(folder.as_str()).or_default().push(feed),
            None => write_feed(&mut document, feed, "    "),
        }
    }
    for (folder, feeds) in folders {
        let name = escape(folder);
        let _ = writeln!(document, "    <outline text=\"{name}\" title=\"{name}\">");
        for feed in feeds {
            write_feed(&mut document, feed, "      ");
        }
        document.push_str("    </outline>\n");
    }
    document.push_str("  </body>\n</opml>\n");
    document
}

fn write_feed(document: &mut String, feed: &ExportedFeed, indent: &str) {
    let name = escape(feed.title.as_deref().unwrap_or(&feed.url));
    let _ = write!(
        document,
        "{indent}<outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{}\"",
        escape(feed.url.as_str())
    );
    if let Some(site) = &feed.site_url {
        let _ = write!(document, " htmlUrl=\"{}\"", escape(site.as_str()));
    }
    document.push_str("/>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opml::{parse, OpmlFeed};

    #[test]
    fn an_export_reads_back_with_its_titles_and_folders() {
        let feeds = vec![
            ExportedFeed {
                url: "https://example.com/a?x=1&y=2".to_owned(),
                title: Some("Tom & Jerry's <\"best\"> feed".to_owned()),
                site_url: Some("https://example.com/?a=1&b=2".to_owned()),
                folder: None,
            },
            ExportedFeed {
                url: "https://example.com/b".to_owned(),
                title: None,
                site_url: None,
                folder: Some("News & <Views>".to_owned()),
            },
        ];
        let document = write(&feeds, DateTime::UNIX_EPOCH);
        assert_eq!(
            parse(document.as_bytes()).expect("our own export parses"),
            vec![
                OpmlFeed {
                    url: "https://example.com/a?x=1&y=2".to_owned(),
                    title: Some("Tom & Jerry's <\"best\"> feed".to_owned()),
                    folder: None,
                },
                OpmlFeed {
                    url: "https://example.com/b".to_owned(),
                    title: Some("https://example.com/b".to_owned()),
                    folder: Some("News & <Views>".to_owned()),
                },
            ]
        );
    }
}
