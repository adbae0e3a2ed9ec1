//! Feed icons: whether one was looked for, what was found, and a subscriber's read of it.

use super::PostgresStore;
use crate::domain::{FeedIcon, FeedId, UserId};
use crate::store::StoreError;

pub(super) async fn icon_looked_for(store: &PostgresStore, feed: FeedId) -> Result<bool, StoreError> {
    let found: Option<FeedId> = sqlx::query_scalar("SELECT feed_id FROM feed_icons WHERE feed_id = $1")
        .bind(feed)
        .fetch_optional(&store.pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn record_feed_icon(
    store: &PostgresStore,
    feed: FeedId,
    icon: Option<&FeedIcon>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO feed_icons (feed_id, content_type, image, etag, source_url, looked_at) \
         VALUES ($1, $2, $3, $4, $5, now()) \
         ON CONFLICT (feed_id) DO UPDATE SET content_type = excluded.content_type, image = excluded.image, \
         etag = excluded.etag, source_url = excluded.source_url, looked_at = excluded.looked_at",
    )
    .bind(feed)
    .bind(icon.map(|icon| icon.content_type.as_str()))
    .bind(icon.map(|icon| icon.image.as_slice()))
    .bind(icon.map(|icon| icon.etag.as_str()))
    .bind(icon.map(|icon| icon.source_url.as_str()))
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn feed_icon(store: &PostgresStore, user: UserId, feed: FeedId) -> Result<FeedIcon, StoreError> {
    let row: Option<(String, Vec<u8>, String, String)> = sqlx::query_as(
        "SELECT i.content_type, i.image, i.etag, i.source_url FROM feed_icons i \
         JOIN subscriptions s ON s.feed_id = i.feed_id \
         WHERE s.user_id = $1 AND i.feed_id = $2 AND i.image IS NOT NULL",
    )
    .bind(user)
    .bind(feed)
    .fetch_optional(&store.pool)
    .await?;
    let (content_type, image, etag, source_url) = row.ok_or(StoreError::NotFound)?;
    Ok(FeedIcon {
        content_type,
        image,
        etag,
        source_url,
    })
}
