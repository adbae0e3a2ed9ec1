//! Shares and notifications on Postgres; the statements are in `store::share_sql`.

use chrono::Utc;
use sqlx::PgConnection;

use super::webhooks::insert_user_event_deliveries;
use super::PostgresStore;
use crate::domain::UserId;
use crate::social::{share_new_data, CommittedShare, NewShare, Notification, SentShare, Share, ShareId};
use crate::store::share_sql::{self, NotificationRow, SentRow};
use crate::store::StoreError;

/// Who gets the share: every friend, or the friends named. The friendships read are locked until the commit, so
/// an unfriending waits for the share or the share sees it.
async fn recipients(conn: &mut PgConnection, share: &NewShare) -> Result<Vec<UserId>, StoreError> {
    let Some(names) = &share.to else {
        let friends: Vec<UserId> = sqlx::query_scalar(&format!("{} FOR SHARE", share_sql::ALL_FRIENDS))
            .bind(share.user_id)
            .fetch_all(&mut *conn)
            .await?;
        return if friends.is_empty() {
            Err(share_sql::NO_RECIPIENTS)
        } else {
            Ok(friends)
        };
    };
    let mut friends = Vec::new();
    for name in share_sql::folded_names(names) {
        let friend: Option<UserId> = sqlx::query_scalar(&format!("{} FOR SHARE OF f", share_sql::FRIEND_NAMED))
            .bind(share.user_id)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        friends.push(friend.ok_or(share_sql::NOT_A_FRIEND)?);
    }
    if friends.is_empty() {
        return Err(share_sql::NOT_A_FRIEND);
    }
    Ok(friends)
}

pub(super) async fn create_share(store: &PostgresStore, new: &NewShare) -> Result<CommittedShare, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let (url, title) = match new.article_id {
        Some(article) => sqlx::query_as::<_, (Option<String>, Option<String>)>(share_sql::VISIBLE_ARTICLE)
            .bind(new.user_id)
            .bind(article)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or(share_sql::ARTICLE_NOT_VISIBLE)?,
        None => (new.url.clone(), new.title.clone()),
    };
    let recipients = recipients(&mut transaction, new).await?;
    let (sender, sender_display_name): (String, Option<String>) = sqlx::query_as(share_sql::SENDER)
        .bind(new.user_id)
        .fetch_one(&mut *transaction)
        .await?;
    // Microseconds, as stored, so the share returned equals the one listed later.
    let created_at = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap_or_else(Utc::now);
    let id: ShareId = sqlx::query_scalar(share_sql::INSERT_SHARE)
        .bind(new.user_id)
        .bind(new.article_id)
        .bind(&url)
        .bind(&title)
        .bind(&new.note)
        .bind(created_at)
        .fetch_one(&mut *transaction)
        .await?;
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
            .bind(recipient)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        webhooks.extend(insert_user_event_deliveries(&mut transaction, *recipient, "share.new", &data).await?);
    }
    transaction.commit().await?;
    Ok(CommittedShare {
        share,
        recipients,
        webhooks,
    })
}

pub(super) async fn list_notifications(
    store: &PostgresStore,
    user: UserId,
    seen: Option<bool>,
    limit: u32,
    before: Option<ShareId>,
) -> Result<Vec<Notification>, StoreError> {
    let rows: Vec<NotificationRow<chrono::DateTime<Utc>>> = sqlx::query_as(&share_sql::notifications_sql())
        .bind(user)
        .bind(seen)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    rows.into_iter().map(share_sql::notification).collect()
}

pub(super) async fn mark_notifications_seen(
    store: &PostgresStore,
    user: UserId,
    shares: &[ShareId],
) -> Result<u64, StoreError> {
    let changed = sqlx::query(
        "UPDATE notifications SET seen_at = $3 WHERE user_id = $1 AND seen_at IS NULL AND share_id = ANY ($2)",
    )
    .bind(user)
    .bind(shares)
    .bind(Utc::now())
    .execute(&store.pool)
    .await?
    .rows_affected();
    Ok(changed)
}

pub(super) async fn list_sent_shares(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    before: Option<ShareId>,
) -> Result<Vec<SentShare>, StoreError> {
    let rows: Vec<SentRow<chrono::DateTime<Utc>>> = sqlx::query_as(&share_sql::sent_sql())
        .bind(user)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    rows.into_iter().map(share_sql::sent_share).collect()
}
