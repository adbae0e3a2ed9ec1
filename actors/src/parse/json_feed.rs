//! JSON Feed 1.0 and 1.1 as published, coerced into the shape feed-rs's strict reader accepts.

use serde_json::{Map, Value};

const VERSION_1: &str = "https://jsonfeed.org/version/1";
const VERSION_1_1: &str = "https://jsonfeed.org/version/1.1";
const OPTIONAL_FEED_TEXT: [&str; 6] = [
    "home_page_url",
    "feed_url",
    "language",
    "description",
    "icon",
    "favicon",
];
const OPTIONAL_ITEM_TEXT: [&str; 11] = [
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "language",
];

/// The document rewritten so that feed-rs reads it, or `None` when it is not a JSON object at all.
///
/// - `version`: the `http://` form, a missing one or another 1.x becomes the `https://` 1 or 1.1 URL.
/// - `title` and `items`, which feed-rs requires, default to empty; one item object becomes a list of one.
/// - Optional text fields of the wrong type: a number or boolean becomes its text, anything else is dropped.
/// - `author` (1.0) and `authors` (1.1): a bare name becomes `{"name": …}`; one object becomes a list of one.
/// - `tags`: one string becomes a list; `attachments`: those without a `url` are dropped, a missing
///   `mime_type` becomes empty, and `size_in_bytes` is kept only as a non-negative whole number.
pub(super) fn normalise(text: &str) -> Option<Vec<u8>> {
    let mut document: Value = serde_json::from_str(text).ok()?;
    normalise_feed(document.as_object_mut()?);
    serde_json::to_vec(&document).ok()
}

fn normalise_feed(feed: &mut Map<String, Value>) {
    let version = feed.get("version").and_then(Value::as_str).unwrap_or_default();
    if !version.starts_with(VERSION_1) {
        let known = if version.ends_with("/1.1") {
            VERSION_1_1
        } else {
            VERSION_1
        };
        feed.insert("version".to_owned(), Value::from(known));
    }
    match feed.get("title").map(text_of) {
        Some(Some(title)) => feed.insert("title".to_owned(), Value::from(title)),
        _ => feed.insert("title".to_owned(), Value::from("")),
    };
    OPTIONAL_FEED_TEXT.iter().for_each(|field| optional_text(feed, field));
    normalise_authors(feed);
    let items = match feed.remove("items") {
        Some(Value::Array(items)) => items,
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let items = items
        .into_iter()
        .filter_map(|mut item| {
            normalise_item(item.as_object_mut()?);
            Some(item)
        })
        .collect();
    feed.insert("items".to_owned(), Value::Array(items));
}

fn normalise_item(item: &mut Map<String, Value>) {
    // JSON Feed 1.0 allowed a number as the id; it is text from then on.
    optional_text(item, "id");
    OPTIONAL_ITEM_TEXT.iter().for_each(|field| optional_text(item, field));
    normalise_authors(item);
    match item.remove("tags") {
        Some(Value::Array(tags)) => {
            let tags: Vec<Value> = tags.iter().filter_map(text_of).map(Value::from).collect();
            item.insert("tags".to_owned(), Value::Array(tags));
        }
        Some(tag) => {
            if let Some(tag) = text_of(&tag) {
                item.insert("tags".to_owned(), Value::Array(vec![Value::from(tag)]));
            }
        }
        None => {}
    }
    let attachments = match item.remove("attachments") {
        Some(Value::Array(attachments)) => attachments,
        Some(attachment @ Value::Object(_)) => vec![attachment],
        _ => return,
    };
    let attachments = attachments.into_iter().filter_map(attachment).collect();
    item.insert("attachments".to_owned(), Value::Array(attachments));
}

fn attachment(mut value: Value) -> Option<Value> {
    let attachment = value.as_object_mut()?;
    optional_text(attachment, "url");
    attachment.get("url")?;
    optional_text(attachment, "title");
    if attachment.get("mime_type").and_then(text_of).is_none() {
        attachment.insert("mime_type".to_owned(), Value::from(""));
    }
    let size = attachment.remove("size_in_bytes").and_then(|size| match size {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|size| *size >= 0.0).map(|size| size as u64)),
        Value::String(text) => text.trim().parse::<u64>().ok(),
        _ => None,
    });
    if let Some(size) = size {
        attachment.insert("size_in_bytes".to_owned(), Value::from(size));
    }
    Some(value)
}

