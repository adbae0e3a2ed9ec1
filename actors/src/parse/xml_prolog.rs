//! The start of an XML feed, repaired: junk, the XML declaration and the DOCTYPE dropped, and the RSS root
//! given a `version` that feed-rs dispatches on.

use std::borrow::Cow;

/// An XML document split at its root element.
#[derive(Debug, PartialEq)]
pub(super) struct Prolog<'a> {
    /// The document from its root element's `<` on.
    pub body: &'a str,
    /// General entities the DOCTYPE's internal subset declares with a literal value: `(name, value)`.
    pub entities: Vec<(&'a str, &'a str)>,
}

/// Finds the root element of already-decoded XML, skipping whatever comes before it: leading whitespace or
/// junk, the XML declaration (the text is UTF-8 now, whatever it declared), comments, processing instructions
/// and a DOCTYPE, whose literal entity declarations are kept for the entity rewrite.
pub(super) fn split_at_root(text: &str) -> Prolog<'_> {
    let mut entities = Vec::new();
    let Some(first) = text.find('<') else {
        return Prolog { body: text, entities };
    };
    let mut rest = &text[first..];
    loop {
        rest = rest.trim_start();
        let skipped = if rest.starts_with("<?") {
            after(rest, "?>")
        } else if rest.starts_with("<!--") {
            after(rest, "-->")
        } else if starts_with_ignore_case(rest, "<!DOCTYPE") {
            skip_doctype(rest, &mut entities)
        } else {
            None
        };
        match skipped {
            Some(next) => rest = next,
            None => return Prolog { body: rest, entities },
        }
    }
}

/// The RSS versions feed-rs reads; any other, or none, is read as 2.0 (a superset of 0.9x), as feedparser does.
const RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// Gives an `<rss>` root with no `version`, or one feed-rs does not know (`0.93`, `2.00`, `2.0.1`), the version 2.0.
pub(super) fn with_known_rss_version(body: Cow<'_, str>) -> Cow<'_, str> {
    let Some(attributes) = body.strip_prefix("<rss") else {
        return body;
    };
    if !attributes.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
        return body;
    }
    let tag_end = "<rss".len() + end_of_tag(attributes);
    let tag = &body[..tag_end];
    let version = attribute_span(tag, "version");
    if let Some((_, value)) = &version {
        if RSS_VERSIONS.contains(&tag[value.clone()].trim()) {
            return body;
        }
    }
    let mut repaired = String::with_capacity(body.len() + 16);
    repaired.push_str("<rss version=\"2.0\"");
    match version {
        Some((whole, _)) => {
            repaired.push_str(&tag["<rss".len()..whole.start]);
            repaired.push_str(&body[whole.end..]);
        }
        None => repaired.push_str(&body["<rss".len()..]),
    }
    Cow::Owned(repaired)
}

/// The text after the first `marker`, or `None` when there is none.
fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.find(marker).map(|at| &text[at + marker.len()..])
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Skips `<!DOCTYPE … [internal subset] >`, collecting `<!ENTITY name "value">` declarations on the way.
fn skip_doctype<'a>(doctype: &'a str, entities: &mut Vec<(&'a str, &'a str)>) -> Option<&'a str> {
    let bytes = doctype.as_bytes();
    let mut index = "<!DOCTYPE".len();
    while index < bytes.len() {
        match bytes[index] {
            quote @ (b'"' | b'\'') => index += 1 + doctype[index + 1..].find(quote as char)?,
            b'[' => {
                let subset_end = index + doctype[index..].find(']')?;
                collect_entities(&doctype[index + 1..subset_end], entities);
                index = subset_end;
            }
            b'>' => return Some(&doctype[index + 1..]),
            _ => {}
        }
        index += 1;
    }
    None
}

fn collect_entities<'a>(subset: &'a str, entities: &mut Vec<(&'a str, &'a str)>) {
    let mut rest = subset;
    while let Some(declaration) = after(rest, "<!ENTITY") {
        rest = declaration;
        let declaration = declaration.trim_start();
        // Parameter entities (`%`) only matter inside the DTD; external ones (SYSTEM/PUBLIC) are not fetched.
        let Some(name_end) = declaration.find(|c: char| c.is_ascii_whitespace()) else {
            continue;
        };
        let (name, value) = declaration.split_at(name_end);
        let value = value.trim_start();
        let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if name == "%" {
            continue;
        }
        if let Some(end) = value[1..].find(quote) {
            entities.push((name, &value[1..1 + end]));
        }
    }
}

/// The length of a start tag's text after its name, through its closing `>` (quotes may hold a `>`).
fn end_of_tag(attributes: &str) -> usize {
    let mut quote = None;
    for (index, character) in attributes.char_indices() {
        match (quote, character) {
            (None, '"' | '\'') => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (None, '>') => return index + 1,
            _ => {}
        }
    }
    attributes.len()
}

/// Where attribute `name` is in `tag`: the span of `name="value"` and the span of the value.
fn attribute_span(tag: &str, name: &str) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let mut search_from = 0;
    while let Some(found) = tag[search_from..].find(name) {
        let start = search_from + found;
        search_from = start + name.len();
        if !tag[..start].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let Some(after_equals) = tag[search_from..].trim_start().strip_prefix('=') else {
            continue;
        };
        let value_text = after_equals.trim_start();
        let Some(quote) = value_text.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let value_start = tag.len() - value_text.len() + 1;
        let value_end = value_start + tag[value_start..].find(quote)?;
        return Some((start..value_end + 1, value_start..value_end));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_declaration_comments_and_doctype_before_the_root_are_dropped() {
        let text = "\u{feff} \n<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!-- generator -->\n\
            <!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"http://x/rss-0.91.dtd\">\n\
            <?xml-stylesheet href=\"a.xsl\"?><rss version=\"0.91\"><channel/></rss>";
        let prolog = split_at_root(text);
        assert_eq!(prolog.body, "<rss version=\"0.91\"><channel/></rss>");
        assert!(prolog.entities.is_empty());
    }

    #[test]
    fn a_doctype_internal_subset_gives_its_literal_entities() {
        let text = "<!DOCTYPE rss [\n<!ENTITY product \"syndic\">\n<!ENTITY % param \"x\">\n\
            <!ENTITY logo SYSTEM \"logo.png\">\n<!ENTITY quoted 'a > b'>\n]>\n<rss/>";
        let prolog = split_at_root(text);
        assert_eq!(prolog.body, "<rss/>");
        assert_eq!(prolog.entities, vec![("product", "syndic"), ("quoted", "a > b")]);
    }

    #[test]
    fn rss_without_a_version_or_with_an_unknown_one_becomes_2_0() {
        let fixed = |body: &str| with_known_rss_version(Cow::Borrowed(body)).into_owned();
        assert_eq!(fixed("<rss><channel/></rss>"), "<rss version=\"2.0\"><channel/></rss>");
        assert_eq!(
            fixed("<rss xmlns:a='x>y' version='0.94'><channel/></rss>"),
            "<rss version=\"2.0\" xmlns:a='x>y' ><channel/></rss>"
        );
        assert_eq!(fixed("<rss\nversion = \"2.00\"/>"), "<rss version=\"2.0\"\n/>");
    }

    #[test]
    fn known_rss_versions_and_other_roots_are_untouched() {
        for body in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<rss version='0.91'/>",
            "<rssfeed/>",
            "<feed/>",
        ] {
            assert!(
                matches!(with_known_rss_version(Cow::Borrowed(body)), Cow::Borrowed(_)),
                "{body}"
            );
        }
    }
}
