//! Users, roles and invites on Postgres.

use uuid::Uuid;

use super::rows::UserRow;
use super::PostgresStore;
use crate::domain::{NewInvite, NewUser, Role, User, UserCredentials, UserId};
use crate::store::rows::USER_COLUMNS;
use crate::store::StoreError;

/// Maps a unique violation to the field it is about.
fn conflict_field(error: &sqlx::Error) -> Option<&'static str> {
    let constraint = error.as_database_error()?.constraint()?;
    match constraint {
        "users_username_key" | "users_username_folded" => Some("username"),
        _ => None,
    }
}

pub(super) async fn create_user(store: &PostgresStore, user: &NewUser) -> Result<User, StoreError> {
    let mut transaction = store.pool.begin().await?;
    let id = Uuid::new_v4();
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(&user.username)
    .bind(&user.email)
    .bind(&user.password_hash)
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| match conflict_field(&error) {
        Some(field) => StoreError::Conflict { field },
        None => error.into(),
    })?;
    if let Some(invite_hash) = &user.invite_hash {
        // The row lock taken by UPDATE makes two registrations racing for one invite spend it once.
        let spent = sqlx::query(
            "UPDATE invites SET used_at = now(), used_by = $2 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()",
        )
        .bind(invite_hash)
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        if spent.rows_affected() != 1 {
            return Err(StoreError::Rejected {
                field: "invite",
                reason: "the invite is unknown, already used or expired",
            });
        }
    }
    transaction.commit().await?;
    row.into_user()
}

pub(super) async fn find_credentials(
    store: &PostgresStore,
    identifier: &str,
) -> Result<Option<UserCredentials>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(identifier.trim())
    .fetch_optional(&store.pool)
    .await?;
    row.map(UserRow::into_credentials).transpose()
}

pub(super) async fn get_user(store: &PostgresStore, user: UserId) -> Result<User, StoreError> {
    let row: UserRow = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(user)
        .fetch_one(&store.pool)
        .await?;
    row.into_user()
}

pub(super) async fn create_invite(store: &PostgresStore, invite: &NewInvite) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO invites (code_hash, expires_at) VALUES ($1, $2)")
        .bind(&invite.code_hash)
        .bind(invite.expires_at)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn set_role(store: &PostgresStore, username: &str, role: Role) -> Result<User, StoreError> {
    let row: UserRow = sqlx::query_as(&format!(
        "UPDATE users SET role = $2 WHERE lower(username) = lower($1) RETURNING {USER_COLUMNS}"
    ))
    .bind(username.trim())
    .bind(role.as_str())
    .fetch_one(&store.pool)
    .await?;
    row.into_user()
}
