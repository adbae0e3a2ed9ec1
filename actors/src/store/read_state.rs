//! A user's read state under fan-out on read. A subscription's cutoff (`read_through_seq`) says which of the
//! feed's articles count as read (those numbered up to it); an article mark records where the user differs from
//! that (`read_mark`); and the subscription counts those differences (`marked_read`, `marked_unread`), so that an
//! unread count is arithmetic on one row, never a scan. The SQL below is the same on both backends.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use crate::domain::{ArticleId, FeedId};

/// An article's read state, from `articles a`, `subscriptions s` and `article_marks m` (left-joined).
pub(super) const READ: &str = "COALESCE(m.read_mark, a.seq <= s.read_through_seq)";

/// A subscription's unread count, from `subscriptions s` and `feeds f`: the articles above the cutoff, less those
/// marked read there, plus those marked unread below it.
pub(super) const UNREAD_COUNT: &str = "(f.last_seq - s.read_through_seq - s.marked_read + s.marked_unread)";

/// Recounts one subscription's differences from its cutoff ($1 the user, $2 the feed), after the cutoff moved.
/// Reads only that subscriber's marks on that feed.
pub(super) const RECOUNT_MARKS: &str = "UPDATE subscriptions SET \
       marked_read = (SELECT count(*) FROM article_marks m JOIN articles a ON a.id = m.article_id \
         WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id \
           AND m.read_mark = true AND a.seq > subscriptions.read_through_seq), \
       marked_unread = (SELECT count(*) FROM article_marks m JOIN articles a ON a.id = m.article_id \
         WHERE m.user_id = subscriptions.user_id AND m.feed_id = subscriptions.feed_id \
           AND m.read_mark = false AND a.seq <= subscriptions.read_through_seq) \
     WHERE user_id = $1 AND feed_id = $2";

/// Moves a subscriber's cutoff down to `read_through` (never up), in the caller's transaction, and recounts
/// their marks against it. Answers how many articles the move made unread; 0 when the user does not follow the
/// feed. This is how a new subscriber is shown a feed's recent articles as unread.
pub(super) async fn lower_cutoff<DB, User>(
    connection: &mut DB::Connection,
    user: User,
    feed: FeedId,
    read_through: i64,
) -> Result<u64, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> User: 'q + Copy + Send + Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB> + Decode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let before: Option<i64> =
        sqlx::query_scalar::<DB, i64>("SELECT read_through_seq FROM subscriptions WHERE user_id = $1 AND feed_id = $2")
            .bind(user)
            .bind(feed)
            .fetch_optional(&mut *connection)
            .await?;
    let Some(before) = before else {
        return Ok(0);
    };
    if before <= read_through {
        return Ok(0);
    }
    sqlx::query::<DB>(
        "UPDATE subscriptions SET read_through_seq = $3 \
         WHERE user_id = $1 AND feed_id = $2 AND read_through_seq > $3",
    )
    .bind(user)
    .bind(feed)
    .bind(read_through)
    .execute(&mut *connection)
    .await?;
    sqlx::query::<DB>(RECOUNT_MARKS)
        .bind(user)
        .bind(feed)
        .execute(&mut *connection)
        .await?;
    Ok(u64::try_from(before - read_through).unwrap_or(0))
}

/// After a mark was written: drops it when it no longer differs from anything, and moves the subscription's
/// counts by `change`, in the caller's transaction (which holds the subscription).
pub(super) async fn settle_mark<DB, User>(
    connection: &mut DB::Connection,
    user: User,
    article: ArticleId,
    feed: FeedId,
    change: ReadChange,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> User: 'q + Copy + Send + Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query::<DB>(
        "DELETE FROM article_marks WHERE user_id = $1 AND article_id = $2 \
           AND read_mark IS NULL AND starred_at IS NULL",
    )
    .bind(user)
    .bind(article)
    .execute(&mut *connection)
    .await?;
    if change.changes_counts() {
        sqlx::query::<DB>(
            "UPDATE subscriptions SET marked_read = marked_read + $3, marked_unread = marked_unread + $4 \
             WHERE user_id = $1 AND feed_id = $2",
        )
        .bind(user)
        .bind(feed)
        .bind(change.marked_read)
        .bind(change.marked_unread)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// What marking one article read or unread does: the mark to store, and how the subscription's counts change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReadChange {
    /// `Some` only where the wanted state differs from the cutoff's.
    pub(super) read_mark: Option<bool>,
    pub(super) marked_read: i64,
    pub(super) marked_unread: i64,
}

