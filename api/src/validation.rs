//! The rules registration input must follow: username, email and password.

use crate::error::ApiError;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const EMAIL_MAX: usize = 254;
pub const PASSWORD_MIN: usize = 8;
/// Bounds the work one request can ask of the hasher.
pub const PASSWORD_MAX: usize = 1024;

/// 3–32 characters of `[A-Za-z0-9_.-]`.
pub fn validate_username(username: &str) -> Result<(), ApiError> {
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
    Ok(())
}

/// Trims and lowercases an email, then checks its shape: one `@`, a local part, a dotted domain, no spaces.
pub fn normalize_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
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
    Ok(email)
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
        assert_eq!(field_of(validate_username("ab")), "username");
        assert!(validate_username("abc").is_ok());
        assert!(validate_username(&"a".repeat(32)).is_ok());
        assert_eq!(field_of(validate_username(&"a".repeat(33))), "username");
        assert_eq!(field_of(validate_username("")), "username");
    }

    #[test]
    fn username_characters() {
        assert!(validate_username("Alice_1.b-c").is_ok());
        assert_eq!(field_of(validate_username("al ice")), "username");
        assert_eq!(field_of(validate_username("alice@home")), "username");
        assert_eq!(field_of(validate_username("élodie")), "username");
        assert_eq!(field_of(validate_username("ali/ce")), "username");
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
