//! A feed's bytes as UTF-8 text: from a BOM, UTF-16/32 without one, the XML declaration's encoding, or a guess.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How far into the document the XML declaration is looked for.
const DECLARATION_WINDOW: usize = 1024;

/// Decodes `bytes` to UTF-8 the way feed readers do: a byte order mark wins, then UTF-16/32 recognised from the
/// first `<`, then the encoding the XML declaration names, then UTF-8 if the bytes are valid UTF-8, and
/// otherwise the legacy encoding that the bytes look like. Undecodable bytes become U+FFFD rather than an error.
/// Valid UTF-8 comes back borrowed, without its BOM.
pub(crate) fn decode_to_utf8(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(text) = decode_utf32(bytes) {
        return Cow::Owned(text);
    }
    if let Some((encoding, bom_length)) = Encoding::for_bom(bytes) {
        return decode_with(encoding, &bytes[bom_length..]);
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        return decode_with(encoding, bytes);
    }
    match declared_encoding(bytes) {
        Some(encoding) if encoding != UTF_8 => decode_with(encoding, bytes),
        // Declared UTF-8 (or nothing declared) but not valid UTF-8: mislabelled legacy text, common in the wild.
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => decode_with(guess_legacy_encoding(bytes), bytes),
        },
    }
}

fn decode_with<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Cow<'a, str> {
    encoding.decode_without_bom_handling(bytes).0
}

/// UTF-16 without a BOM, recognised by the NUL byte beside the first ASCII character (`<`, `{` or whitespace).
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [0, first, ..] if first.is_ascii() && *first != 0 => Some(UTF_16BE),
        [first, 0, next, ..] if first.is_ascii() && *first != 0 && *next != 0 => Some(UTF_16LE),
        [first, 0] if first.is_ascii() && *first != 0 => Some(UTF_16LE),
        _ => None,
    }
}

/// UTF-32 (which encoding_rs does not decode, as browsers never need it), with or without a BOM.
fn decode_utf32(bytes: &[u8]) -> Option<String> {
    let (big_endian, body) = match bytes {
        [0, 0, 0xFE, 0xFF, rest @ ..] => (true, rest),
        [0xFF, 0xFE, 0, 0, rest @ ..] => (false, rest),
        [0, 0, 0, first, ..] if *first != 0 => (true, bytes),
        [first, 0, 0, 0, ..] if *first != 0 => (false, bytes),
        _ => return None,
    };
    let text = body
        .chunks_exact(4)
        .map(|unit| {
            let unit = [unit[0], unit[1], unit[2], unit[3]];
            let code = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    Some(text)
}

/// The encoding named by `<?xml … encoding="…"?>` at the start of an ASCII-compatible document, if encoding_rs
/// knows the label. A declared UTF-16 in a document that is not UTF-16 (it would have been caught above) is a
/// mislabel, and is ignored.
fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let window = &bytes[..bytes.len().min(DECLARATION_WINDOW)];
    let start = window.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let declaration = window[start..].strip_prefix(b"<?xml")?;
    let declaration = &declaration[..find(declaration, b"?>")?];
    let after_name = &declaration[find(declaration, b"encoding")? + b"encoding".len()..];
    let after_equals = after_name.trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, value) = after_equals.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let label = &value[..value.iter().position(|byte| *byte == quote)?];
    Encoding::for_label(label).filter(|encoding| *encoding != UTF_16BE && *encoding != UTF_16LE)
}

