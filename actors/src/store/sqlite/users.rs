//! Users, roles and invites on SQLite.

use uuid::Uuid;

use super::rows::{micros, now_micros, UserRow};
use super::SqliteStore;
use crate::domain::{NewInvite, NewUser, Role, User, UserCredentials, UserId};
use crate::store::error::sqlite_error;
use crate::store::rows::USER_COLUMNS;
use crate::store::StoreError;

/// Maps a unique violation to the field it is about. SQLite names the columns of a plain unique constraint
/// ("UNIQUE constraint failed: users.username") and the name of an expression index ("… index
/// 'users_username_folded'").
fn conflict_field(error: &sqlx::Error) -> Option<&'static str> {
    let database = error.as_database_error()?;
    if !database.is_unique_violation() {
        return None;
    }
    let columns = database.message().strip_prefix("UNIQUE constraint failed: ")?;
    match columns {
        "users.username" | "index 'users_username_folded'" => Some("username"),
        _ => None,
    }
}

pub(super) async fn create_user(store: &SqliteStore, user: &NewUser) -> Result<User, StoreError> {
    let mut transaction = store.begin_write().await?;
    let id = Uuid::new_v4();
    let now = now_micros();
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (id, username, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(id.hyphenated())
    .bind(&user.username)
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| match conflict_field(&error) {
        Some(field) => StoreError::Conflict { field },
        None => sqlite_error(error),
    })?;
    if let Some(invite_hash) = &user.invite_hash {
        // The transaction holds the only writer's lock, so two registrations cannot both spend one invite.
        let spent = sqlx::query(
            "UPDATE invites SET used_at = $3, used_by = $2 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(invite_hash)
        .bind(id.hyphenated())
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
        if spent.rows_affected() != 1 {
            return Err(StoreError::Rejected {
                field: "invite",
                reason: "the invite is unknown, already used or expired",
            });
        }
    }
    transaction.commit().await.map_err(sqlite_error)?;
    row.into_user()
}

pub(super) async fn find_credentials(
    store: &SqliteStore,
    identifier: &str,
) -> Result<Option<UserCredentials>, StoreError> {
    // SQLite's lower() folds ASCII only: enough for usernames, which are ASCII.
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(identifier.trim())
    .fetch_optional(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.map(UserRow::into_credentials).transpose()
}

pub(super) async fn get_user(store: &SqliteStore, user: UserId) -> Result<User, StoreError> {
    let row: UserRow = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(user.hyphenated())
        .fetch_one(&store.pool)
        .await
        .map_err(sqlite_error)?;
    row.into_user()
}

pub(super) async fn create_invite(store: &SqliteStore, invite: &NewInvite) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO invites (code_hash, expires_at, created_at) VALUES ($1, $2, $3)")
        .bind(&invite.code_hash)
        .bind(micros(invite.expires_at))
        .bind(now_micros())
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn set_role(store: &SqliteStore, username: &str, role: Role) -> Result<User, StoreError> {
    let row: UserRow = sqlx::query_as(&format!(
        "UPDATE users SET role = $2 WHERE lower(username) = lower($1) RETURNING {USER_COLUMNS}"
    ))
    .bind(username.trim())
    .bind(role.as_str())
    .fetch_one(&store.pool)
    .await
    .map_err(sqlite_error)?;
    row.into_user()
}