impl ReadChange {
    /// The change for an article numbered `seq` under a cutoff of `read_through`, whose stored mark is `stored`,
    /// when the user asks for `wanted` (`None`: leave the read state as it is).
    pub(super) fn of(seq: i64, read_through: i64, stored: Option<bool>, wanted: Option<bool>) -> ReadChange {
        let default = seq <= read_through;
        let read_mark = match wanted {
            None => stored,
            Some(wanted) if wanted == default => None,
            Some(wanted) => Some(wanted),
        };
        let (read_before, unread_before) = counted(default, stored);
        let (read_after, unread_after) = counted(default, read_mark);
        ReadChange {
            read_mark,
            marked_read: read_after - read_before,
            marked_unread: unread_after - unread_before,
        }
    }

    pub(super) fn changes_counts(&self) -> bool {
        self.marked_read != 0 || self.marked_unread != 0
    }
}

/// Whether a mark counts as a read or an unread difference from the cutoff's default.
fn counted(default: bool, mark: Option<bool>) -> (i64, i64) {
    match mark {
        Some(true) if !default => (1, 0),
        Some(false) if default => (0, 1),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::ReadChange;

    #[test]
    fn marking_an_article_above_the_cutoff_read_counts_one_read_difference() {
        let change = ReadChange::of(5, 3, None, Some(true));
        assert_eq!(change.read_mark, Some(true));
        assert_eq!((change.marked_read, change.marked_unread), (1, 0));
        let back = ReadChange::of(5, 3, Some(true), Some(false));
        assert_eq!(back.read_mark, None, "unread is the default above the cutoff: no mark");
        assert_eq!((back.marked_read, back.marked_unread), (-1, 0));
    }

    #[test]
    fn marking_an_article_at_or_below_the_cutoff_unread_counts_one_unread_difference() {
        let change = ReadChange::of(3, 3, None, Some(false));
        assert_eq!(change.read_mark, Some(false));
        assert_eq!((change.marked_read, change.marked_unread), (0, 1));
        let back = ReadChange::of(3, 3, Some(false), Some(true));
        assert_eq!(back.read_mark, None);
        assert_eq!((back.marked_read, back.marked_unread), (0, -1));
    }

    #[test]
    fn asking_for_the_state_an_article_already_has_changes_nothing() {
        for (seq, stored, wanted) in [
            (5, Some(true), Some(true)),
            (5, None, Some(false)),
            (2, None, Some(true)),
        ] {
            let change = ReadChange::of(seq, 3, stored, wanted);
            assert!(!change.changes_counts(), "{seq} {stored:?} {wanted:?}");
            assert_eq!(change.read_mark, stored);
        }
    }

    #[test]
    fn leaving_the_read_state_alone_keeps_the_stored_mark_even_when_the_cutoff_moved_past_it() {
        // A read mark at or below the cutoff matches the default: it is kept and counts nothing.
        let change = ReadChange::of(2, 3, Some(true), None);
        assert_eq!(change.read_mark, Some(true));
        assert!(!change.changes_counts());
        let unread = ReadChange::of(2, 3, Some(true), Some(false));
        assert_eq!(unread.read_mark, Some(false));
        assert_eq!((unread.marked_read, unread.marked_unread), (0, 1));
    }
}
