//! Whether fetched bytes are an image, and which: the bytes decide, not only what the server declared, so that
//! an HTML error page or a script is never stored and served as an icon.

use sha2::{Digest, Sha256};

use crate::domain::FeedIcon;

/// Why fetched bytes were not kept as an icon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnIcon {
    #[error("the server says it is {0}, not an image")]
    DeclaredType(String),
    #[error("the bytes are not a PNG, GIF, JPEG, WebP, BMP or ICO image")]
    UnknownBytes,
}

/// The media type of a raster image, from its first bytes. SVG is not taken: it can carry scripts.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    let kinds: [(&[u8], &'static str); 7] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x00\x00\x01\x00", "image/x-icon"),
        (b"BM", "image/bmp"),
        (b"RIFF", "image/webp"),
    ];
    kinds
        .iter()
        .find(|(magic, kind)| bytes.starts_with(magic) && (*kind != "image/webp" || bytes.get(8..12) == Some(b"WEBP")))
        .map(|(_, kind)| *kind)
}

/// Fetched bytes as an icon: the declared type, if any, must be an image (or say nothing, as
/// `application/octet-stream` does), and the bytes must be one.
pub fn icon_from(bytes: &[u8], declared: Option<&str>, source_url: &str) -> Result<FeedIcon, NotAnIcon> {
    if let Some(declared) = declared {
        let essence = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(essence.starts_with("image/") || essence == "application/octet-stream" || essence.is_empty()) {
            return Err(NotAnIcon::DeclaredType(essence));
        }
    }
    let content_type = sniff_image(bytes).ok_or(NotAnIcon::UnknownBytes)?;
    let digest = Sha256::digest(bytes);
    Ok(FeedIcon {
        content_type: content_type.to_owned(),
        image: bytes.to_vec(),
        etag: format!("\"{}\"", hex::encode(&digest[..16])),
        source_url: source_url.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

    #[test]
    fn known_images_are_told_by_their_bytes() {
        assert_eq!(sniff_image(PNG), Some("image/png"));
        assert_eq!(sniff_image(b"GIF89a...."), Some("image/gif"));
        assert_eq!(sniff_image(b"\x00\x00\x01\x00\x01\x00"), Some("image/x-icon"));
        assert_eq!(sniff_image(b"RIFF\x10\x00\x00\x00WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"RIFF\x10\x00\x00\x00WAVEfmt "), None);
        assert_eq!(sniff_image(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn a_page_or_a_lying_server_is_not_an_icon() {
        assert_eq!(
            icon_from(b"<html>nope</html>", Some("text/html; charset=utf-8"), "u"),
            Err(NotAnIcon::DeclaredType("text/html".into()))
        );
        assert_eq!(
            icon_from(b"<html>", Some("image/png"), "u"),
            Err(NotAnIcon::UnknownBytes)
        );
        assert_eq!(
            icon_from(PNG, Some("text/plain"), "u"),
            Err(NotAnIcon::DeclaredType("text/plain".into()))
        );
    }

    #[test]
    fn an_icon_takes_its_type_from_its_bytes_and_a_stable_etag() {
        let icon = icon_from(PNG, Some("application/octet-stream"), "https://example.com/i").unwrap();
        assert_eq!(icon.content_type, "image/png");
        assert_eq!(icon, icon_from(PNG, None, "https://example.com/i").unwrap());
        assert!(icon.etag.starts_with('"') && icon.etag.len() == 34, "{}", icon.etag);
        assert_ne!(icon.etag, icon_from(b"GIF89a", None, "u").unwrap().etag);
    }
}
