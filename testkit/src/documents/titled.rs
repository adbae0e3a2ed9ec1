//! Feeds named by a title, for the end-to-end tests: entry `n` of feed `t` is titled `t n`, so a test can name
//! the articles it expects.

use chrono::{DateTime, Utc};

use super::{Entry, Feed};

/// When entry `n` was published: an hour apart, from November 2023.
fn date(n: usize) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + (n as i64) * 3600, 0).expect("a date in range")
}

fn entry(title: &str, n: usize) -> Entry {
    Entry {
        id: format!("{title}-{n}"),
        title: format!("{title} {n}"),
        link: format!("https://example.com/{title}/{n}"),
        published_at: date(n),
        author: None,
        summary: None,
        content_html: None,
        categories: Vec::new(),
    }
}

fn feed(title: &str, entries: Vec<Entry>) -> Feed {
    Feed {
        title: title.to_owned(),
        id: format!("urn:{title}"),
        link: None,
        description: None,
        updated: DateTime::from_timestamp(1_704_067_200, 0).expect("2024-01-01 is in range"),
        entries,
    }
}

/// An RSS 2.0 document with entries `first..first+count`, newest first.
pub fn rss(title: &str, first: usize, count: usize) -> String {
    let entries = (first..first + count)
        .rev()
        .map(|n| Entry {
            summary: Some(format!("Summary {n}")),
            ..entry(title, n)
        })
        .collect();
    Feed {
        link: Some(format!("https://example.com/{title}")),
        ..feed(title, entries)
    }
    .rss()
}

/// An Atom document with `count` entries.
pub fn atom(title: &str, count: usize) -> String {
    let entries = (0..count)
        .map(|n| Entry {
            id: format!("urn:{title}:{n}"),
            author: Some("Author".to_owned()),
            content_html: Some(format!("<p>{n}</p>")),
            ..entry(title, n)
        })
        .collect();
    feed(title, entries).atom()
}

/// A JSON Feed 1.1 document with `count` items.
pub fn json_feed(title: &str, count: usize) -> String {
    let entries = (0..count)
        .map(|n| Entry {
            content_html: Some(format!("<p>{n}</p>")),
            categories: vec!["json".to_owned(), "test".to_owned()],
            ..entry(title, n)
        })
        .collect();
    feed(title, entries).json_feed()
}
