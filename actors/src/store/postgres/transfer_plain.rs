//! The Postgres side of copying a plain table: each column read and written in its own Postgres type.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use crate::store::transfer_tables::{ColumnKind, PlainTable, Value};
use crate::store::StoreError;

/// Up to `limit` rows after the key `after` (all of its key columns), in key order.
pub(super) async fn export_rows(
    pool: &sqlx::PgPool,
    table: &PlainTable,
    after: Option<&[Value]>,
    limit: i64,
) -> Result<Vec<Vec<Value>>, StoreError> {
    let sql = table.select_sql(after.is_some());
    let mut query = sqlx::query(&sql);
    for (value, (_, kind)) in after.unwrap_or_default().iter().zip(table.columns) {
        query = bind(query, *kind, value);
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

/// Writes the rows as they are; identity columns take the copied ids.
pub(super) async fn import_rows(
    transaction: &mut sqlx::Transaction<'_, Postgres>,
    table: &PlainTable,
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    let overriding = if table.sequence.is_some() {
        "OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let sql = table.insert_sql(overriding);
    for row in rows {
        let mut query = sqlx::query(&sql);
        for (value, (_, kind)) in row.iter().zip(table.columns) {
            query = bind(query, *kind, value);
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

fn read(row: &PgRow, index: usize, kind: ColumnKind) -> Result<Value, StoreError> {
    fn value<T>(read: Option<T>, wrap: impl FnOnce(T) -> Value) -> Value {
        read.map(wrap).unwrap_or(Value::Null)
    }
    Ok(match kind {
        ColumnKind::Integer => value(row.try_get::<Option<i64>, _>(index)?, Value::Integer),
        ColumnKind::Text => value(row.try_get::<Option<String>, _>(index)?, Value::Text),
        ColumnKind::Uuid => value(row.try_get::<Option<Uuid>, _>(index)?, Value::Uuid),
        ColumnKind::Time => value(row.try_get::<Option<DateTime<Utc>>, _>(index)?, Value::Time),
        ColumnKind::Boolean => value(row.try_get::<Option<bool>, _>(index)?, Value::Boolean),
        ColumnKind::Bytes => value(row.try_get::<Option<Vec<u8>>, _>(index)?, Value::Bytes),
        ColumnKind::TextList => value(row.try_get::<Option<Vec<String>>, _>(index)?, Value::TextList),
    })
}

/// Binds a value as its column's type, a NULL included (Postgres needs the type of every parameter).
fn bind<'q>(
    query: Query<'q, Postgres, PgArguments>,
    kind: ColumnKind,
    value: &'q Value,
) -> Query<'q, Postgres, PgArguments> {
    match (kind, value) {
        (_, Value::Integer(integer)) => query.bind(integer),
        (_, Value::Text(text)) => query.bind(text),
        (_, Value::Uuid(id)) => query.bind(id),
        (_, Value::Time(time)) => query.bind(time),
        (_, Value::Boolean(flag)) => query.bind(flag),
        (_, Value::Bytes(bytes)) => query.bind(bytes),
        (_, Value::TextList(list)) => query.bind(list),
        (ColumnKind::Integer, Value::Null) => query.bind(None::<i64>),
        (ColumnKind::Text, Value::Null) => query.bind(None::<String>),
        (ColumnKind::Uuid, Value::Null) => query.bind(None::<Uuid>),
        (ColumnKind::Time, Value::Null) => query.bind(None::<DateTime<Utc>>),
        (ColumnKind::Boolean, Value::Null) => query.bind(None::<bool>),
        (ColumnKind::Bytes, Value::Null) => query.bind(None::<Vec<u8>>),
        (ColumnKind::TextList, Value::Null) => query.bind(None::<Vec<String>>),
    }
}
