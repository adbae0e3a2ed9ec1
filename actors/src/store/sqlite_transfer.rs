//! The SQLite side of `syndic copy`: whole tables out and in, page by page, ids kept.

use sqlx::SqlitePool;
use uuid::Uuid;

use super::sqlite_rows::{micros, time};
use super::transfer::{
    ArticleRecord, FeedRecord, SubscriptionRecord, Table, TransferPage, TransferPosition, UserArticleRecord, UserRecord,
};
use super::StoreError;

fn user_id(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|error| StoreError::Database(sqlx::Error::Decode(Box::new(error))))
}

fn optional_time(value: Option<i64>) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    value.map(time).transpose()
}

pub(super) async fn is_empty(pool: &SqlitePool) -> Result<bool, StoreError> {
    let rows: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM feeds)")
        .fetch_one(pool)
        .await?;
    Ok(rows == 0)
}

pub(super) async fn export_page(
    pool: &SqlitePool,
    table: Table,
    after: Option<&TransferPosition>,
    limit: u32,
) -> Result<TransferPage, StoreError> {
    let limit = i64::from(limit);
    // Users' ids are stored as hyphenated text here.
    let (user, id) = TransferPosition::keys(after);
    let user = user.map(|user| user.to_string());
    Ok(match table {
        Table::Users => {
            let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
                "SELECT id, username, email, password_hash, role, created_at FROM users \
                 WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
            )
            .bind(user)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut records = Vec::with_capacity(rows.len());
            for (id, username, email, password_hash, role, created_at) in rows {
                records.push(UserRecord {
                    id: user_id(&id)?,
                    username,
                    email,
                    password_hash,
                    role,
                    created_at: time(created_at)?,
                });
            }
            TransferPage::Users(records)
        }
        Table::Feeds => export_feeds(pool, id, limit).await?,
        Table::Subscriptions => {
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT user_id, feed_id, created_at FROM subscriptions \
                 WHERE ?1 IS NULL OR (user_id, feed_id) > (?1, ?2) ORDER BY user_id, feed_id LIMIT ?3",
            )
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut records = Vec::with_capacity(rows.len());
            for (user, feed_id, created_at) in rows {
                records.push(SubscriptionRecord {
                    user_id: user_id(&user)?,
                    feed_id,
                    created_at: time(created_at)?,
                });
            }
            TransferPage::Subscriptions(records)
        }
        Table::Articles => export_articles(pool, id, limit).await?,
        Table::UserArticles => {
            type Row = (String, i64, i64, i64, Option<i64>, Option<i64>);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT user_id, article_id, feed_id, published_at, read_at, starred_at FROM user_articles \
                 WHERE ?1 IS NULL OR (user_id, article_id) > (?1, ?2) ORDER BY user_id, article_id LIMIT ?3",
            )
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut records = Vec::with_capacity(rows.len());
            for (user, article_id, feed_id, published_at, read_at, starred_at) in rows {
                records.push(UserArticleRecord {
                    user_id: user_id(&user)?,
                    article_id,
                    feed_id,
                    published_at: time(published_at)?,
                    read_at: optional_time(read_at)?,
                    starred_at: optional_time(starred_at)?,
                });
            }
            TransferPage::UserArticles(records)
        }
    })
}

async fn export_feeds(pool: &SqlitePool, after: i64, limit: i64) -> Result<TransferPage, StoreError> {
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<i64>,
        Option<i64>,
        i32,
        Option<String>,
        i64,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, url, title, site_url, etag, last_modified, status, last_polled_at, next_poll_at, error_count, \
                last_error, created_at, dead_since FROM feeds WHERE id > ?1 ORDER BY id LIMIT ?2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(FeedRecord {
            id: row.0,
            url: row.1,
            title: row.2,
            site_url: row.3,
            etag: row.4,
            last_modified: row.5,
            status: row.6,
            last_polled_at: optional_time(row.7)?,
            next_poll_at: optional_time(row.8)?,
            error_count: row.9,
            last_error: row.10,
            created_at: time(row.11)?,
            dead_since: optional_time(row.12)?,
        });
    }
    Ok(TransferPage::Feeds(records))
}

async fn export_articles(pool: &SqlitePool, after: i64, limit: i64) -> Result<TransferPage, StoreError> {
    type Row = (
        i64,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
           fetched_at, enclosures \
         FROM articles WHERE id > ?1 ORDER BY id LIMIT ?2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let categories =
            serde_json::from_str(&row.9).map_err(|error| StoreError::Database(sqlx::Error::Decode(Box::new(error))))?;
        records.push(ArticleRecord {
            id: row.0,
            feed_id: row.1,
            dedupe_key: row.2,
            guid: row.3,
            url: row.4,
            title: row.5,
            summary: row.6,
            content: row.7,
            author: row.8,
            categories,
            published_at: time(row.10)?,
            fetched_at: time(row.11)?,
            enclosures: row.12,
        });
    }
    Ok(TransferPage::Articles(records))
}

pub(super) async fn import_page(pool: &SqlitePool, page: &TransferPage) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    match page {
        TransferPage::Users(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, role, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .bind(row.id.to_string())
                .bind(&row.username)
                .bind(&row.email)
                .bind(&row.password_hash)
                .bind(&row.role)
                .bind(micros(row.created_at))
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Feeds(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO feeds (id, url, title, site_url, etag, last_modified, status, last_polled_at, \
                       next_poll_at, error_count, last_error, created_at, dead_since) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .bind(row.id)
                .bind(&row.url)
                .bind(&row.title)
                .bind(&row.site_url)
                .bind(&row.etag)
                .bind(&row.last_modified)
                .bind(&row.status)
                .bind(row.last_polled_at.map(micros))
                .bind(row.next_poll_at.map(micros))
                .bind(row.error_count)
                .bind(&row.last_error)
                .bind(micros(row.created_at))
                .bind(row.dead_since.map(micros))
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Subscriptions(rows) => {
            for row in rows {
                sqlx::query("INSERT INTO subscriptions (user_id, feed_id, created_at) VALUES (?1, ?2, ?3)")
                    .bind(row.user_id.to_string())
                    .bind(row.feed_id)
                    .bind(micros(row.created_at))
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        TransferPage::Articles(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO articles (id, feed_id, dedupe_key, guid, url, title, summary, content, author, \
                       categories, published_at, fetched_at, enclosures) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .bind(row.id)
                .bind(row.feed_id)
                .bind(&row.dedupe_key)
                .bind(&row.guid)
                .bind(&row.url)
                .bind(&row.title)
                .bind(&row.summary)
                .bind(&row.content)
                .bind(&row.author)
                .bind(serde_json::to_string(&row.categories).unwrap_or_else(|_| "[]".into()))
                .bind(micros(row.published_at))
                .bind(micros(row.fetched_at))
                .bind(&row.enclosures)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::UserArticles(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO user_articles (user_id, article_id, feed_id, published_at, read_at, starred_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .bind(row.user_id.to_string())
                .bind(row.article_id)
                .bind(row.feed_id)
                .bind(micros(row.published_at))
                .bind(row.read_at.map(micros))
                .bind(row.starred_at.map(micros))
                .execute(&mut *transaction)
                .await?;
            }
        }
    }
    transaction.commit().await?;
    Ok(())
}
