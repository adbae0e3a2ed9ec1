//! A second chance for an XML feed that feed-rs refused: the document repaired for the refusal's reason.

use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use quick_xml::events::Event;

/// The document with the cause of `refusal` repaired, or `None` when there is nothing to repair:
/// - an Atom text `type` feed-rs does not know (Atom 0.3's `text/plain`, `TEXT`) becomes `text`;
/// - an XML error, usually a document cut short, is closed after its last complete piece, as feedparser's
///   lenient reading of it would be.
pub(super) fn repair(body: &str, refusal: &ParseFeedError) -> Option<String> {
    match refusal {
        ParseFeedError::ParseError(ParseErrorKind::UnknownMimeType(media_type)) => with_text_type_for(body, media_type),
        ParseFeedError::XmlReader(_) => closed_after_last_complete_piece(body),
        _ => None,
    }
}

fn with_text_type_for(body: &str, media_type: &str) -> Option<String> {
    let mut repaired = body.to_owned();
    for quote in ['"', '\''] {
        let attribute = format!("type={quote}{media_type}{quote}");
        repaired = repaired.replace(&attribute, "type=\"text\"");
    }
    (repaired != body).then_some(repaired)
}

/// Cuts the document after the last event that read cleanly and closes every element still open there.
fn closed_after_last_complete_piece(body: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(body);
    // A mismatched end tag is not what this repairs; reading on past it finds the truncation.
    reader.config_mut().check_end_names = false;
    let mut open: Vec<String> = Vec::new();
    let mut clean_end = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => open.push(String::from_utf8_lossy(start.name().as_ref()).into_owned()),
            Ok(Event::End(_)) => {
                open.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        clean_end = usize::try_from(reader.buffer_position()).ok()?;
    }
    if open.is_empty() {
        return None;
    }
    let mut repaired = body.get(..clean_end)?.to_owned();
    for name in open.iter().rev() {
        repaired.push_str("</");
        repaired.push_str(name);
        repaired.push('>');
    }
    Some(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_cut_short_is_closed_after_its_last_complete_piece() {
        let cut = "<rss version=\"2.0\"><channel><title>T</title><item><title><![CD";
        assert_eq!(
            closed_after_last_complete_piece(cut).as_deref(),
            Some("<rss version=\"2.0\"><channel><title>T</title><item><title></title></item></channel></rss>")
        );
        assert_eq!(
            closed_after_last_complete_piece("<rdf:RDF><item>x</item>\n</rdf:RDF").as_deref(),
            Some("<rdf:RDF><item>x</item>\n</rdf:RDF>")
        );
    }

    #[test]
    fn a_complete_document_needs_no_closing() {
        assert_eq!(closed_after_last_complete_piece("<feed><entry/></feed>"), None);
    }

    #[test]
    fn an_unknown_text_type_becomes_text() {
        let body = "<title type=\"text/plain\">a</title><summary type='text/plain'>b</summary>";
        assert_eq!(
            with_text_type_for(body, "text/plain").as_deref(),
            Some("<title type=\"text\">a</title><summary type=\"text\">b</summary>")
        );
        assert_eq!(with_text_type_for(body, "application/other"), None);
    }
}
