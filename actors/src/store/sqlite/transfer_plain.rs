//! The SQLite side of copying a plain table: times as microseconds, ids as hyphenated text, lists as JSON.

use chrono::DateTime;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite};
use uuid::Uuid;

use super::rows::micros;
use crate::store::rows::decode_error;
use crate::store::transfer_tables::{ColumnKind, PlainTable, Value};
use crate::store::StoreError;

/// Up to `limit` rows after the key `after` (all of its key columns), in key order.
pub(super) async fn export_rows(
    pool: &sqlx::SqlitePool,
    table: &PlainTable,
    after: Option<&[Value]>,
    limit: i64,
) -> Result<Vec<Vec<Value>>, StoreError> {
    let sql = table.select_sql(after.is_some());
    let mut query = sqlx::query(&sql);
    for value in after.unwrap_or_default() {
        query = bind(query, value)?;
    }
    let rows = query.bind(limit).fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(index, (_, kind))| read(row, index, *kind))
                .collect()
        })
        .collect()
}

/// Writes the rows as they are, ids included.
pub(super) async fn import_rows(
    transaction: &mut sqlx::Transaction<'_, Sqlite>,
    table: &PlainTable,
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    let sql = table.insert_sql("");
    for row in rows {
        let mut query = sqlx::query(&sql);
        for value in row {
            query = bind(query, value)?;
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

fn read(row: &SqliteRow, index: usize, kind: ColumnKind) -> Result<Value, StoreError> {
    let value = match kind {
        ColumnKind::Integer | ColumnKind::Time => row.try_get::<Option<i64>, _>(index)?.map(Value::Integer),
        ColumnKind::Boolean => row.try_get::<Option<bool>, _>(index)?.map(Value::Boolean),
        ColumnKind::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.map(Value::Bytes),
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::TextList => {
            row.try_get::<Option<String>, _>(index)?.map(Value::Text)
        }
    };
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    Ok(match (kind, value) {
        (ColumnKind::Time, Value::Integer(micros)) => Value::Time(
            DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| decode_error(format!("time out of range: {micros} µs")))?,
        ),
        (ColumnKind::Uuid, Value::Text(text)) => {
            Value::Uuid(Uuid::parse_str(&text).map_err(|error| decode_error(format!("id {text:?}: {error}")))?)
        }
        (ColumnKind::TextList, Value::Text(json)) => Value::TextList(
            serde_json::from_str(&json).map_err(|error| decode_error(format!("list {json:?}: {error}")))?,
        ),
        (_, value) => value,
    })
}

/// Binds a value as SQLite stores it; NULL needs no type here.
fn bind<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    value: &'q Value,
) -> Result<Query<'q, Sqlite, SqliteArguments<'q>>, StoreError> {
    Ok(match value {
        Value::Null => query.bind(None::<i64>),
        Value::Integer(integer) => query.bind(integer),
        Value::Text(text) => query.bind(text),
        Value::Uuid(id) => query.bind(id.hyphenated().to_string()),
        Value::Time(time) => query.bind(micros(*time)),
        Value::Boolean(flag) => query.bind(flag),
        Value::Bytes(bytes) => query.bind(bytes),
        Value::TextList(list) => {
            query.bind(serde_json::to_string(list).map_err(|error| decode_error(format!("list: {error}")))?)
        }
    })
}
