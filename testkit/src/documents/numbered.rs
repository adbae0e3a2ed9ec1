//! Feeds known by a number, for the load farm and the benches: a window of numbered entries, newest first, with
//! stable ids and dates so that the same window always yields the same keys, and a summary of typical size.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{Entry, Feed, Format};

/// Entry `n` is published `n` hours after this instant, so entries are dated and the schedule can measure them.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// When entry `number` was published.
pub fn published_at(number: usize) -> DateTime<Utc> {
    // Clamped so that an absurd entry number cannot overflow the date arithmetic.
    epoch() + Duration::hours(i64::try_from(number.min(1_000_000_000)).unwrap_or(0))
}

/// A document of feed `feed` with the entries `first..first + count`, newest first.
pub fn document(format: Format, feed: usize, first: usize, count: usize) -> String {
    numbered_feed(format, feed, first, count).render(format)
}

pub fn rss(feed: usize, first: usize, count: usize) -> String {
    document(Format::Rss, feed, first, count)
}

/// A summary of typical size (about 150 bytes), different for every entry.
fn summary(feed: usize, number: usize) -> String {
    format!(
        "Entry {number} of feed {feed}: a summary of typical length for a feed entry, a sentence or two, \
         long enough to look like the real thing."
    )
}

fn numbered_feed(format: Format, feed: usize, first: usize, count: usize) -> Feed {
    let entries = (first..first + count)
        .rev()
        .map(|n| Entry {
            id: match format {
                Format::Atom => format!("urn:farm:{feed}:{n}"),
                Format::Rss | Format::JsonFeed => format!("farm-{feed}-{n}"),
            },
            title: format!("Feed {feed} entry {n}"),
            link: format!("https://farm.example/{feed}/{n}"),
            published_at: published_at(n),
            author: Some("Farmer".to_owned()),
            summary: Some(summary(feed, n)),
            content_html: None,
            categories: vec!["load".to_owned()],
        })
        .collect();
    Feed {
        title: format!("Farm feed {feed}"),
        id: format!("urn:farm:{feed}"),
        link: Some(format!("https://farm.example/{feed}")),
        description: Some("A generated feed".to_owned()),
        updated: published_at(first + count),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syndic_actors::parse::parse_feed;

    #[test]
    fn every_format_parses_with_every_entry() {
        for format in [Format::Rss, Format::Atom, Format::JsonFeed] {
            let parsed = parse_feed(document(format, 7, 3, 20).as_bytes()).unwrap();
            assert_eq!(parsed.entries.len(), 20, "{format:?}");
            assert!(parsed.entries.iter().all(|entry| entry.published_at.is_some()));
            assert!(parsed.entries.iter().all(|entry| entry.dedupe_key.starts_with("id:")));
        }
    }

    #[test]
    fn shifting_the_window_keeps_the_old_keys() {
        let keys = |first| {
            parse_feed(rss(1, first, 20).as_bytes())
                .unwrap()
                .entries
                .into_iter()
                .map(|entry| entry.dedupe_key)
                .collect::<std::collections::HashSet<_>>()
        };
        assert_eq!(keys(0).intersection(&keys(5)).count(), 15);
    }
}
