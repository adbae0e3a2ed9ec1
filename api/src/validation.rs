//! The rules registration input must follow: username, email and password, and the normal form of each.
//!
//! Usernames and emails are NFKC-normalised first, so that look-alike forms (full-width letters, ligatures)
//! name the same account, then checked: usernames are ASCII, and an email may not hold invisible characters or
//! mix scripts inside one part (a Cyrillic `а` among Latin letters).

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, MixedScript};

use crate::error::ApiError;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const EMAIL_MAX: usize = 254;
pub const PASSWORD_MIN: usize = 8;
/// Bounds the work one request can ask of the hasher.
pub const PASSWORD_MAX: usize = 1024;

/// NFKC, then 3–32 characters of `[A-Za-z0-9_.-]`. Returns the username to store; uniqueness ignores case.
pub fn normalize_username(username: &str) -> Result<String, ApiError> {
    let username: String = username.nfkc().collect();
    let length = username.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&length) {
        return Err(ApiError::validation(
            "username",
            format!("must be {USERNAME_MIN} to {USERNAME_MAX} characters long"),
        ));
    }
    let allowed = |character: char| character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-');
    if !username.chars().all(allowed) {
        return Err(ApiError::validation(
            "username",
            "may only contain letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(username)
}

/// NFKC, trimmed and lowercased, then checked: one `@`, a local part, a dotted domain, no spaces, no invisible
/// characters, and no part that mixes scripts.
pub fn normalize_email(email: &str) -> Result<String, ApiError> {
    let email: String = email.nfkc().collect::<String>().trim().to_lowercase();
    let invalid = |message: &str| Err(ApiError::validation("email", message));
    if email.is_empty() {
        return invalid("is required");
    }
    if email.len() > EMAIL_MAX {
        return invalid("must be at most 254 characters long");
    }
    if email
        .chars()
        .any(|character| character.is_whitespace() || character.is_control())
    {
        return invalid("must not contain spaces");
    }
    // Zero-width and other format characters, and characters UTS 39 does not allow in identifiers.
    if !email
        .chars()
        .all(|character| character.is_ascii() || character.identifier_allowed())
    {
        return invalid("must not contain invisible or unusual characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("must contain an '@'");
    };
    if domain.contains('@') {
        return invalid("must contain exactly one '@'");
    }
    if local.is_empty() {
        return invalid("needs a name before the '@'");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return invalid("needs a domain such as example.com after the '@'");
    }
    if !local.is_single_script() || !domain.split('.').all(MixedScript::is_single_script) {
        return invalid("must not mix alphabets within a name, as look-alike addresses do");
    }
    Ok(email)
}

/// The form a login identifier (a username) is looked up in: NFKC and trimmed. Case is folded by the store.
pub fn normalize_identifier(identifier: &str) -> String {
    identifier.nfkc().collect::<String>().trim().to_owned()
}

/// 8–1024 characters.
pub fn validate_password(password: &str) -> Result<(), ApiError> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err(ApiError::validation(
            "password",
            format!("must be at least {PASSWORD_MIN} characters long"),
        ));
    }
    if length > PASSWORD_MAX {
        return Err(ApiError::validation(
            "password",
            format!("must be at most {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn username_length_bounds() {
        assert_eq!(field_of(normalize_username("ab")), "username");
        assert!(normalize_username("abc").is_ok());
        assert!(normalize_username(&"a".repeat(32)).is_ok());
        assert_eq!(field_of(normalize_username(&"a".repeat(33))), "username");
        assert_eq!(field_of(normalize_username("")), "username");
    }

    #[test]
    fn usernames_are_nfkc_normalised() {
        // Full-width letters are the ASCII ones after NFKC; the case is kept (uniqueness ignores it).
        assert_eq!(normalize_username("Ａｌｉｃｅ").expect("valid"), "Alice");
        assert_eq!(normalize_username("alice").expect("valid"), "alice");
        // A Cyrillic look-alike stays Cyrillic, which is not ASCII.
        assert_eq!(field_of(normalize_username("аlice")), "username");
        assert_eq!(field_of(normalize_username("ali\u{200b}ce")), "username");
    }

    #[test]
    fn emails_refuse_invisible_and_mixed_script_look_alikes() {
        assert_eq!(field_of(normalize_email("ali\u{200b}ce@example.com")), "email");
        assert_eq!(field_of(normalize_email("alice@exa\u{200d}mple.com")), "email");
        assert_eq!(field_of(normalize_email("\u{feff}alice@example.com")), "email");
        // Cyrillic а (U+0430) among Latin letters, in the local part and in the domain.
        assert_eq!(field_of(normalize_email("\u{430}lice@example.com")), "email");
        assert_eq!(field_of(normalize_email("alice@ex\u{430}mple.com")), "email");
        // One script per part is a real address.
        assert_eq!(normalize_email("иван@пример.рф").expect("valid"), "иван@пример.рф");
        assert_eq!(normalize_email("josé@example.com").expect("valid"), "josé@example.com");
        // NFKC: full-width forms fold to ASCII.
        assert_eq!(
            normalize_email("ＡＬＩＣＥ@example.com").expect("valid"),
            "alice@example.com"
        );
    }

    #[test]
    fn identifiers_are_nfkc_and_trimmed() {
        assert_eq!(normalize_identifier("  Ａｌｉｃｅ "), "Alice");
    }

    #[test]
    fn username_characters() {
        assert!(normalize_username("Alice_1.b-c").is_ok());
        assert_eq!(field_of(normalize_username("al ice")), "username");
        assert_eq!(field_of(normalize_username("alice@home")), "username");
        assert_eq!(field_of(normalize_username("élodie")), "username");
        assert_eq!(field_of(normalize_username("ali/ce")), "username");
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Alice@Example.COM \n").expect("valid"),
            "alice@example.com"
        );
    }

    #[test]
    fn email_shape() {
        assert!(normalize_email("a@b.co").is_ok());
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "a@b@c.com",
            "al ice@example.com",
        ] {
            assert_eq!(field_of(normalize_email(bad)), "email", "{bad:?} should be rejected");
        }
        for bad in ["alice@.com", "alice@example.", "alice@exa..mple.com"] {
            assert_eq!(field_of(normalize_email(bad)), "email", "{bad:?} should be rejected");
        }
    }

    #[test]
    fn email_length_bound() {
        let domain = "@example.com";
        let longest = format!("{}{domain}", "a".repeat(EMAIL_MAX - domain.len()));
        assert!(normalize_email(&longest).is_ok());
        let too_long = format!("a{longest}");
        assert_eq!(field_of(normalize_email(&too_long)), "email");
    }

    #[test]
    fn password_length_bounds() {
        assert_eq!(field_of(validate_password("1234567")), "password");
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"p".repeat(PASSWORD_MAX)).is_ok());
        assert_eq!(field_of(validate_password(&"p".repeat(PASSWORD_MAX + 1))), "password");
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert_eq!(field_of(validate_password("ééé")), "password");
        assert!(validate_password("éééééééé").is_ok());
    }
}
