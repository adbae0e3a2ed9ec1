//! Signing webhook deliveries: `X-Syndic-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body">`, keyed with the
//! webhook's secret (its UTF-8 bytes, prefix included). A receiver recomputes it and compares in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `X-Syndic-Signature` value of `body` sent at `timestamp` (Unix seconds, as in `X-Syndic-Timestamp`).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `signature` is the one of `body` at `timestamp`, compared in constant time.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_timestamp_and_body() {
        let signature = sign("whsec_a", 1_700_000_000, b"{}");
        assert!(verify("whsec_a", 1_700_000_000, b"{}", &signature));
        assert!(!verify("whsec_b", 1_700_000_000, b"{}", &signature));
        assert!(!verify("whsec_a", 1_700_000_001, b"{}", &signature));
        assert!(!verify("whsec_a", 1_700_000_000, b"{ }", &signature));
        assert!(!verify("whsec_a", 1_700_000_000, b"{}", "sha256=zz"));
    }

    /// The README's worked example, so that it cannot drift from what syndic sends.
    #[test]
    fn the_readme_example_is_what_syndic_signs() {
        let readme = include_str!("../../README.md");
        let signature = "sha256=0529bf8305835b1dafca5632a723261a96028a12daa3e489ff27b227419d06ea";
        assert_eq!(sign("whsec_example", 1_764_525_600, br#"{"id":"1"}"#), signature);
        for line in [
            "secret     whsec_example",
            "timestamp  1764525600",
            r#"body       {"id":"1"}"#,
            r#"signed     1764525600.{"id":"1"}"#,
            &format!("signature  {signature}"),
        ] {
            assert!(readme.contains(line), "the README shows {line:?}");
        }
    }
}
