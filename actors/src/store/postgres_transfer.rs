//! The Postgres side of `syndic copy`: whole tables out and in, page by page, ids kept.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::transfer::{
    ArticleRecord, FeedRecord, SubscriptionRecord, Table, TransferPage, TransferPosition, UserArticleRecord, UserRecord,
};
use super::StoreError;

type Time = DateTime<Utc>;

pub(super) async fn is_empty(pool: &PgPool) -> Result<bool, StoreError> {
    let rows: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM feeds)")
        .fetch_one(pool)
        .await?;
    Ok(rows == 0)
}

pub(super) async fn export_page(
    pool: &PgPool,
    table: Table,
    after: Option<&TransferPosition>,
    limit: u32,
) -> Result<TransferPage, StoreError> {
    let limit = i64::from(limit);
    let (user, id) = TransferPosition::keys(after);
    Ok(match table {
        Table::Users => {
            let rows: Vec<(Uuid, String, String, String, String, Time)> = sqlx::query_as(
                "SELECT id, username, email, password_hash, role, created_at FROM users \
                 WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2",
            )
            .bind(user)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Users(
                rows.into_iter()
                    .map(|(id, username, email, password_hash, role, created_at)| UserRecord {
                        id,
                        username,
                        email,
                        password_hash,
                        role,
                        created_at,
                    })
                    .collect(),
            )
        }
        Table::Feeds => {
            type Row = (
                i64,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                String,
                Option<Time>,
                Option<Time>,
                i32,
                Option<String>,
                Time,
                Option<Time>,
            );
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, url, title, site_url, etag, last_modified, status, last_polled_at, next_poll_at, \
                        error_count, last_error, created_at, dead_since FROM feeds WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Feeds(
                rows.into_iter()
                    .map(|row| FeedRecord {
                        id: row.0,
                        url: row.1,
                        title: row.2,
                        site_url: row.3,
                        etag: row.4,
                        last_modified: row.5,
                        status: row.6,
                        last_polled_at: row.7,
                        next_poll_at: row.8,
                        error_count: row.9,
                        last_error: row.10,
                        created_at: row.11,
                        dead_since: row.12,
                    })
                    .collect(),
            )
        }
        Table::Subscriptions => {
            let rows: Vec<(Uuid, i64, Time)> = sqlx::query_as(
                "SELECT user_id, feed_id, created_at FROM subscriptions \
                 WHERE $1::uuid IS NULL OR (user_id, feed_id) > ($1, $2) ORDER BY user_id, feed_id LIMIT $3",
            )
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Subscriptions(
                rows.into_iter()
                    .map(|(user_id, feed_id, created_at)| SubscriptionRecord {
                        user_id,
                        feed_id,
                        created_at,
                    })
                    .collect(),
            )
        }
        Table::Articles => export_articles(pool, id, limit).await?,
        Table::UserArticles => {
            type Row = (Uuid, i64, i64, Time, Option<Time>, Option<Time>);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT user_id, article_id, feed_id, published_at, read_at, starred_at FROM user_articles \
                 WHERE $1::uuid IS NULL OR (user_id, article_id) > ($1, $2) ORDER BY user_id, article_id LIMIT $3",
            )
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::UserArticles(
                rows.into_iter()
                    .map(
                        |(user_id, article_id, feed_id, published_at, read_at, starred_at)| UserArticleRecord {
                            user_id,
                            article_id,
                            feed_id,
                            published_at,
                            read_at,
                            starred_at,
                        },
                    )
                    .collect(),
            )
        }
    })
}

async fn export_articles(pool: &PgPool, after: i64, limit: i64) -> Result<TransferPage, StoreError> {
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
        Vec<String>,
        Time,
        Time,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
           fetched_at, enclosures \
         FROM articles WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(TransferPage::Articles(
        rows.into_iter()
            .map(|row| ArticleRecord {
                id: row.0,
                feed_id: row.1,
                dedupe_key: row.2,
                guid: row.3,
                url: row.4,
                title: row.5,
                summary: row.6,
                content: row.7,
                author: row.8,
                categories: row.9,
                published_at: row.10,
                fetched_at: row.11,
                enclosures: row.12,
            })
            .collect(),
    ))
}

pub(super) async fn import_page(pool: &PgPool, page: &TransferPage) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    match page {
        TransferPage::Users(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(row.id)
                .bind(&row.username)
                .bind(&row.email)
                .bind(&row.password_hash)
                .bind(&row.role)
                .bind(row.created_at)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Feeds(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO feeds (id, url, title, site_url, etag, last_modified, status, last_polled_at, \
                       next_poll_at, error_count, last_error, created_at, dead_since) OVERRIDING SYSTEM VALUE \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(row.id)
                .bind(&row.url)
                .bind(&row.title)
                .bind(&row.site_url)
                .bind(&row.etag)
                .bind(&row.last_modified)
                .bind(&row.status)
                .bind(row.last_polled_at)
                .bind(row.next_poll_at)
                .bind(row.error_count)
                .bind(&row.last_error)
                .bind(row.created_at)
                .bind(row.dead_since)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Subscriptions(rows) => {
            for row in rows {
                sqlx::query("INSERT INTO subscriptions (user_id, feed_id, created_at) VALUES ($1, $2, $3)")
                    .bind(row.user_id)
                    .bind(row.feed_id)
                    .bind(row.created_at)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        TransferPage::Articles(rows) => import_articles(&mut transaction, rows).await?,
        TransferPage::UserArticles(rows) => {
            sqlx::query(
                "INSERT INTO user_articles (user_id, article_id, feed_id, published_at, read_at, starred_at) \
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])",
            )
            .bind(rows.iter().map(|row| row.user_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.article_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.feed_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.published_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.read_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.starred_at).collect::<Vec<_>>())
            .execute(&mut *transaction)
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

async fn import_articles(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    rows: &[ArticleRecord],
) -> Result<(), StoreError> {
    let categories: Vec<String> = rows
        .iter()
        .map(|row| serde_json::to_string(&row.categories).unwrap_or_else(|_| "[]".into()))
        .collect();
    sqlx::query(
        "INSERT INTO articles (id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
           published_at, fetched_at, enclosures) OVERRIDING SYSTEM VALUE \
         SELECT t.id, t.feed_id, t.dedupe_key, t.guid, t.url, t.title, t.summary, t.content, t.author, \
                ARRAY(SELECT jsonb_array_elements_text(t.categories::jsonb)), t.published_at, t.fetched_at, \
                t.enclosures \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::text[]) \
           AS t(id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
                fetched_at, enclosures)",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.feed_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.dedupe_key.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.guid.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.url.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.title.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.summary.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.content.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.author.clone()).collect::<Vec<_>>())
    .bind(&categories)
    .bind(rows.iter().map(|row| row.published_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.fetched_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.enclosures.clone()).collect::<Vec<_>>())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Identity columns do not see explicitly inserted ids; move them past the highest one.
pub(super) async fn finish_import(pool: &PgPool) -> Result<(), StoreError> {
    for table in ["feeds", "articles"] {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(pool)
        .await?;
    }
    Ok(())
}