/// Which legacy encoding undeclared, non-UTF-8 bytes most look like (windows-1252 when unsure, as feedparser).
fn guess_legacy_encoding(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, false)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn valid_utf8_is_borrowed_and_a_utf8_bom_is_dropped() {
        assert!(matches!(decode_to_utf8("<rss/>".as_bytes()), Cow::Borrowed("<rss/>")));
        assert_eq!(decode_to_utf8(b"\xEF\xBB\xBF<rss>caf\xC3\xA9</rss>"), "<rss>café</rss>");
    }

    #[test]
    fn utf16_is_read_with_or_without_a_bom_in_both_byte_orders() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>Ω é</rss>";
        for big_endian in [true, false] {
            for bom in [true, false] {
                assert_eq!(
                    decode_to_utf8(&utf16(text, big_endian, bom)),
                    text,
                    "be={big_endian} bom={bom}"
                );
            }
        }
    }

    #[test]
    fn utf32_is_read_with_or_without_a_bom() {
        let text = "<rss>Ω</rss>";
        let big: Vec<u8> = text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        let little: Vec<u8> = text.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert_eq!(decode_to_utf8(&big), text);
        assert_eq!(decode_to_utf8(&little), text);
        assert_eq!(decode_to_utf8(&[&[0xFF, 0xFE, 0, 0][..], &little].concat()), text);
    }

    #[test]
    fn a_declared_legacy_encoding_is_transcoded() {
        let koi8 = b"<?xml version='1.0' encoding='KOI8-R'?><rss>\xF0\xD2\xC9\xD7\xC5\xD4</rss>";
        assert_eq!(
            decode_to_utf8(koi8),
            "<?xml version='1.0' encoding='KOI8-R'?><rss>Привет</rss>"
        );
        let shift_jis = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><rss>\x93\xfa\x96\x7b</rss>";
        assert!(decode_to_utf8(shift_jis).ends_with("<rss>日本</rss>"));
        let latin1 = b"  <?xml version=\"1.0\" encoding = \"iso-8859-1\" ?><rss>caf\xE9</rss>";
        assert!(decode_to_utf8(latin1).ends_with("<rss>café</rss>"));
    }

    #[test]
    fn undeclared_legacy_bytes_are_sniffed() {
        // Windows-1252 curly quotes and an e-acute, declared as nothing.
        let windows_1252 = b"<rss><title>\x93caf\xE9\x94 is \x96 open</title></rss>";
        assert_eq!(
            decode_to_utf8(windows_1252),
            "<rss><title>\u{201C}café\u{201D} is \u{2013} open</title></rss>"
        );
        // Mislabelled as UTF-8: the bytes win over the label.
        let mislabelled = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>caf\xE9 cr\xE8me br\xFBl\xE9e</rss>";
        assert!(decode_to_utf8(mislabelled).ends_with("<rss>café crème brûlée</rss>"));
    }

    #[test]
    fn undeclared_cyrillic_is_sniffed_as_koi8_r_not_taken_for_windows_1252() {
        let koi8 = b"<rss><title>\xEE\xCF\xD7\xCF\xD3\xD4\xC9\x20\xC4\xCE\xD1\x3A\x20\xD0\xD2\xC1\xD7\xC9\xD4\xC5\xCC\xD8\xD3\xD4\xD7\xCF\x20\xCF\xC2\xD3\xD5\xC4\xC9\xCC\xCF\x20\xCE\xCF\xD7\xD9\xCA\x20\xC2\xC0\xC4\xD6\xC5\xD4\x2C\x20\xC1\x20\xD7\x20\xD3\xD4\xCF\xCC\xC9\xC3\xC5\x20\xD0\xD2\xCF\xDB\xA3\xCC\x20\xC2\xCF\xCC\xD8\xDB\xCF\xCA\x20\xD0\xD2\xC1\xDA\xC4\xCE\xC9\xCB\x20\xC4\xCC\xD1\x20\xD7\xD3\xC5\xC8\x20\xD6\xC9\xD4\xC5\xCC\xC5\xCA\x20\xC7\xCF\xD2\xCF\xC4\xC1\x2E</title></rss>";
        assert_eq!(decode_to_utf8(koi8), "<rss><title>Новости дня: правительство обсудило новый бюджет, а в столице прошёл большой праздник для всех жителей города.</title></rss>");
    }

    #[test]
    fn a_declared_utf16_on_ascii_bytes_is_a_mislabel() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>plain</rss>";
        assert_eq!(decode_to_utf8(bytes), std::str::from_utf8(bytes).unwrap());
    }
}
