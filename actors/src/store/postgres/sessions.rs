//! Sessions, refresh tokens, API keys, password changes and account deletion on Postgres.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PostgresStore;
use crate::domain::UserId;
use crate::session::{ApiKey, ApiKeyId, NewApiKey, NewSession, Rotation, RotationOutcome, Session, SessionId};
use crate::store::StoreError;

type SessionRow = (Uuid, Uuid, DateTime<Utc>, DateTime<Utc>, Option<String>, Option<String>);
type ApiKeyRow = (i64, Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>);

fn session((id, user_id, created_at, last_used_at, user_agent, ip): SessionRow) -> Session {
    Session {
        id,
        user_id,
        created_at,
        last_used_at,
        user_agent,
        ip,
    }
}

fn api_key((id, user_id, name, created_at, last_used_at): ApiKeyRow) -> ApiKey {
    ApiKey {
        id,
        user_id,
        name,
        created_at,
        last_used_at,
    }
}

pub(super) async fn create_session(store: &PostgresStore, new: &NewSession, cap: i64) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    // Sign-ins of one user queue here, so two at once cannot both keep the fifth place.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(new.user_id)
        .fetch_one(&mut *transaction)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(new.id)
    .bind(new.user_id)
    .bind(new.now)
    .bind(new.expires_at)
    .bind(&new.client.user_agent)
    .bind(&new.client.ip)
    .execute(&mut *transaction)
    .await?;
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(&new.refresh_hash)
        .bind(new.id)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR id IN ( \
           SELECT id FROM sessions WHERE user_id = $1 AND expires_at > $2 \
           ORDER BY created_at DESC, id DESC OFFSET $3))",
    )
    .bind(new.user_id)
    .bind(new.now)
    .bind(cap)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn rotate_refresh_token(
    store: &PostgresStore,
    rotation: &Rotation,
) -> Result<RotationOutcome, StoreError> {
    let mut transaction = store.pool.begin().await?;
    // The row lock this UPDATE takes makes one of two refreshes with the same token rotate it, and the other
    // find it rotated: a reuse.
    let spent: Option<(Uuid,)> = sqlx::query_as(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL RETURNING session_id",
    )
    .bind(&rotation.presented_hash)
    .bind(rotation.now)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((session,)) = spent else {
        let rotated: Option<(Uuid,)> = sqlx::query_as("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(&rotation.presented_hash)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some((session,)) = rotated else {
            return Ok(RotationOutcome::Unknown);
        };
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        return Ok(RotationOutcome::Reused);
    };
    let live: Option<(Uuid,)> = sqlx::query_as(
        "UPDATE sessions SET last_used_at = $2, expires_at = $3, user_agent = $4, ip = $5 \
         WHERE id = $1 AND expires_at > $2 RETURNING user_id",
    )
    .bind(session)
    .bind(rotation.now)
    .bind(rotation.expires_at)
    .bind(&rotation.client.user_agent)
    .bind(&rotation.client.ip)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((user,)) = live else {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        return Ok(RotationOutcome::Unknown);
    };
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(&rotation.next_hash)
        .bind(session)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(RotationOutcome::Rotated { session, user })
}

pub(super) async fn session_exists(
    store: &PostgresStore,
    user: UserId,
    session: SessionId,
) -> Result<bool, StoreError> {
    let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session)
        .bind(user)
        .fetch_optional(&store.pool)
        .await?;
    Ok(found.is_some())
}

pub(super) async fn list_sessions(store: &PostgresStore, user: UserId) -> Result<Vec<Session>, StoreError> {
    let rows: Vec<SessionRow> = sqlx::query_as(
        "SELECT id, user_id, created_at, last_used_at, user_agent, ip FROM sessions \
         WHERE user_id = $1 AND expires_at > now() ORDER BY created_at, id",
    )
    .bind(user)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(session).collect())
}

pub(super) async fn delete_session(store: &PostgresStore, user: UserId, session: SessionId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session)
        .bind(user)
        .execute(&store.pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn change_password(
    store: &PostgresStore,
    user: UserId,
    password_hash: &str,
    keep: Option<SessionId>,
) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user)
        .bind(password_hash)
        .execute(&mut *transaction)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2")
        .bind(user)
        .bind(keep)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn create_api_key(store: &PostgresStore, key: &NewApiKey, limit: i64) -> Result<ApiKey, StoreError> {
    let mut transaction = store.pool.begin().await?;
    // Creations of one user queue here, so two at once cannot both take the last place.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(key.user_id)
        .fetch_one(&mut *transaction)
        .await?;
    let (held,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_keys WHERE user_id = $1")
        .bind(key.user_id)
        .fetch_one(&mut *transaction)
        .await?;
    if held >= limit {
        return Err(StoreError::Rejected {
            field: "name",
            reason: "this account holds as many API keys as it may: delete one first",
        });
    }
    let row: ApiKeyRow = sqlx::query_as(
        "INSERT INTO api_keys (user_id, name, key_hash, created_at) VALUES ($1, $2, $3, now()) \
         RETURNING id, user_id, name, created_at, last_used_at",
    )
    .bind(key.user_id)
    .bind(&key.name)
    .bind(&key.key_hash)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(api_key(row))
}

pub(super) async fn list_api_keys(
    store: &PostgresStore,
    user: UserId,
    limit: u32,
    before: Option<ApiKeyId>,
) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(
        "SELECT id, user_id, name, created_at, last_used_at FROM api_keys WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(user)
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(api_key).collect())
}

pub(super) async fn delete_api_key(store: &PostgresStore, user: UserId, key: ApiKeyId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
        .bind(key)
        .bind(user)
        .execute(&store.pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn use_api_key(
    store: &PostgresStore,
    key_hash: &str,
    at: DateTime<Utc>,
    recorded_since: DateTime<Utc>,
) -> Result<Option<UserId>, StoreError> {
    let found: Option<(i64, Uuid, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, user_id, last_used_at FROM api_keys WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&store.pool)
            .await?;
    let Some((id, user, last_used_at)) = found else {
        return Ok(None);
    };
    if last_used_at.is_none_or(|last| last < recorded_since) {
        // The condition again, so that concurrent uses that all read the old value write once.
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(at)
        .bind(recorded_since)
        .execute(&store.pool)
        .await?;
    }
    Ok(Some(user))
}

pub(super) async fn delete_user(store: &PostgresStore, user: UserId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user)
        .execute(&store.pool)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
