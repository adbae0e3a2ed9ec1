//! The store's one error type, and which database errors are worth retrying.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique value is already taken; the field names which one.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// The database could not be reached or did not answer in time; retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The input contradicts what is stored, for a reason other than a taken value (an invite that is unknown,
    /// spent or expired); `field` names the input.
    #[error("{field}: {reason}")]
    Rejected { field: &'static str, reason: &'static str },
    /// The database URL names no backend this build knows.
    #[error("unsupported database URL scheme {0:?}: use postgres:// or sqlite://")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Whether the same operation may succeed later without any change to its input.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Postgres errors that say the server cannot serve right now, rather than that the statement is wrong.
fn is_unavailable(code: Option<&str>, message: &str) -> bool {
    let Some(code) = code else {
        return false;
    };
    // 08: connection exceptions; 53: insufficient resources (too many connections, disk full);
    // 57P: the server is shutting down, restarting or cannot connect now; 40: the transaction was rolled back
    // for a deadlock or a serialization failure with another one, and the same statement can succeed again.
    code.starts_with("08")
        || code.starts_with("40")
        || code.starts_with("53")
        || code.starts_with("57P")
        // A database closed to new connections (ALTER DATABASE … ALLOW_CONNECTIONS false) during maintenance.
        || (code == "55000" && message.contains("not currently accepting connections"))
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(error),
            sqlx::Error::Database(ref db) if is_unavailable(db.code().as_deref(), db.message()) => {
                StoreError::Unavailable(error)
            }
            other => StoreError::Database(other),
        }
    }
}

/// The store's error for a SQLite error: like `From<sqlx::Error>`, except that a busy or locked database is
/// `Unavailable`, so the persistence actor retries the batch rather than dropping it, and that a protocol
/// error is not: with no server in between, it is a malformed statement, which no retry can fix.
pub(super) fn sqlite_error(error: sqlx::Error) -> StoreError {
    if matches!(error, sqlx::Error::Protocol(_)) {
        return StoreError::Database(error);
    }
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    let busy = error
        .as_database_error()
        .and_then(|database| database.code())
        .and_then(|code| code.parse::<i32>().ok())
        // Extended result codes (SQLITE_BUSY_SNAPSHOT, …) keep the primary code in their low byte.
        .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED));
    if busy {
        return StoreError::Unavailable(error);
    }
    StoreError::from(error)
}

#[cfg(test)]
mod tests {
    use super::is_unavailable;

    #[test]
    fn errors_worth_retrying_are_told_from_rejected_statements() {
        for code in ["08006", "53300", "57P01", "40P01", "40001"] {
            assert!(is_unavailable(Some(code), ""), "{code}");
        }
        for code in ["23505", "22P02", "42P01", "55000"] {
            assert!(!is_unavailable(Some(code), ""), "{code}");
        }
        assert!(is_unavailable(
            Some("55000"),
            "database \"x\" is not currently accepting connections"
        ));
        assert!(!is_unavailable(None, "anything"));
    }
}
