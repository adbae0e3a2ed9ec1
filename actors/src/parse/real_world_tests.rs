//! `parse_feed` on the kinds of real-world feeds that feed-rs alone refuses or misreads, each as a small
//! hand-written document.

use super::*;

fn rss(item_title: &str) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>Channel</title><item><guid>1</guid><title>{item_title}</title>\
         </item><item><guid>2</guid><title>Second</title></item></channel></rss>"
    )
}

fn titles(feed: &ParsedFeed) -> Vec<&str> {
    feed.entries
        .iter()
        .map(|entry| entry.title.as_deref().unwrap_or_default())
        .collect()
}

fn parsed(bytes: &[u8]) -> ParsedFeed {
    parse_feed(bytes).unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(bytes)))
}

#[test]
fn whitespace_before_the_xml_declaration_is_skipped() {
    let document = format!("\n\n   <?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}", rss("First"));
    assert_eq!(titles(&parsed(document.as_bytes())), ["First", "Second"]);
    // The declaration still names the encoding when it is not at the very start.
    let (before, after) = rss("TITLE")
        .split_once("TITLE")
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let declaration = "\r\n <?xml version=\"1.0\" encoding=\"KOI8-R\"?>";
    let bytes = [
        declaration.as_bytes(),
        before.as_bytes(),
        b"\xF0\xD2\xC9\xD7\xC5\xD4",
        after.as_bytes(),
    ]
    .concat();
    assert_eq!(titles(&parsed(&bytes))[0], "Привет");
}

#[test]
fn a_doctype_before_the_root_is_skipped_and_its_entities_resolved() {
    let netscape = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\"\n \
         \"http://my.netscape.com/publish/formats/rss-0.91.dtd\">\n{}",
        rss("First")
    );
    assert_eq!(titles(&parsed(netscape.as_bytes())), ["First", "Second"]);
    let with_subset = format!("<!DOCTYPE rss [ <!ENTITY who \"the team\"> ]>{}", rss("By &who;"));
    assert_eq!(titles(&parsed(with_subset.as_bytes())), ["By the team", "Second"]);
}

#[test]
fn rss_without_a_version_or_with_an_unknown_one_is_read_as_rss_2() {
    for root in [
        "<rss>",
        "<rss version=\"0.94\">",
        "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
    ] {
        let document = rss("First").replacen("<rss version=\"2.0\">", root, 1);
        assert_eq!(titles(&parsed(document.as_bytes())), ["First", "Second"], "{root}");
    }
}

#[test]
fn html_entities_in_xml_are_read_as_their_characters() {
    let feed = parsed(rss("Caf&eacute;&nbsp;&mdash;&nbsp;menu &amp; prices").as_bytes());
    assert_eq!(titles(&feed)[0], "Caf\u{e9}\u{a0}\u{2014}\u{a0}menu & prices");
}

#[test]
fn bare_ampersands_in_links_are_read_literally() {
    let document = "<rss version=\"2.0\"><channel><title>C</title><item><title>Q&A</title>\
        <link>https://example.com/?a=1&b=2</link></item></channel></rss>";
    let feed = parsed(document.as_bytes());
    assert_eq!(titles(&feed), ["Q&A"]);
    assert_eq!(feed.entries[0].url.as_deref(), Some("https://example.com/?a=1&b=2"));
}

#[test]
fn byte_order_marks_are_dropped_from_xml_and_json() {
    let xml = [b"\xEF\xBB\xBF".as_slice(), rss("First").as_bytes()].concat();
    assert_eq!(titles(&parsed(&xml)), ["First", "Second"]);
    let json =
        b"\xEF\xBB\xBF{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{\"id\":\"1\"}]}";
    assert_eq!(parsed(json).entries.len(), 1);
}

