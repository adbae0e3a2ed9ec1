//! Sessions, refresh tokens, API keys, password changes and account deletion on SQLite. Mirrors `postgres/sessions.rs`; a write
//! transaction here holds the only writer's lock, which is what the row locks are for there.

use chrono::{DateTime, Utc};
use uuid::fmt::Hyphenated;

use super::rows::{micros, now_micros};
use super::SqliteStore;
use crate::domain::UserId;
use crate::session::{ApiKey, ApiKeyId, NewApiKey, NewSession, Rotation, RotationOutcome, Session, SessionId};
use crate::store::error::sqlite_error;
use crate::store::rows::Decoded;
use crate::store::StoreError;

type SessionRow = (Hyphenated, Hyphenated, i64, i64, Option<String>, Option<String>);
type ApiKeyRow = (i64, Hyphenated, String, i64, Option<i64>);

fn session((id, user_id, created_at, last_used_at, user_agent, ip): SessionRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: id.into_uuid(),
        user_id: user_id.into_uuid(),
        created_at: created_at.decoded()?,
        last_used_at: last_used_at.decoded()?,
        user_agent,
        ip,
    })
}

fn api_key((id, user_id, name, created_at, last_used_at): ApiKeyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id,
        user_id: user_id.into_uuid(),
        name,
        created_at: created_at.decoded()?,
        last_used_at: last_used_at.map(Decoded::decoded).transpose()?,
    })
}

pub(super) async fn create_session(store: &SqliteStore, new: &NewSession, cap: i64) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(new.id.hyphenated())
    .bind(new.user_id.hyphenated())
    .bind(micros(new.now))
    .bind(micros(new.expires_at))
    .bind(&new.client.user_agent)
    .bind(&new.client.ip)
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(&new.refresh_hash)
        .bind(new.id.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR id IN ( \
           SELECT id FROM sessions WHERE user_id = $1 AND expires_at > $2 \
           ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET $3))",
    )
    .bind(new.user_id.hyphenated())
    .bind(micros(new.now))
    .bind(cap)
    .execute(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn rotate_refresh_token(
    store: &SqliteStore,
    rotation: &Rotation,
) -> Result<RotationOutcome, StoreError> {
    let mut transaction = store.begin_write().await?;
    let spent: Option<(Hyphenated,)> = sqlx::query_as(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL RETURNING session_id",
    )
    .bind(&rotation.presented_hash)
    .bind(micros(rotation.now))
    .fetch_optional(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let Some((session,)) = spent.map(|(session,)| (session.into_uuid(),)) else {
        let rotated: Option<(Hyphenated,)> =
            sqlx::query_as("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
                .bind(&rotation.presented_hash)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(sqlite_error)?;
        let Some((session,)) = rotated.map(|(session,)| (session.into_uuid(),)) else {
            return Ok(RotationOutcome::Unknown);
        };
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session.hyphenated())
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        transaction.commit().await.map_err(sqlite_error)?;
        return Ok(RotationOutcome::Reused);
    };
    let live: Option<(Hyphenated,)> = sqlx::query_as(
        "UPDATE sessions SET last_used_at = $2, expires_at = $3, user_agent = $4, ip = $5 \
         WHERE id = $1 AND expires_at > $2 RETURNING user_id",
    )
    .bind(session.hyphenated())
    .bind(micros(rotation.now))
    .bind(micros(rotation.expires_at))
    .bind(&rotation.client.user_agent)
    .bind(&rotation.client.ip)
    .fetch_optional(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    let Some((user,)) = live.map(|(user,)| (user.into_uuid(),)) else {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session.hyphenated())
            .execute(&mut *transaction)
            .await
            .map_err(sqlite_error)?;
        transaction.commit().await.map_err(sqlite_error)?;
        return Ok(RotationOutcome::Unknown);
    };
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(&rotation.next_hash)
        .bind(session.hyphenated())
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(RotationOutcome::Rotated { session, user })
}

pub(super) async fn session_exists(store: &SqliteStore, user: UserId, session: SessionId) -> Result<bool, StoreError> {
    let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session.hyphenated())
        .bind(user.hyphenated())
        .fetch_optional(&store.pool)
        .await
        .map_err(sqlite_error)?;
    Ok(found.is_some())
}

pub(super) async fn list_sessions(store: &SqliteStore, user: UserId) -> Result<Vec<Session>, StoreError> {
    let rows: Vec<SessionRow> = sqlx::query_as(
        "SELECT id, user_id, created_at, last_used_at, user_agent, ip FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id",
    )
    .bind(user.hyphenated())
    .bind(now_micros())
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows.into_iter().map(session).collect()
}

pub(super) async fn delete_session(store: &SqliteStore, user: UserId, session: SessionId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session.hyphenated())
        .bind(user.hyphenated())
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn change_password(
    store: &SqliteStore,
    user: UserId,
    password_hash: &str,
    keep: Option<SessionId>,
) -> Result<(), StoreError> {
    let mut transaction = store.begin_write().await?;
    let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user.hyphenated())
        .bind(password_hash)
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id IS NOT $2")
        .bind(user.hyphenated())
        .bind(keep.map(|session| session.hyphenated()))
        .execute(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    Ok(())
}

pub(super) async fn create_api_key(store: &SqliteStore, key: &NewApiKey, limit: i64) -> Result<ApiKey, StoreError> {
    let mut transaction = store.begin_write().await?;
    let (held,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_keys WHERE user_id = $1")
        .bind(key.user_id.hyphenated())
        .fetch_one(&mut *transaction)
        .await
        .map_err(sqlite_error)?;
    if held >= limit {
        return Err(StoreError::Rejected {
            field: "name",
            reason: "this account holds as many API keys as it may: delete one first",
        });
    }
    let row: ApiKeyRow = sqlx::query_as(
        "INSERT INTO api_keys (user_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, user_id, name, created_at, last_used_at",
    )
    .bind(key.user_id.hyphenated())
    .bind(&key.name)
    .bind(&key.key_hash)
    .bind(now_micros())
    .fetch_one(&mut *transaction)
    .await
    .map_err(sqlite_error)?;
    transaction.commit().await.map_err(sqlite_error)?;
    api_key(row)
}

pub(super) async fn list_api_keys(
    store: &SqliteStore,
    user: UserId,
    limit: u32,
    before: Option<ApiKeyId>,
) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(
        "SELECT id, user_id, name, created_at, last_used_at FROM api_keys WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(user.hyphenated())
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(sqlite_error)?;
    rows.into_iter().map(api_key).collect()
}

pub(super) async fn delete_api_key(store: &SqliteStore, user: UserId, key: ApiKeyId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
        .bind(key)
        .bind(user.hyphenated())
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn use_api_key(
    store: &SqliteStore,
    key_hash: &str,
    at: DateTime<Utc>,
    recorded_since: DateTime<Utc>,
) -> Result<Option<UserId>, StoreError> {
    let found: Option<(i64, Hyphenated, Option<i64>)> =
        sqlx::query_as("SELECT id, user_id, last_used_at FROM api_keys WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&store.pool)
            .await
            .map_err(sqlite_error)?;
    let Some((id, user, last_used_at)) = found else {
        return Ok(None);
    };
    // Most uses stop here: an UPDATE would take the only writer's lock even when it changed nothing.
    if last_used_at.is_none_or(|last| last < micros(recorded_since)) {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(micros(at))
        .bind(micros(recorded_since))
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    }
    Ok(Some(user.into_uuid()))
}

pub(super) async fn delete_user(store: &SqliteStore, user: UserId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user.hyphenated())
        .execute(&store.pool)
        .await
        .map_err(sqlite_error)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
