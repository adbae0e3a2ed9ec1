//! feed-rs's model of a feed converted to syndic's: the fields syndic keeps, cleaned, and each entry's dedupe key.

use feed_rs::model;

use super::{Entry, FeedKind, ParsedFeed};
use crate::dedupe::dedupe_key;
use crate::domain::Enclosure;

pub(super) fn feed(feed: model::Feed) -> ParsedFeed {
    let kind = match feed.feed_type {
        model::FeedType::Atom => FeedKind::Atom,
        model::FeedType::JSON => FeedKind::Json,
        model::FeedType::RSS0 | model::FeedType::RSS1 | model::FeedType::RSS2 => FeedKind::Rss,
    };
    // A square icon reads better beside a feed's name than a wide logo.
    let icon_url = [&feed.icon, &feed.logo]
        .into_iter()
        .flatten()
        .map(|image| image.uri.trim().to_owned())
        .find(|uri| !uri.is_empty());
    ParsedFeed {
        kind,
        icon_url,
        title: feed
            .title
            .map(|text| clean(text.content))
            .filter(|title| !title.is_empty()),
        site_url: alternate_link(&feed.links, |_| false),
        ttl_minutes: feed.ttl,
        entries: feed
            .entries
            .into_iter()
            .map(|item| entry(item, feed.feed_type == model::FeedType::JSON))
            .collect(),
    }
}

fn entry(entry: model::Entry, json_feed: bool) -> Entry {
    let guid = Some(clean(entry.id)).filter(|id| !id.trim().is_empty());
    let is_enclosure = |link: &model::Link| is_enclosure(link, json_feed);
    let url = alternate_link(&entry.links, is_enclosure);
    let enclosures = enclosures(&entry.links, &entry.media, is_enclosure);
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
        enclosures,
        published_at: entry.published.or(entry.updated),
    }
}

/// The link a reader follows: the first `alternate` (or untyped) link, else the first link of any kind
/// that is neither the feed itself nor an enclosure.
fn alternate_link(links: &[model::Link], is_enclosure: impl Fn(&model::Link) -> bool) -> Option<String> {
    let candidates = || links.iter().filter(|link| !is_enclosure(link));
    let is_alternate = |link: &&model::Link| link.rel.as_deref().is_none_or(|rel| rel == "alternate");
    candidates()
        .find(is_alternate)
        .or_else(|| candidates().find(|link| link.rel.as_deref() != Some("self")))
        .map(|link| clean(link.href.clone()))
        .filter(|href| !href.is_empty())
}

/// An Atom `link rel="enclosure"`, or a JSON Feed attachment: feed-rs gives those, alone among a JSON Feed
/// item's links, a media type.
fn is_enclosure(link: &model::Link, json_feed: bool) -> bool {
    link.rel.as_deref() == Some("enclosure") || (json_feed && link.media_type.is_some())
}

/// An entry's enclosures from its links and its media objects (RSS `<enclosure>` and Media RSS content), each
/// URL once, in feed order.
fn enclosures(
    links: &[model::Link],
    media: &[model::MediaObject],
    is_enclosure: impl Fn(&model::Link) -> bool,
) -> Vec<Enclosure> {
    let from_links = links.iter().filter(|link| is_enclosure(link)).map(|link| Enclosure {
        url: link.href.clone(),
        media_type: link.media_type.clone(),
        length: link.length,
    });
    let from_media = media.iter().flat_map(|object| &object.content).filter_map(|content| {
        Some(Enclosure {
            url: content.url.as_ref()?.to_string(),
            media_type: content.content_type.as_ref().map(ToString::to_string),
            length: content.size,
        })
    });
    let mut enclosures: Vec<Enclosure> = Vec::new();
    for enclosure in from_links.chain(from_media) {
        let enclosure = Enclosure {
            url: clean(enclosure.url.trim().to_owned()),
            media_type: enclosure
                .media_type
                .map(clean)
                .filter(|media_type| !media_type.trim().is_empty()),
            length: enclosure.length,
        };
        if !enclosure.url.is_empty() && !enclosures.iter().any(|known| known.url == enclosure.url) {
            enclosures.push(enclosure);
        }
    }
    enclosures
}

/// Text that Postgres accepts: NUL characters are not allowed in `text`.
pub(super) fn clean(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}