#[test]
fn utf16_feeds_are_read_in_both_byte_orders_with_or_without_a_bom() {
    let text = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{}", rss("Ω and é"));
    for big_endian in [true, false] {
        for bom in [true, false] {
            let mut bytes: Vec<u8> = Vec::new();
            if bom {
                bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
            }
            for unit in text.encode_utf16() {
                bytes.extend(if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            assert_eq!(
                titles(&parsed(&bytes))[0],
                "Ω and é",
                "big endian {big_endian}, bom {bom}"
            );
        }
    }
}

#[test]
fn declared_legacy_encodings_are_transcoded() {
    let cases: [(&str, &[u8], &str); 3] = [
        ("KOI8-R", b"\xF0\xD2\xC9\xD7\xC5\xD4", "Привет"),
        ("Shift_JIS", b"\x93\xfa\x96\x7b", "日本"),
        ("windows-1252", b"\x93caf\xE9\x94", "\u{201C}café\u{201D}"),
    ];
    for (label, encoded, expected) in cases {
        let document = format!("<?xml version=\"1.0\" encoding=\"{label}\"?>{}", rss("TITLE"));
        let (before, after) = document.split_once("TITLE").unwrap();
        let bytes = [before.as_bytes(), encoded, after.as_bytes()].concat();
        assert_eq!(titles(&parsed(&bytes))[0], expected, "{label}");
    }
}

#[test]
fn undeclared_legacy_encodings_are_sniffed() {
    let (before, after) = rss("TITLE")
        .split_once("TITLE")
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    // Windows-1252 text with no declaration at all.
    let bytes = [
        before.as_bytes(),
        b"Cr\xE8me br\xFBl\xE9e \x96 \x93 d\xE9licieux \x94",
        after.as_bytes(),
    ]
    .concat();
    assert_eq!(
        titles(&parsed(&bytes))[0],
        "Crème brûlée \u{2013} \u{201C} délicieux \u{201D}"
    );
}

#[test]
fn a_json_feed_with_the_http_version_is_read() {
    let document = r#"{"version":"http://jsonfeed.org/version/1","title":"J","items":[{"id":"1","title":"One"}]}"#;
    assert_eq!(titles(&parsed(document.as_bytes())), ["One"]);
}

#[test]
fn json_feed_optional_fields_of_the_wrong_type_are_coerced() {
    let document = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","icon":null,"items":[
        {"id":1,"title":"One","tags":"solo","authors":"Ann","attachments":null,"summary":null},
        {"id":"2","title":null,"tags":["a",3,null],"url":"https://example.com/2"}]}"#;
    let feed = parsed(document.as_bytes());
    assert_eq!(feed.entries.len(), 2);
    let first = &feed.entries[0];
    assert_eq!(first.guid.as_deref(), Some("1"));
    assert_eq!(first.categories, ["solo"]);
    assert_eq!(first.author.as_deref(), Some("Ann"));
    assert_eq!(feed.entries[1].categories, ["a", "3"]);
}

#[test]
fn json_feed_1_0_author_and_1_1_authors_are_both_read() {
    let version_1 = r#"{"version":"https://jsonfeed.org/version/1","title":"J","author":{"name":"Ann"},
        "items":[{"id":"1"},{"id":"2","author":{"name":"Bob"}}]}"#;
    let feed = parsed(version_1.as_bytes());
    let authors: Vec<_> = feed.entries.iter().map(|entry| entry.author.as_deref()).collect();
    assert_eq!(authors, [Some("Ann"), Some("Bob")]);
    let version_1_1 = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","authors":[{"name":"Cy"}],
        "items":[{"id":"1"},{"id":"2","authors":[{"name":"Di"}]}]}"#;
    let feed = parsed(version_1_1.as_bytes());
    let authors: Vec<_> = feed.entries.iter().map(|entry| entry.author.as_deref()).collect();
    assert_eq!(authors, [Some("Cy"), Some("Di")]);
}

#[test]
fn rss_items_without_a_channel_are_read() {
    let document = "<!-- a comment first --><rss><item><title>Lone</title></item></rss>";
    assert_eq!(titles(&parsed(document.as_bytes())), ["Lone"]);
}

