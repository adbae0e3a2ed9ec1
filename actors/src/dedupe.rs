//! Stable dedupe keys for entries: the same entry gets the same key on every poll, whatever the feed format.

use sha2::{Digest, Sha256};

/// The key under which an entry is stored once per feed: its guid/id, else its link, else a hash of its title
/// and content. The value is hashed so that keys have a fixed size in the unique index; the prefix keeps the
/// three sources apart.
pub fn dedupe_key(guid: Option<&str>, link: Option<&str>, title: Option<&str>, content: Option<&str>) -> String {
    if let Some(guid) = non_blank(guid) {
        return format!("id:{}", digest(&[guid]));
    }
    if let Some(link) = non_blank(link) {
        return format!("link:{}", digest(&[link]));
    }
    format!(
        "hash:{}",
        digest(&[title.unwrap_or_default(), content.unwrap_or_default()])
    )
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_wins_over_link_and_content() {
        let a = dedupe_key(Some("urn:1"), Some("https://a/1"), Some("t"), Some("c"));
        let b = dedupe_key(Some("urn:1"), Some("https://a/other"), Some("other"), None);
        assert_eq!(a, b);
        assert!(a.starts_with("id:"));
    }

    #[test]
    fn link_is_used_without_a_guid() {
        let a = dedupe_key(None, Some("https://a/1"), Some("t"), None);
        let b = dedupe_key(Some("  "), Some("https://a/1"), Some("changed title"), Some("x"));
        assert_eq!(a, b);
        assert!(a.starts_with("link:"));
        assert_ne!(a, dedupe_key(None, Some("https://a/2"), Some("t"), None));
    }

    #[test]
    fn title_and_content_hash_is_the_last_resort_and_is_stable() {
        let a = dedupe_key(None, None, Some("title"), Some("content"));
        assert_eq!(a, dedupe_key(None, None, Some("title"), Some("content")));
        assert!(a.starts_with("hash:"));
        assert_ne!(a, dedupe_key(None, None, Some("titlec"), Some("ontent")));
        assert_ne!(a, dedupe_key(None, None, Some("title"), Some("other")));
    }

    #[test]
    fn a_guid_and_a_link_with_the_same_text_do_not_collide() {
        assert_ne!(
            dedupe_key(Some("x"), None, None, None),
            dedupe_key(None, Some("x"), None, None)
        );
    }
}
