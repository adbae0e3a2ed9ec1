//! feed-rs's model of a feed converted to syndic's: the fields syndic keeps, cleaned, and each entry's dedupe key.

use feed_rs::model;

use super::{Entry, ParsedFeed};
use crate::dedupe::dedupe_key;

pub(super) fn feed(feed: model::Feed) -> ParsedFeed {
    ParsedFeed {
        title: feed
            .title
            .map(|text| clean(text.content))
            .filter(|title| !title.is_empty()),
        site_url: alternate_link(&feed.links),
        ttl_minutes: feed.ttl,
        entries: feed.entries.into_iter().map(entry).collect(),
    }
}

fn entry(entry: model::Entry) -> Entry {
    let guid = Some(clean(entry.id)).filter(|id| !id.trim().is_empty());
    let url = alternate_link(&entry.links);
    let title = entry.title.map(|text| clean(text.content));
    let summary = entry.summary.map(|text| clean(text.content));
    let content = entry.content.and_then(|content| content.body).map(clean);
    let author = entry
        .authors
        .into_iter()
        .map(|person| clean(person.name))
        .find(|name| !name.trim().is_empty());
    let categories = entry
        .categories
        .into_iter()
        .map(|category| clean(category.label.unwrap_or(category.term)))
        .filter(|category| !category.trim().is_empty())
        .collect();
    let key = dedupe_key(
        guid.as_deref(),
        url.as_deref(),
        title.as_deref(),
        content.as_deref().or(summary.as_deref()),
    );
    Entry {
        dedupe_key: key,
        guid,
        url,
        title,
        summary,
        content,
        author,
        categories,
        published_at: entry.published.or(entry.updated),
    }
}

/// The link a reader follows: the first `alternate` (or untyped) link, else the first link of any kind
/// that is not the feed itself.
fn alternate_link(links: &[model::Link]) -> Option<String> {
    let is_alternate = |link: &&model::Link| link.rel.as_deref().is_none_or(|rel| rel == "alternate");
    links
        .iter()
        .find(is_alternate)
        .or_else(|| links.iter().find(|link| link.rel.as_deref() != Some("self")))
        .map(|link| clean(link.href.clone()))
        .filter(|href| !href.is_empty())
}

/// Text that Postgres accepts: NUL characters are not allowed in `text`.
pub(super) fn clean(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}
