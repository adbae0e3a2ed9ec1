//! Feed icons: each feed's favicon, looked for once, in the background, after its first successful poll: the
//! feed's own icon or logo, else its site's `<link rel="icon">`, else `/favicon.ico` on the site. Every fetch
//! goes through the shared fetcher (SSRF rules, timeouts, politeness) with a small body cap, and only bytes
//! that are an image are kept. A failure is logged and recorded as "no icon": it never touches the feed.

pub mod image_kind;

use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use crate::discovery::{looks_like_html, read_page_links};
use crate::domain::{FeedIcon, FeedId};
use crate::feed_url::FeedUrl;
use crate::fetch::{FetchOutcome, Fetcher};
use crate::parse::encoding;
use crate::store::{IconStore, StoreError};

/// The largest icon kept.
pub const ICON_MAX_BYTES: usize = 256 * 1024;
/// The largest site page read for its `<link rel="icon">`.
const PAGE_MAX_BYTES: usize = 1024 * 1024;
/// How many of a page's icon links are tried.
const PAGE_ICONS_TRIED: usize = 2;
/// How many feeds' icons are looked for at once, engine-wide: icons must never crowd out polls.
const CONCURRENT_LOOKUPS: usize = 4;

/// Where a feed's first poll says its icon may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconLeads {
    pub feed_id: FeedId,
    /// The feed's URL, against which the other leads resolve.
    pub feed_url: Url,
    /// The feed's `<icon>`, `<logo>`, `<image>` or JSON Feed `icon`, as written.
    pub icon_url: Option<String>,
    /// The site the feed belongs to, as the feed says.
    pub site_url: Option<String>,
}

/// Looks for feeds' icons in background tasks, a few at a time, and records what it finds.
#[derive(Clone)]
pub struct IconFinder {
    fetcher: Fetcher,
    store: Arc<dyn IconStore>,
    permits: Arc<Semaphore>,
}

impl IconFinder {
    pub fn new(fetcher: Fetcher, store: Arc<dyn IconStore>) -> Self {
        IconFinder {
            fetcher,
            store,
            permits: Arc::new(Semaphore::new(CONCURRENT_LOOKUPS)),
        }
    }

    /// Looks for the feed's icon in a task of its own, unless it was looked for already. Returns at once.
    pub fn look_for(&self, leads: IconLeads) {
        let finder = self.clone();
        let span = tracing::debug_span!("icon", feed_id = leads.feed_id);
        tokio::spawn(
            async move {
                let Ok(_permit) = finder.permits.acquire().await else {
                    return;
                };
                if let Err(error) = finder.find_and_record(&leads).await {
                    tracing::warn!(%error, "could not record the feed's icon");
                }
            }
            .instrument(span),
        );
    }

    async fn find_and_record(&self, leads: &IconLeads) -> Result<(), StoreError> {
        if self.store.icon_looked_for(leads.feed_id).await? {
            return Ok(());
        }
        let icon = self.find(leads).await;
        tracing::debug!(found = icon.is_some(), "icon looked for");
        self.store.record_feed_icon(leads.feed_id, icon.as_ref()).await
    }

    async fn find(&self, leads: &IconLeads) -> Option<FeedIcon> {
        if let Some(own) = leads
            .icon_url
            .as_deref()
            .and_then(|href| resolve(&leads.feed_url, href))
        {
            if let Some(icon) = self.fetch_icon(&own).await {
                return Some(icon);
            }
        }
        let site = leads
            .site_url
            .as_deref()
            .and_then(|site| resolve(&leads.feed_url, site))
            .or_else(|| resolve(&leads.feed_url, "/"))?;
        for linked in self.page_icons(&site).await {
            if let Some(icon) = self.fetch_icon(&linked).await {
                return Some(icon);
            }
        }
        let favicon = resolve(site.as_url(), "/favicon.ico")?;
        self.fetch_icon(&favicon).await
    }

    /// The first icons the site's page links to, resolved.
    async fn page_icons(&self, site: &FeedUrl) -> Vec<FeedUrl> {
        let page = match self.fetcher.fetch_small(site, PAGE_MAX_BYTES).await {
            Ok(FetchOutcome::Fetched(page)) if looks_like_html(&page.body) => page,
            Ok(_) => return Vec::new(),
            Err(error) => {
                tracing::debug!(%error, url = site.as_str(), "could not read the site's page");
                return Vec::new();
            }
        };
        let links = read_page_links(&encoding::decode_to_utf8(&page.body));
        let base = links
            .base
            .as_deref()
            .and_then(|base| page.url.join(base).ok())
            .unwrap_or(*page.url);
        links
            .icons
            .iter()
            .filter_map(|href| resolve(&base, href))
            .take(PAGE_ICONS_TRIED)
            .collect()
    }

    async fn fetch_icon(&self, url: &FeedUrl) -> Option<FeedIcon> {
        match self.fetcher.fetch_small(url, ICON_MAX_BYTES).await {
            Ok(FetchOutcome::Fetched(document)) => {
                let declared = document.content_type.as_deref();
                image_kind::icon_from(&document.body, declared, url.as_str())
                    .inspect_err(|refused| tracing::debug!(%refused, url = url.as_str(), "not an icon"))
                    .ok()
            }
            Ok(FetchOutcome::NotModified { .. }) => None,
            Err(error) => {
                tracing::debug!(%error, url = url.as_str(), "could not fetch the icon");
                None
            }
        }
    }
}

/// A link resolved against where it was found, if it is an http(s) URL.
fn resolve(base: &Url, href: &str) -> Option<FeedUrl> {
    let url = base.join(href.trim()).ok()?;
    FeedUrl::parse(url.as_str()).ok()
}
