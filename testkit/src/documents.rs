//! Generated feed documents (RSS 2.0, Atom, JSON Feed): one renderer for a feed and its entries, and the two
//! families built on it: the load farm's and the benches' numbered feeds (`numbered`), and the end-to-end
//! tests' feeds named by a title (`titled`).

pub mod numbered;
pub mod titled;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The three formats, in the order the farm serves them.
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

/// A feed to render. Text goes into the XML as it is: callers write only text with no markup characters.
#[derive(Debug, Clone)]
pub struct Feed {
    pub title: String,
    /// Atom's feed id.
    pub id: String,
    /// The site's address.
    pub link: Option<String>,
    /// RSS's channel description.
    pub description: Option<String>,
    /// Atom's feed `updated`.
    pub updated: DateTime<Utc>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// RSS guid, Atom id, JSON Feed id.
    pub id: String,
    pub title: String,
    pub link: String,
    pub published_at: DateTime<Utc>,
    /// Atom only.
    pub author: Option<String>,
    /// RSS description, Atom summary, JSON Feed content_text.
    pub summary: Option<String>,
    /// Atom content (escaped there), JSON Feed content_html.
    pub content_html: Option<String>,
    /// RSS categories, JSON Feed tags.
    pub categories: Vec<String>,
}

impl Feed {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Rss => self.rss(),
            Format::Atom => self.atom(),
            Format::JsonFeed => self.json_feed(),
        }
    }

    pub fn rss(&self) -> String {
        let items: String = self.entries.iter().map(rss_item).collect();
        let link = optional_element("link", self.link.as_deref());
        let description = optional_element("description", self.description.as_deref());
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{}</title>{link}{description}{items}\
             </channel></rss>",
            self.title
        )
    }

    pub fn atom(&self) -> String {
        let entries: String = self.entries.iter().map(atom_entry).collect();
        let link = self
            .link
            .as_deref()
            .map(|link| format!("<link href=\"{link}\"/>"))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <title>{}</title><id>{}</id>{link}<updated>{}</updated>{entries}</feed>",
            self.title,
            self.id,
            self.updated.to_rfc3339()
        )
    }

    pub fn json_feed(&self) -> String {
        let document = JsonFeed {
            version: "https://jsonfeed.org/version/1.1",
            title: &self.title,
            home_page_url: self.link.as_deref(),
            items: self.entries.iter().map(JsonItem::from).collect(),
        };
        serde_json::to_string(&document).expect("a JSON Feed serialises")
    }
}

fn optional_element(name: &str, text: Option<&str>) -> String {
    text.map(|text| format!("<{name}>{text}</{name}>")).unwrap_or_default()
}

fn rss_item(entry: &Entry) -> String {
    let description = optional_element("description", entry.summary.as_deref());
    let categories: String = entry
        .categories
        .iter()
        .map(|category| format!("<category>{category}</category>"))
        .collect();
    format!(
        "<item><title>{}</title><link>{}</link><guid>{}</guid>{description}{categories}<pubDate>{}</pubDate></item>",
        entry.title,
        entry.link,
        entry.id,
        entry.published_at.to_rfc2822()
    )
}

fn atom_entry(entry: &Entry) -> String {
    let author = entry
        .author
        .as_deref()
        .map(|name| format!("<author><name>{name}</name></author>"))
        .unwrap_or_default();
    let summary = optional_element("summary", entry.summary.as_deref());
    let content = entry
        .content_html
        .as_deref()
        .map(|html| format!("<content type=\"html\">{}</content>", escape_xml(html)))
        .unwrap_or_default();
    format!(
        "<entry><title>{}</title><id>{}</id><link href=\"{}\"/><updated>{}</updated>{author}{summary}{content}</entry>",
        entry.title,
        entry.id,
        entry.link,
        entry.published_at.to_rfc3339()
    )
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    date_published: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
}

impl<'a> From<&'a Entry> for JsonItem<'a> {
    fn from(entry: &'a Entry) -> JsonItem<'a> {
        JsonItem {
            id: &entry.id,
            url: &entry.link,
            title: &entry.title,
            content_text: entry.summary.as_deref(),
            content_html: entry.content_html.as_deref(),
            date_published: entry.published_at.to_rfc3339(),
            tags: &entry.categories,
        }
    }
}