#[test]
fn atom_0_3_and_rss_0_90_feeds_are_read() {
    let atom_0_3 = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>Old</title>\
        <entry><title>One</title><link rel=\"alternate\" href=\"https://example.com/1\"/><id>tag:1</id></entry>\
        <entry><title>Two</title><id>tag:2</id></entry></feed>";
    let feed = parsed(atom_0_3.as_bytes());
    assert_eq!(titles(&feed), ["One", "Two"]);
    assert_eq!(feed.entries[0].url.as_deref(), Some("https://example.com/1"));
    let rss_0_90 = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
        xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel><title>Old</title></channel>\
        <item><title>One</title><link>https://example.com/1</link></item></rdf:RDF>";
    assert_eq!(titles(&parsed(rss_0_90.as_bytes())), ["One"]);
}

fn enclosure(url: &str, media_type: Option<&str>, length: Option<u64>) -> Enclosure {
    Enclosure {
        url: url.to_owned(),
        media_type: media_type.map(str::to_owned),
        length,
    }
}

#[test]
fn rss_enclosures_and_media_rss_content_are_kept_once_each() {
    let document = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>Pod</title>\
        <item><title>Episode</title><link>https://example.com/1</link>\
        <enclosure url=\"https://cdn.example.com/1.mp3\" length=\"12345\" type=\"audio/mpeg\"/>\
        <media:content url=\"https://cdn.example.com/1.mp3\" type=\"audio/mpeg\"/>\
        <media:content url=\"https://cdn.example.com/1.mp4\" type=\"video/mp4\" fileSize=\"99\"/></item>\
        <item><title>Text only</title></item></channel></rss>";
    let feed = parsed(document.as_bytes());
    assert_eq!(feed.entries[0].url.as_deref(), Some("https://example.com/1"));
    assert_eq!(
        feed.entries[0].enclosures,
        [
            enclosure("https://cdn.example.com/1.mp3", Some("audio/mpeg"), Some(12345)),
            enclosure("https://cdn.example.com/1.mp4", Some("video/mp4"), Some(99)),
        ]
    );
    assert!(feed.entries[1].enclosures.is_empty());
}

#[test]
fn atom_enclosure_links_are_enclosures_not_the_article_link() {
    let document = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Pod</title><entry><id>1</id><title>E</title>\
        <link rel=\"enclosure\" href=\"https://cdn.example.com/1.ogg\" type=\"audio/ogg\" length=\"777\"/>\
        <link rel=\"alternate\" type=\"text/html\" href=\"https://example.com/1\"/></entry></feed>";
    let feed = parsed(document.as_bytes());
    assert_eq!(feed.entries[0].url.as_deref(), Some("https://example.com/1"));
    assert_eq!(
        feed.entries[0].enclosures,
        [enclosure("https://cdn.example.com/1.ogg", Some("audio/ogg"), Some(777))]
    );
}

#[test]
fn json_feed_attachments_are_enclosures() {
    let document = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1",
        "url":"https://example.com/1","attachments":[{"url":"https://cdn.example.com/1.m4a",
        "mime_type":"audio/x-m4a","size_in_bytes":"2048"},{"url":"https://cdn.example.com/1.txt"}]}]}"#;
    let feed = parsed(document.as_bytes());
    assert_eq!(feed.entries[0].url.as_deref(), Some("https://example.com/1"));
    assert_eq!(
        feed.entries[0].enclosures,
        [
            enclosure("https://cdn.example.com/1.m4a", Some("audio/x-m4a"), Some(2048)),
            enclosure("https://cdn.example.com/1.txt", None, None),
        ]
    );
}

#[test]
fn a_feed_cut_short_keeps_the_entries_it_has() {
    let document = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Cut</title>\
        <item><title>Whole</title><guid>1</guid></item><item><title>Half</title><guid>2</guid><description><![CD";
    let feed = parsed(document.as_bytes());
    assert_eq!(titles(&feed), ["Whole", "Half"]);
}

#[test]
fn atom_text_types_feed_rs_does_not_know_are_read_as_text() {
    let document = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title type=\"text/plain\">Old</title>\
        <entry><title type=\"text/plain\" mode=\"xml\">One</title><id>tag:1</id>\
        <summary type=\"TEXT\">Sum</summary></entry></feed>";
    let feed = parsed(document.as_bytes());
    assert_eq!(feed.title.as_deref(), Some("Old"));
    assert_eq!(titles(&feed), ["One"]);
    assert_eq!(feed.entries[0].summary.as_deref(), Some("Sum"));
}
