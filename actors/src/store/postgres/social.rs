//! Profiles and friends on Postgres; the statements are in `store::social_sql`.

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::UserId;
use crate::social::{FriendRequest, OwnProfile, ProfilePatch, ProfileRecord, RequestDirection, RequestOutcome};
use crate::store::social_sql::{self, OwnProfileRow, ProfileRow, RequestRow};
use crate::store::StoreError;

/// The id of the user named `username`; `NotFound` for none.
async fn user_named(conn: &mut PgConnection, username: &str) -> Result<UserId, StoreError> {
    sqlx::query_scalar(social_sql::USER_BY_NAME)
        .bind(username)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)
}

pub(super) async fn update_profile(
    store: &PostgresStore,
    user: UserId,
    patch: &ProfilePatch,
) -> Result<OwnProfile, StoreError> {
    let row: OwnProfileRow<Uuid> = sqlx::query_as(social_sql::UPDATE_PROFILE)
        .bind(user)
        .bind(patch.display_name.is_some())
        .bind(patch.display_name.clone().flatten())
        .bind(patch.display_name_visibility.map(|visibility| visibility.as_str()))
        .bind(patch.email_visibility.map(|visibility| visibility.as_str()))
        .fetch_one(&store.pool)
        .await?;
    social_sql::own_profile(row)
}

pub(super) async fn profile(
    store: &PostgresStore,
    viewer: UserId,
    username: &str,
) -> Result<ProfileRecord, StoreError> {
    let row: ProfileRow<Uuid> = sqlx::query_as(&social_sql::profile_sql())
        .bind(viewer)
        .bind(username)
        .fetch_one(&store.pool)
        .await?;
    social_sql::profile(row)
}

pub(super) async fn search_users(
    store: &PostgresStore,
    viewer: UserId,
    query: &str,
    limit: u32,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let [prefix, suffix, inside] = social_sql::search_patterns(query);
    let rows: Vec<ProfileRow<Uuid>> = sqlx::query_as(&social_sql::search_sql())
        .bind(viewer)
        .bind(prefix)
        .bind(suffix)
        .bind(inside)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    rows.into_iter().map(social_sql::profile).collect()
}

pub(super) async fn send_friend_request(
    store: &PostgresStore,
    user: UserId,
    username: &str,
) -> Result<RequestOutcome, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let other = user_named(&mut transaction, username).await?;
    if other == user {
        return Err(StoreError::Rejected {
            field: "username",
            reason: "you cannot send yourself a friend request",
        });
    }
    // Two users asking each other at once queue here, so the second sees the first's request and accepts it.
    sqlx::query("SELECT 1 FROM users WHERE id IN ($1, $2) ORDER BY id FOR UPDATE")
        .bind(user)
        .bind(other)
        .execute(&mut *transaction)
        .await?;
    let linked: bool = sqlx::query_scalar(social_sql::ALREADY_LINKED)
        .bind(user)
        .bind(other)
        .fetch_one(&mut *transaction)
        .await?;
    if linked {
        return Err(StoreError::Conflict { field: "username" });
    }
    let answered = sqlx::query(social_sql::DELETE_REQUEST)
        .bind(other)
        .bind(user)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    let outcome = if answered == 1 {
        sqlx::query(social_sql::BEFRIEND)
            .bind(user)
            .bind(other)
            .bind(Utc::now())
            .execute(&mut *transaction)
            .await?;
        RequestOutcome::Accepted
    } else {
        sqlx::query("INSERT INTO friend_requests (user_id, to_user_id, created_at) VALUES ($1, $2, $3)")
            .bind(user)
            .bind(other)
            .bind(Utc::now())
            .execute(&mut *transaction)
            .await?;
        RequestOutcome::Sent
    };
    transaction.commit().await?;
    Ok(outcome)
}

pub(super) async fn accept_friend_request(
    store: &PostgresStore,
    user: UserId,
    username: &str,
) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    let other = user_named(&mut transaction, username).await?;
    let accepted = sqlx::query(social_sql::DELETE_REQUEST)
        .bind(other)
        .bind(user)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    if accepted == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(social_sql::BEFRIEND)
        .bind(user)
        .bind(other)
        .bind(Utc::now())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// Runs a statement on the user and the user named `username`; `NotFound` when it deletes nothing.
async fn delete_between(
    store: &PostgresStore,
    statement: &str,
    user: UserId,
    username: &str,
) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    let other = user_named(&mut transaction, username).await?;
    let deleted = sqlx::query(statement)
        .bind(user)
        .bind(other)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn delete_friend_request(
    store: &PostgresStore,
    user: UserId,
    username: &str,
) -> Result<(), StoreError> {
    delete_between(store, social_sql::DELETE_REQUEST_EITHER_WAY, user, username).await
}

pub(super) async fn unfriend(store: &PostgresStore, user: UserId, username: &str) -> Result<(), StoreError> {
    delete_between(store, social_sql::UNFRIEND, user, username).await
}

pub(super) async fn list_friend_requests(
    store: &PostgresStore,
    user: UserId,
    direction: RequestDirection,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<FriendRequest>, StoreError> {
    let rows: Vec<RequestRow<Uuid, chrono::DateTime<Utc>>> =
        sqlx::query_as(&social_sql::requests_sql(direction == RequestDirection::Received))
            .bind(user)
            .bind(after.map(str::to_lowercase))
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?;
    rows.into_iter().map(social_sql::friend_request).collect()
}

pub(super) async fn list_friends(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let rows: Vec<ProfileRow<Uuid>> = sqlx::query_as(&social_sql::friends_sql())
        .bind(user)
        .bind(after.map(str::to_lowercase))
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    rows.into_iter().map(social_sql::profile).collect()
}

pub(super) async fn mutual_friends(
    store: &PostgresStore,
    user: UserId,
    username: &str,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let mut connection = store.pool.acquire().await?;
    let other = user_named(&mut connection, username).await?;
    let rows: Vec<ProfileRow<Uuid>> = sqlx::query_as(&social_sql::mutual_friends_sql())
        .bind(user)
        .bind(other)
        .fetch_all(&mut *connection)
        .await?;
    rows.into_iter().map(social_sql::profile).collect()
}
