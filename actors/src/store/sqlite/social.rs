//! Profiles and friends on SQLite; the statements are in `store::social_sql`. A write transaction here holds
//! the only writer's lock, which is what the row locks are for on Postgres.

use chrono::Utc;
use sqlx::SqliteConnection;
use uuid::fmt::Hyphenated;

use super::rows::micros;
use super::SqliteStore;
use crate::domain::UserId;
use crate::social::{FriendRequest, OwnProfile, ProfilePatch, ProfileRecord, RequestDirection, RequestOutcome};
use crate::store::error::sqlite_error;
use crate::store::social_sql::{self, OwnProfileRow, ProfileRow, RequestRow};
use crate::store::StoreError;

/// The id of the user named `username`; `NotFound` for none.
async fn user_named(conn: &mut SqliteConnection, username: &str) -> Result<UserId, StoreError> {
    let found: Option<Hyphenated> = sqlx::query_scalar(social_sql::USER_BY_NAME)
        .bind(username)
        .fetch_optional(conn)
        .await
        .map_err(sqlite_error)?;
    found.map(Hyphenated::into_uuid).ok_or(StoreError::NotFound)
}

pub(super) async fn update_profile(
    store: &SqliteStore,
    user: UserId,
    patch: &ProfilePatch,
) -> Result<OwnProfile, StoreError> {
    let row: OwnProfileRow<Hyphenated> = sqlx::query_as(social_sql::UPDATE_PROFILE)
        .bind(user.hyphenated())
        .bind(patch.display_name.is_some())
        .bind(patch.display_name.clone().flatten())
        .bind(patch.display_name_visibility.map(|visibility| visibility.as_str()))
        .bind(patch.email_visibility.map(|visibility| visibility.as_str()))
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    social_sql::own_profile(row)
}

pub(super) async fn profile(store: &SqliteStore, viewer: UserId, username: &str) -> Result<ProfileRecord, StoreError> {
    let row: ProfileRow<Hyphenated> = sqlx::query_as(&social_sql::profile_sql())
        .bind(viewer.hyphenated())
        .bind(username)
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    social_sql::profile(row)
}

pub(super) async fn search_users(
    store: &SqliteStore,
    viewer: UserId,
    query: &str,
    limit: u32,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let [prefix, suffix, inside] = social_sql::search_patterns(query);
    let rows: Vec<ProfileRow<Hyphenated>> = sqlx::query_as(&social_sql::search_sql())
        .bind(viewer.hyphenated())
        .bind(prefix)
        .bind(suffix)
        .bind(inside)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    rows.into_iter().map(social_sql::profile).collect()
}

pub(super) async fn send_friend_request(
    store: &SqliteStore,
    user: UserId,
    username: &str,
) -> Result<RequestOutcome, StoreError> {
    let mut transaction = store.begin_write().await?;
    let other = user_named(&mut transaction, username).await?;
    if other == user {
        return Err(StoreError::Rejected {
            field: "username",
            reason: "you cannot send yourself a friend request",
        });
    }
    let linked: bool = sqlx::query_scalar(social_sql::ALREADY_LINKED)
        .bind(user.hyphenated())
        .bind(other.hyphenated())
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if linked {
        return Err(StoreError::Conflict { field: "username" });
    }
    let answered = sqlx::query(social_sql::DELETE_REQUEST)
        .bind(other.hyphenated())
        .bind(user.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?
        .rows_affected();
    let outcome = if answered == 1 {
        sqlx::query(social_sql::BEFRIEND)
            .bind(user.hyphenated())
            .bind(other.hyphenated())
            .bind(micros(Utc::now()))
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        RequestOutcome::Accepted
    } else {
        sqlx::query("INSERT INTO friend_requests (user_id, to_user_id, created_at) VALUES ($1, $2, $3)")
            .bind(user.hyphenated())
            .bind(other.hyphenated())
            .bind(micros(Utc::now()))
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        RequestOutcome::Sent
    };
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(outcome)
}

pub(super) async fn accept_friend_request(store: &SqliteStore, user: UserId, username: &str) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    let other = user_named(&mut transaction, username).await?;
    let accepted = sqlx::query(social_sql::DELETE_REQUEST)
        .bind(other.hyphenated())
        .bind(user.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?
        .rows_affected();
    if accepted == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(social_sql::BEFRIEND)
        .bind(user.hyphenated())
        .bind(other.hyphenated())
        .bind(micros(Utc::now()))
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

/// Runs a statement on the user and the user named `username`; `NotFound` when it deletes nothing.
async fn delete_between(store: &SqliteStore, statement: &str, user: UserId, username: &str) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    let other = user_named(&mut transaction, username).await?;
    let deleted = sqlx::query(statement)
        .bind(user.hyphenated())
        .bind(other.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn delete_friend_request(store: &SqliteStore, user: UserId, username: &str) -> Result<(), StoreError> {
    delete_between(store, social_sql::DELETE_REQUEST_EITHER_WAY, user, username).await
}

pub(super) async fn unfriend(store: &SqliteStore, user: UserId, username: &str) -> Result<(), StoreError> {
    delete_between(store, social_sql::UNFRIEND, user, username).await
}

pub(super) async fn list_friend_requests(
    store: &SqliteStore,
    user: UserId,
    direction: RequestDirection,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<FriendRequest>, StoreError> {
    let rows: Vec<RequestRow<Hyphenated, i64>> =
        sqlx::query_as(&social_sql::requests_sql(direction == RequestDirection::Received))
            .bind(user.hyphenated())
            .bind(after.map(str::to_lowercase))
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await
            .map_err(sqlite_error)?;
    rows.into_iter().map(social_sql::friend_request).collect()
}

pub(super) async fn list_friends(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let rows: Vec<ProfileRow<Hyphenated>> = sqlx::query_as(&social_sql::friends_sql())
        .bind(user.hyphenated())
        .bind(after.map(str::to_lowercase))
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(sqlite_error)?;
    rows.into_iter().map(social_sql::profile).collect()
}

pub(super) async fn mutual_friends(
    store: &SqliteStore,
    user: UserId,
    username: &str,
) -> Result<Vec<ProfileRecord>, StoreError> {
    let mut connection = store.pool.acquire().await.map_err(sqlite_error)?;
    let other = user_named(&mut connection, username).await?;
    let rows: Vec<ProfileRow<Hyphenated>> = sqlx::query_as(&social_sql::mutual_friends_sql())
        .bind(user.hyphenated())
        .bind(other.hyphenated())
        .fetch_all(&mut *connection)
        .await
        .map_err(sqlite_error)?;
    rows.into_iter().map(social_sql::profile).collect()
}
