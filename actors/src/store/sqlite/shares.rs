//! Shares and notifications on SQLite; the statements are in `store::share_sql`. The share's write transaction
//! holds the only writer's lock, so no unfriending lands between reading the friends and the commit.

use chrono::Utc;
use sqlx::SqliteConnection;
use uuid::fmt::Hyphenated;

use super::rows::{micros, now_micros};
use super::webhooks::insert_user_event_deliveries;
use super::SqliteStore;
use crate::domain::UserId;
use crate::social::{share_new_data, CommittedShare, NewShare, Notification, SentShare, Share, ShareId};
use crate::store::error::sqlite_error;
use crate::store::share_sql::{self, NotificationRow, SentRow};
use crate::store::StoreError;

/// Who gets the share: every friend, or the friends named.
async fn recipients(conn: &mut SqliteConnection, share: &NewShare) -> Result<Vec<UserId>, StoreError> {
    let Some(names) = &share.to else {
        let friends: Vec<Hyphenated> = sqlx::query_scalar(share_sql::ALL_FRIENDS)
            .bind(share.user_id.hyphenated())
            .fetch_all(&mut *conn)
            .await
            .map_err(sqlite_error)?;
        return if friends.is_empty() {
            Err(share_sql::NO_RECIPIENTS)
        } else {
            Ok(friends.into_iter().map(Hyphenated::into_uuid).collect())
        };
    };
    let mut friends = Vec::new();
    for name in share_sql::folded_names(names) {
        let friend: Option<Hyphenated> = sqlx::query_scalar(share_sql::FRIEND_NAMED)
            .bind(share.user_id.hyphenated())
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(sqlite_error)?;
        friends.push(friend.ok_or(share_sql::NOT_A_FRIEND)?.into_uuid());
    }
    if friends.is_empty() {
        return Err(share_sql::NOT_A_FRIEND);
    }
    Ok(friends)
}

pub(super) async fn create_share(store: &SqliteStore, new: &NewShare) -> Result<CommittedShare, StoreError> {
    let mut transaction = store.begin_write().await?;
    let (url, title) = match new.article_id {
        Some(article) => sqlx::query_as::<_, (Option<String>, Option<String>)>(share_sql::VISIBLE_ARTICLE)
            .bind(new.user_id.hyphenated())
            .bind(article)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(sqlite_error)?
            .ok_or(share_sql::ARTICLE_NOT_VISIBLE)?,
        None => (new.url.clone(), new.title.clone()),
    };
    let recipients = recipients(&mut transaction, new).await?;
    let (sender, sender_display_name): (String, Option<String>) = sqlx::query_as(share_sql::SENDER)
        .bind(new.user_id.hyphenated())
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    // Microseconds, as stored, so the share returned equals the one listed later.
    let created_at = chrono::DateTime::from_timestamp_micros(micros(Utc::now())).unwrap_or_else(Utc::now);
    let id: ShareId = sqlx::query_scalar(share_sql::INSERT_SHARE)
        .bind(new.user_id.hyphenated())
        .bind(new.article_id)
        .bind(&url)
        .bind(&title)
        .bind(&new.note)
        .bind(micros(created_at))
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    let share = Share {
        id,
        sender,
        sender_display_name,
        article_id: new.article_id,
        url,
        title,
        note: new.note.clone(),
        created_at,
    };
    let data = share_new_data(&share);
    let mut webhooks = Vec::new();
    for recipient in &recipients {
        sqlx::query(share_sql::INSERT_NOTIFICATION)
            .bind(recipient.hyphenated())
            .bind(id)
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        webhooks.extend(insert_user_event_deliveries(&mut transaction, *recipient, "share.new", &data).await?);
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(CommittedShare {
        share,
        recipients,
        webhooks,
    })
}

pub(super) async fn list_notifications(
    store: &SqliteStore,
    user: UserId,
    seen: Option<bool>,
    limit: u32,
    before: Option<ShareId>,
) -> Result<Vec<Notification>, StoreError> {
    let rows: Vec<NotificationRow<i64>> = sqlx::query_as(&share_sql::notifications_sql())
        .bind(user.hyphenated())
        .bind(seen)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    rows.into_iter().map(share_sql::notification).collect()
}

pub(super) async fn mark_notifications_seen(
    store: &SqliteStore,
    user: UserId,
    shares: &[ShareId],
) -> Result<u64, StoreError> {
    let ids = serde_json::Value::from(shares.to_vec()).to_string();
    let mut transaction = store.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE notifications SET seen_at = $3 WHERE user_id = $1 AND seen_at IS NULL \
         AND share_id IN (SELECT value FROM json_each($2))",
    )
    .bind(user.hyphenated())
    .bind(ids)
    .bind(now_micros())
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?
    .rows_affected();
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(changed)
}

pub(super) async fn list_sent_shares(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    before: Option<ShareId>,
) -> Result<Vec<SentShare>, StoreError> {
    let rows: Vec<SentRow<i64>> = sqlx::query_as(&share_sql::sent_sql())
        .bind(user.hyphenated())
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    rows.into_iter().map(share_sql::sent_share).collect()
}
