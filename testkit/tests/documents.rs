//! The tests' titled documents: every format parses with the entries, titles and tags the end-to-end tests name.

use syndic_actors::parse::parse_feed;
use syndic_testkit::documents::titled::{atom, json_feed, rss};

fn titles(document: &str) -> Vec<String> {
    let parsed = parse_feed(document.as_bytes()).unwrap();
    parsed
        .entries
        .into_iter()
        .map(|entry| entry.title.unwrap_or_default())
        .collect()
}

#[test]
fn titled_documents_parse_with_their_entries() {
    assert_eq!(titles(&rss("news", 3, 2)), ["news 4", "news 3"]);
    assert_eq!(titles(&atom("log", 2)), ["log 0", "log 1"]);
    assert_eq!(titles(&json_feed("json", 2)), ["json 0", "json 1"]);
    let json = parse_feed(json_feed("json", 1).as_bytes()).unwrap();
    assert_eq!(json.entries[0].categories, ["json", "test"]);
    assert_eq!(json.entries[0].content.as_deref(), Some("<p>0</p>"));
    let atom = parse_feed(atom("log", 1).as_bytes()).unwrap();
    assert_eq!(atom.entries[0].content.as_deref(), Some("<p>0</p>"));
    assert_eq!(atom.entries[0].author.as_deref(), Some("Author"));
}