/// `author` (1.0) and `authors` (1.1) as feed-rs reads them: an object, and a list of objects.
fn normalise_authors(object: &mut Map<String, Value>) {
    let mut authors: Vec<Value> = match object.remove("authors") {
        Some(Value::Array(authors)) => authors.into_iter().filter_map(person).collect(),
        Some(author) => person(author).into_iter().collect(),
        None => Vec::new(),
    };
    match object.remove("author") {
        Some(Value::Array(more)) => authors.extend(more.into_iter().filter_map(person)),
        Some(author) => {
            if let Some(author) = person(author) {
                object.insert("author".to_owned(), author);
            }
        }
        None => {}
    }
    if !authors.is_empty() {
        object.insert("authors".to_owned(), Value::Array(authors));
    }
}

fn person(value: Value) -> Option<Value> {
    match value {
        Value::Object(mut person) => {
            optional_text(&mut person, "name");
            optional_text(&mut person, "url");
            Some(Value::Object(person))
        }
        other => text_of(&other).map(|name| serde_json::json!({ "name": name })),
    }
}

/// Leaves `field` as text or removes it: a number or boolean becomes its text, anything else goes.
fn optional_text(object: &mut Map<String, Value>, field: &str) {
    if let Some(value) = object.get_mut(field) {
        match text_of(value) {
            Some(text) if !value.is_string() => *value = Value::from(text),
            Some(_) => {}
            None => {
                object.remove(field);
            }
        }
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn normalised(document: Value) -> Value {
        serde_json::from_slice(&normalise(&document.to_string()).unwrap()).unwrap()
    }

    #[test]
    fn the_http_version_and_a_missing_one_become_https() {
        assert_eq!(
            normalised(json!({"version": "http://jsonfeed.org/version/1"}))["version"],
            VERSION_1
        );
        assert_eq!(
            normalised(json!({"version": "http://jsonfeed.org/version/1.1"}))["version"],
            VERSION_1_1
        );
        assert_eq!(normalised(json!({"items": []}))["version"], VERSION_1);
        assert_eq!(normalised(json!({"version": VERSION_1_1}))["version"], VERSION_1_1);
    }

    #[test]
    fn required_fields_default_and_wrong_typed_optional_ones_are_coerced_or_dropped() {
        let feed = normalised(
            json!({"version": VERSION_1, "title": null, "home_page_url": 7, "icon": ["x"],
            "items": {"id": 12, "title": null, "url": ["x"], "tags": "solo", "content_html": true}}),
        );
        assert_eq!(feed["title"], "");
        assert_eq!(feed["home_page_url"], "7");
        assert!(feed.get("icon").is_none());
        let item = &feed["items"][0];
        assert_eq!(item["id"], "12");
        assert!(item.get("title").is_none() && item.get("url").is_none());
        assert_eq!(item["tags"], json!(["solo"]));
        assert_eq!(item["content_html"], "true");
    }

    #[test]
    fn authors_of_both_versions_and_bare_names_become_objects() {
        let feed = normalised(json!({"author": "Ann", "items": [
            {"authors": {"name": "Bob"}},
            {"author": [{"name": "Cy"}, "Di"], "authors": "Ed"},
            "not an item"]}));
        assert_eq!(feed["author"], json!({"name": "Ann"}));
        assert_eq!(feed["items"].as_array().unwrap().len(), 2);
        assert_eq!(feed["items"][0]["authors"], json!([{"name": "Bob"}]));
        assert_eq!(
            feed["items"][1]["authors"],
            json!([{"name": "Ed"}, {"name": "Cy"}, {"name": "Di"}])
        );
    }

    #[test]
    fn attachments_keep_url_type_and_a_whole_size() {
        let feed = normalised(json!({"items": [{"attachments": [
            {"url": "https://x/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": "1024"},
            {"url": "https://x/b.mp3", "size_in_bytes": -3},
            {"mime_type": "audio/mpeg"}]}]}));
        assert_eq!(
            feed["items"][0]["attachments"],
            json!([{"url": "https://x/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1024},
                   {"url": "https://x/b.mp3", "mime_type": ""}])
        );
    }

    #[test]
    fn a_document_that_is_not_an_object_is_not_a_feed() {
        assert!(normalise("[1, 2]").is_none());
        assert!(normalise("{not json").is_none());
    }
}
