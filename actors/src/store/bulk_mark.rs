//! Marking articles in bulk under fan-out on read, in a few set-based statements whatever the number of articles
//! (no statement per article). Marking whole subscriptions read moves each one's cutoff to its feed's last article
//! and drops the read marks on those feeds. Any other mark (unread, starred, by ids or by date) writes the marks
//! of the articles whose state changes in one upsert, then recounts the selected subscriptions' differences from
//! their cutoffs. The SQL is the same on both backends, but for how a list of ids is bound.

use super::read_state::{READ, UNREAD_COUNT};

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

/// The selected articles of the user ($1) with their subscription and marks (`articles a`, `subscriptions s`,
/// `article_marks m`): the subscriptions of [`selected`], the ids ($4, all when NULL; `in_ids` says how a backend
/// tests membership) and those published before $5 (all when NULL).
fn selected_articles(in_ids: &str) -> String {
    format!(
        "FROM subscriptions s JOIN articles a ON a.feed_id = s.feed_id \
         LEFT JOIN article_marks m ON m.user_id = s.user_id AND m.article_id = a.id \
         WHERE {} AND ($4 IS NULL OR {in_ids}) AND ($5 IS NULL OR a.published_at < $5) \
           AND (($7 IS NOT NULL AND {READ} <> $7) OR ($8 IS NOT NULL AND (m.starred_at IS NOT NULL) <> $8))",
        selected("s")
    )
}

/// How many selected articles change state: read ($7) or starred ($8) other than asked (NULL: left alone).
pub(super) fn changing_count_sql(in_ids: &str) -> String {
    format!("SELECT count(*) {}", selected_articles(in_ids))
}

/// The read mark an article takes: none where the asked state ($7) is its cutoff's default, else the asked one.
const NEW_READ_MARK: &str = "CASE WHEN $7 IS NULL THEN m.read_mark WHEN $7 = (a.seq <= s.read_through_seq) THEN NULL \
     ELSE $7 END";

/// Writes the marks of the selected articles whose state changes, in one upsert, stamping what becomes read or
/// starred with $6. The marks left saying nothing are dropped after ([`drop_empty_marks_sql`]).
pub(super) fn write_marks_sql(in_ids: &str) -> String {
    format!(
        "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at) \
         SELECT s.user_id, a.id, a.feed_id, a.published_at, {NEW_READ_MARK}, \
           CASE WHEN {NEW_READ_MARK} THEN COALESCE(m.read_at, $6) END, \
           CASE WHEN $8 IS NULL THEN m.starred_at WHEN $8 THEN COALESCE(m.starred_at, $6) END \
         {} \
         ON CONFLICT (user_id, article_id) DO UPDATE SET read_mark = excluded.read_mark, \
           read_at = excluded.read_at, starred_at = excluded.starred_at",
        selected_articles(in_ids)
    )
}

/// Recounts the selected subscriptions' differences from their cutoffs, after their marks changed. Reads only
/// the user's marks on those feeds.
pub(super) fn recount_marks_sql() -> String {
    format!(
        "UPDATE subscriptions SET \
           marked_read = (SELECT count(*) FROM article_marks m JOIN articles a ON a.id = m.article_id \
             WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id \
               AND m.read_mark = true AND a.seq > subscriptions.read_through_seq), \
           marked_unread = (SELECT count(*) FROM article_marks m JOIN articles a ON a.id = m.article_id \
             WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id \
               AND m.read_mark = false AND a.seq <= subscriptions.read_through_seq) \
         WHERE {}",
        selected("subscriptions")
    )
}
