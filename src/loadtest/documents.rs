//! Generated feed documents (RSS 2.0, Atom, JSON Feed) for the load farm and the benches: a window of numbered
//! entries, newest first, with stable ids and dates so that the same window always yields the same keys.

use chrono::{DateTime, Duration, TimeZone, Utc};

/// The three formats the farm serves, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    JsonFeed,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::JsonFeed => "application/feed+json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::JsonFeed => "json",
        }
    }
}

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
    match format {
        Format::Rss => rss(feed, first, count),
        Format::Atom => atom(feed, first, count),
        Format::JsonFeed => json_feed(feed, first, count),
    }
}

/// A summary of typical size (about 150 bytes), different for every entry.
fn summary(feed: usize, number: usize) -> String {
    format!(
        "Entry {number} of feed {feed}: a summary of typical length for a feed entry, a sentence or two, \
         long enough to look like the real thing."
    )
}

fn numbers(first: usize, count: usize) -> impl Iterator<Item = usize> {
    (first..first + count).rev()
}

pub fn rss(feed: usize, first: usize, count: usize) -> String {
    let items: String = numbers(first, count)
        .map(|n| {
            format!(
                "<item><title>Feed {feed} entry {n}</title><link>https://farm.example/{feed}/{n}</link>\
                 <guid>farm-{feed}-{n}</guid><description>{}</description><category>load</category>\
                 <pubDate>{}</pubDate></item>",
                summary(feed, n),
                published_at(n).to_rfc2822()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Farm feed {feed}</title>\
         <link>https://farm.example/{feed}</link><description>A generated feed</description>{items}</channel></rss>"
    )
}

pub fn atom(feed: usize, first: usize, count: usize) -> String {
    let entries: String = numbers(first, count)
        .map(|n| {
            format!(
                "<entry><title>Feed {feed} entry {n}</title><id>urn:farm:{feed}:{n}</id>\
                 <link href=\"https://farm.example/{feed}/{n}\"/><updated>{}</updated>\
                 <author><name>Farmer</name></author><summary>{}</summary></entry>",
                published_at(n).to_rfc3339(),
                summary(feed, n)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Farm feed {feed}</title><id>urn:farm:{feed}</id><link href=\"https://farm.example/{feed}\"/>\
         <updated>{}</updated>{entries}</feed>",
        published_at(first + count).to_rfc3339()
    )
}

pub fn json_feed(feed: usize, first: usize, count: usize) -> String {
    let items: Vec<String> = numbers(first, count)
        .map(|n| {
            format!(
                "{{\"id\":\"farm-{feed}-{n}\",\"url\":\"https://farm.example/{feed}/{n}\",\
                 \"title\":\"Feed {feed} entry {n}\",\"content_text\":\"{}\",\"date_published\":\"{}\",\
                 \"tags\":[\"load\"]}}",
                summary(feed, n),
                published_at(n).to_rfc3339()
            )
        })
        .collect();
    format!(
        "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"Farm feed {feed}\",\
         \"home_page_url\":\"https://farm.example/{feed}\",\"items\":[{}]}}",
        items.join(",")
    )
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
