//! Reads an OPML document into the feeds it lists. Exports differ in shape (Miniflux, FreshRSS, Feedly,
//! NetNewsWire, Inoreader): attribute names in any case (`xmlUrl`, `xmlurl`), `type` present or not, a name in
//! `title` or only in `text`, folders nested at any depth, legacy encodings. A feed is an outline with an
//! `xmlUrl`; an outline without one is a folder for the feeds inside it. A DOCTYPE is refused, so no entity is
//! ever declared, let alone expanded. Errors name the line and column.

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

use crate::parse::encoding::decode_to_utf8;

/// The most feeds one document may list.
pub const MAX_FEEDS: usize = 10_000;
/// The deepest outline nesting read; deeper is a document no reader exports.
const MAX_DEPTH: usize = 32;
/// Nested folder names are joined with this, outermost first, until categories exist.
const FOLDER_SEPARATOR: &str = " / ";
/// The longest folder path, in bytes, separators included. Every feed keeps its own copy of the path, so
/// without a bound a few long folder names above 10,000 feeds would take gigabytes from a 4 MiB document.
pub const MAX_FOLDER_BYTES: usize = 1024;

/// One feed of the document, in document order; a URL listed twice is kept once, in its first folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpmlFeed {
    pub url: String,
    pub title: Option<String>,
    pub folder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    /// Not well-formed XML, or not OPML; `line` and `column` count from 1, the column in characters.
    #[error("line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the document lists more than {limit} feeds")]
    TooManyFeeds { limit: usize },
    #[error("the document lists no feed (no outline has an xmlUrl)")]
    NoFeeds,
}

/// The feeds `bytes` lists.
pub fn parse(bytes: &[u8]) -> Result<Vec<OpmlFeed>, OpmlError> {
    let text = decode_to_utf8(bytes);
    let text = text.as_ref();
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let malformed = |offset: u64, message: String| {
        let (line, column) = line_and_column(text, offset as usize);
        OpmlError::Malformed { line, column, message }
    };
    let mut feeds = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // The open outlines: each one's folder name, if it is a folder.
    let mut open: Vec<Option<String>> = Vec::new();
    let mut root_seen = false;
    loop {
        let start = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|error| malformed(reader.error_position(), error.to_string()))?;
        match event {
            Event::DocType(_) => {
                return Err(malformed(start, "a DOCTYPE is not allowed in OPML".to_owned()));
            }
            Event::Start(element) | Event::Empty(element) if !root_seen => {
                if !element.local_name().as_ref().eq_ignore_ascii_case(b"opml") {
                    return Err(malformed(start, "the root element is not <opml>".to_owned()));
                }
                root_seen = true;
            }
            Event::Start(element) if is_outline(&element) => {
                if open.len() >= MAX_DEPTH {
                    return Err(malformed(start, format!("outlines are nested deeper than {MAX_DEPTH}")));
                }
                let outline = read_outline(&element, &reader).map_err(|message| malformed(start, message))?;
                let folder = match outline.url {
                    Some(url) => {
                        push_feed(&mut feeds, &mut seen, url, outline.name, &open)?;
                        None
                    }
                    None => outline.name,
                };
                open.push(folder);
                if folder_path_bytes(&open) > MAX_FOLDER_BYTES {
                    return Err(malformed(
                        start,
                        format!("the folder path is longer than {MAX_FOLDER_BYTES} bytes"),
                    ));
                }
            }
            Event::Empty(element) if is_outline(&element) => {
                let outline = read_outline(&element, &reader).map_err(|message| malformed(start, message))?;
                if let Some(url) = outline.url {
                    push_feed(&mut feeds, &mut seen, url, outline.name, &open)?;
                }
            }
            Event::End(element) if element.local_name().as_ref().eq_ignore_ascii_case(b"outline") => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(malformed(0, "the document has no <opml> element".to_owned()));
    }
    if feeds.is_empty() {
        return Err(OpmlError::NoFeeds);
    }
    Ok(feeds)
}

/// How long the path of the open folders is, joined as a feed's `folder` is.
fn folder_path_bytes(open: &[Option<String>]) -> usize {
    let names = open.iter().flatten();
    let separators = names.clone().count().saturating_sub(1) * FOLDER_SEPARATOR.len();
    names.map(String::len).sum::<usize>() + separators
}

fn is_outline(element: &BytesStart<'_>) -> bool {
    element.local_name().as_ref().eq_ignore_ascii_case(b"outline")
}

/// What one outline says: its feed URL, if it is a feed, and its name.
struct Outline {
    url: Option<String>,
    name: Option<String>,
}

fn read_outline(element: &BytesStart<'_>, reader: &quick_xml::Reader<&[u8]>) -> Result<Outline, String> {
    let mut outline = Outline { url: None, name: None };
    let mut text = None;
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let key = attribute.key.local_name();
        let key = key.as_ref();
        let value = || {
            attribute
                .decoded_and_normalized_value(XmlVersion::Implicit1_0, reader.decoder())
                .map(|value| value.trim().to_owned())
                .map_err(|error| error.to_string())
        };
        if key.eq_ignore_ascii_case(b"xmlurl") {
            outline.url = Some(value()?).filter(|url| !url.is_empty());
        } else if key.eq_ignore_ascii_case(b"title") {
            outline.name = Some(value()?).filter(|name| !name.is_empty());
        } else if key.eq_ignore_ascii_case(b"text") {
            text = Some(value()?).filter(|name| !name.is_empty());
        }
    }
    outline.name = outline.name.or(text);
    Ok(outline)
}

fn push_feed(
    feeds: &mut Vec<OpmlFeed>,
    seen: &mut std::collections::HashSet<String>,
    url: String,
    title: Option<String>,
    open: &[Option<String>],
) -> Result<(), OpmlError> {
    if !seen.insert(url.clone()) {
        return Ok(());
    }
    if feeds.len() == MAX_FEEDS {
        return Err(OpmlError::TooManyFeeds { limit: MAX_FEEDS });
    }
    let folders: Vec<&str> = open.iter().flatten().map(String::as_str).collect();
    let folder = (!folders.is_empty()).then(|| folders.join(FOLDER_SEPARATOR));
    feeds.push(OpmlFeed { url, title, folder });
    Ok(())
}

/// The 1-based line and column (in characters) of a byte offset into `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
