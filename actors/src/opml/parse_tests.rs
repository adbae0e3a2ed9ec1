//! The parser on the shapes real exports take, and on documents it must refuse.

use super::*;

fn feed(url: &str, title: Option<&str>, folder: Option<&str>) -> OpmlFeed {
    OpmlFeed {
        url: url.to_owned(),
        title: title.map(str::to_owned),
        folder: folder.map(str::to_owned),
    }
}

fn position(error: OpmlError) -> (usize, usize) {
    match error {
        OpmlError::Malformed { line, column, .. } => (line, column),
        other => panic!("expected a malformed document, got {other:?}"),
    }
}

#[test]
fn nested_folders_lowercase_attributes_and_text_only_names() {
    let document = br#"<?xml version="1.0"?>
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="Tech">
    <outline text="Rust" title="Rust">
      <outline xmlurl="https://a.example/feed" text="A only text"/>
    </outline>
    <outline type="rss" XMLURL="https://b.example/feed" title="B" text="ignored"></outline>
  </outline>
  <outline xmlUrl="https://c.example/feed"/>
  <outline xmlUrl="https://a.example/feed" title="duplicate"/>
</body></opml>"#;
    assert_eq!(
        parse(document).expect("parses"),
        vec![
            feed("https://a.example/feed", Some("A only text"), Some("Tech / Rust")),
            feed("https://b.example/feed", Some("B"), Some("Tech")),
            feed("https://c.example/feed", None, None),
        ]
    );
}

#[test]
fn a_legacy_encoding_is_decoded() {
    let mut document = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><opml><body><outline text=\"Caf".to_vec();
    document.push(0xE9);
    document.extend_from_slice(b"\"><outline xmlUrl=\"https://x.example/\" title=\"x\"/></outline></body></opml>");
    assert_eq!(
        parse(&document).expect("parses"),
        vec![feed("https://x.example/", Some("x"), Some("Café"))]
    );
}

#[test]
fn escaped_attributes_are_read_as_text() {
    let document = br#"<opml><body><outline xmlUrl="https://x.example/?a=1&amp;b=2" title="Tom &amp; &#74;erry &lt;3"/></body></opml>"#;
    assert_eq!(
        parse(document).expect("parses"),
        vec![feed("https://x.example/?a=1&b=2", Some("Tom & Jerry <3"), None)]
    );
}

#[test]
fn a_broken_document_names_the_line_and_column() {
    let document = b"<opml>\n<body>\n  <outline xmlUrl=\"https://x.example/\">\n</body></opml>";
    let (line, _) = position(parse(document).expect_err("mismatched end tag"));
    assert_eq!(line, 4);
    let document = b"<opml>\n<body>\n   <outline xmlUrl=\"a\" title=\"x\" title=\"y\"/></body></opml>";
    assert_eq!(position(parse(document).expect_err("duplicate attribute")), (3, 4));
}

#[test]
fn a_doctype_and_its_entities_are_refused() {
    let document = br#"<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>
<opml><body><outline xmlUrl="https://x.example/" title="&b;"/></body></opml>"#;
    assert_eq!(position(parse(document).expect_err("doctype")), (2, 1));
    let undeclared = br#"<opml><body><outline xmlUrl="https://x.example/" title="&b;"/></body></opml>"#;
    assert!(matches!(parse(undeclared), Err(OpmlError::Malformed { line: 1, .. })));
}

#[test]
fn not_opml_or_no_feeds_is_refused() {
    assert!(matches!(
        parse(b"<rss><channel/></rss>"),
        Err(OpmlError::Malformed { line: 1, column: 1, .. })
    ));
    assert_eq!(
        parse(b"<opml><body><outline text=\"empty folder\"/></body></opml>"),
        Err(OpmlError::NoFeeds)
    );
    assert!(matches!(parse(b""), Err(OpmlError::Malformed { .. })));
}

#[test]
fn too_many_feeds_are_refused() {
    let mut document = String::from("<opml><body>");
    for index in 0..=MAX_FEEDS {
        document.push_str(&format!("<outline xmlUrl=\"https://x.example/{index}\"/>"));
    }
    document.push_str("</body></opml>");
    assert_eq!(
        parse(document.as_bytes()),
        Err(OpmlError::TooManyFeeds { limit: MAX_FEEDS })
    );
}

#[test]
fn a_folder_path_longer_than_the_bound_is_refused() {
    let name = "n".repeat(300);
    let nested = |depth: usize| {
        let mut document = String::from("<opml version=\"2.0\"><body>\n");
        for _ in 0..depth {
            document.push_str(&format!("<outline text=\"{name}\">\n"));
        }
        document.push_str("<outline xmlUrl=\"https://a.example/feed\"/>\n");
        for _ in 0..depth {
            document.push_str("</outline>\n");
        }
        document.push_str("</body></opml>");
        document
    };
    // Three names and two separators: 906 bytes, under the bound.
    let feeds = parse(nested(3).as_bytes()).expect("parses");
    assert_eq!(feeds[0].folder.as_deref().map(str::len), Some(906));
    // A fourth makes 1,209: refused where that folder opens, on line 5.
    assert_eq!(position(parse(nested(4).as_bytes()).unwrap_err()), (5, 1));
}
