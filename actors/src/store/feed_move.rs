//! A permanent redirect once the feed that already has the new URL, if any, is found (and, where the backend
//! can, locked): the same statements on both backends, in the caller's transaction.

use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::FeedMove;
use crate::domain::FeedId;

/// Renames `feed` to `url`, or moves its subscribers to `other`, the feed that already has that URL.
pub(super) async fn apply_move<DB>(
    connection: &mut DB::Connection,
    feed: FeedId,
    url: &str,
    other: Option<FeedId>,
) -> Result<FeedMove, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> FeedId: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let Some(into) = other else {
        sqlx::query::<DB>("UPDATE feeds SET url = $2 WHERE id = $1")
            .bind(feed)
            .bind(url)
            .execute(&mut *connection)
            .await?;
        return Ok(FeedMove::Renamed);
    };
    sqlx::query::<DB>(
        // The moved subscribers start with the other feed's stored articles read, as a new subscriber would
        // before linking; the old feed's articles stay with the old feed. Their category and title come along.
        "INSERT INTO subscriptions (user_id, feed_id, created_at, read_through_seq, category_id, title) \
         SELECT s.user_id, $2, s.created_at, f.last_seq, s.category_id, s.title \
         FROM subscriptions s JOIN feeds f ON f.id = $2 \
         WHERE s.feed_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(feed)
    .bind(into)
    .execute(&mut *connection)
    .await?;
    sqlx::query::<DB>(
        "INSERT INTO subscription_tags (user_id, feed_id, name) \
         SELECT user_id, $2, name FROM subscription_tags WHERE feed_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(feed)
    .bind(into)
    .execute(&mut *connection)
    .await?;
    sqlx::query::<DB>("DELETE FROM subscriptions WHERE feed_id = $1")
        .bind(feed)
        .execute(&mut *connection)
        .await?;
    Ok(FeedMove::Merged { into })
}
