//! The start of an XML feed, repaired: junk, the XML declaration and the DOCTYPE dropped before the root.

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
}
