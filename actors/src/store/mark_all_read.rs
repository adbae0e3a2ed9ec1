//! Marking whole subscriptions read at once, under fan-out on read: the cutoff of each selected subscription
//! moves to its feed's last article and the read marks on those feeds go, so the work is a few set-based
//! statements whatever the number of articles (no statement per article). The SQL is the same on both backends.

use super::read_state::UNREAD_COUNT;

/// The user's ($1) subscriptions a bulk mark selects, in the table or alias `table`: one feed ($2, or all when
/// NULL) and the category named $3 (or any when NULL).
fn selected(table: &str) -> String {
    format!(
        "{table}.user_id = $1 AND ($2 IS NULL OR {table}.feed_id = $2) \
         AND ($3 IS NULL OR {table}.category_id IN (SELECT c.id FROM categories c WHERE c.user_id = $1 AND c.name = $3))"
    )
}

/// How many articles of the selected subscriptions are unread: what marking them read changes.
pub(super) fn unread_count_sql() -> String {
    format!(
        "SELECT CAST(COALESCE(sum({UNREAD_COUNT}), 0) AS BIGINT) FROM subscriptions s \
         JOIN feeds f ON f.id = s.feed_id WHERE {}",
        selected("s")
    )
}

/// Moves each selected subscription's cutoff to its feed's last article: everything stored is read, and no
/// mark differs from that any more.
pub(super) fn move_cutoffs_sql() -> String {
    format!(
        "UPDATE subscriptions SET read_through_seq = (SELECT f.last_seq FROM feeds f WHERE f.id = subscriptions.feed_id), \
           marked_read = 0, marked_unread = 0 WHERE {}",
        selected("subscriptions")
    )
}

/// Drops the read marks on the selected feeds, which the moved cutoffs make moot; stars stay.
pub(super) fn clear_read_marks_sql() -> String {
    format!(
        "UPDATE article_marks SET read_mark = NULL WHERE user_id = $1 AND read_mark IS NOT NULL \
         AND feed_id IN (SELECT s.feed_id FROM subscriptions s WHERE {})",
        selected("s")
    )
}

/// Deletes the marks left with nothing to say (no read mark, no star) on the selected feeds.
pub(super) fn drop_empty_marks_sql() -> String {
    format!(
        "DELETE FROM article_marks WHERE user_id = $1 AND read_mark IS NULL AND starred_at IS NULL \
         AND feed_id IN (SELECT s.feed_id FROM subscriptions s WHERE {})",
        selected("s")
    )
}

/// Locks the selected subscriptions (Postgres), so that a mark on one article waits for the bulk mark.
pub(super) fn lock_sql() -> String {
    format!(
        "SELECT s.feed_id FROM subscriptions s WHERE {} FOR UPDATE",
        selected("s")
    )
}
