//! The Postgres side of `syndic copy`: whole tables out and in, page by page, ids kept.

use super::rows::TAGS_COLUMN;
use super::rows::{ArticleExportRow, ArticleMarkExportRow, FeedExportRow, SubscriptionExportRow, UserExportRow};
use super::transfer_plain::{export_rows, import_rows};
use super::PostgresStore;
use crate::store::rows::{categories_json, CATEGORY_JOIN};
use crate::store::transfer::{ArticleRecord, Table, TransferPage, TransferPosition};
use crate::store::transfer_rows::records;
use crate::store::StoreError;

pub(super) async fn is_empty(store: &PostgresStore) -> Result<bool, StoreError> {
    let rows: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM feeds)")
        .fetch_one(&store.pool)
        .await?;
    Ok(rows == 0)
}

pub(super) async fn table_names(store: &PostgresStore) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&store.pool)
    .await?)
}

pub(super) async fn export_page(
    store: &PostgresStore,
    table: Table,
    after: Option<&TransferPosition>,
    limit: u32,
) -> Result<TransferPage, StoreError> {
    let pool = &store.pool;
    let limit = i64::from(limit);
    let (user, id) = TransferPosition::keys(after);
    Ok(match table {
        Table::Users => {
            let rows: Vec<UserExportRow> = sqlx::query_as(
                "SELECT id, username, email, password_hash, role, created_at, last_event_id, display_name, \
                        display_name_visibility, email_visibility FROM users \
                 WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2",
            )
            .bind(user)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Users(records(rows)?)
        }
        Table::Feeds => {
            let rows: Vec<FeedExportRow> = sqlx::query_as(
                "SELECT id, url, title, site_url, etag, last_modified, status, last_polled_at, next_poll_at, \
                        error_count, last_error, created_at, dead_since, last_seq FROM feeds WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Feeds(records(rows)?)
        }
        Table::Subscriptions => {
            let rows: Vec<SubscriptionExportRow> = sqlx::query_as(&format!(
                "SELECT s.user_id, s.feed_id, s.created_at, s.read_through_seq, s.marked_read, s.marked_unread, \
                   c.name AS category, s.title, {TAGS_COLUMN} FROM subscriptions s {CATEGORY_JOIN} \
                 WHERE $1::uuid IS NULL OR (s.user_id, s.feed_id) > ($1, $2) ORDER BY s.user_id, s.feed_id LIMIT $3"
            ))
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Subscriptions(records(rows)?)
        }
        Table::Articles => {
            let rows: Vec<ArticleExportRow> = sqlx::query_as(
                "SELECT id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
                        published_at, fetched_at, enclosures, seq FROM articles WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::Articles(records(rows)?)
        }
        Table::ArticleMarks => {
            let rows: Vec<ArticleMarkExportRow> = sqlx::query_as(
                "SELECT user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at FROM article_marks \
                 WHERE $1::uuid IS NULL OR (user_id, article_id) > ($1, $2) ORDER BY user_id, article_id LIMIT $3",
            )
            .bind(user)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            TransferPage::ArticleMarks(records(rows)?)
        }
        Table::Plain(table) => {
            let after = match after {
                Some(TransferPosition::Row(key)) => Some(key.as_slice()),
                _ => None,
            };
            TransferPage::Rows(table, export_rows(pool, table, after, limit).await?)
        }
    })
}

pub(super) async fn import_page(store: &PostgresStore, page: &TransferPage) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    match page {
        TransferPage::Users(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, role, created_at, last_event_id, \
                       display_name, display_name_visibility, email_visibility) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(row.id)
                .bind(&row.username)
                .bind(&row.email)
                .bind(&row.password_hash)
                .bind(&row.role)
                .bind(row.created_at)
                .bind(row.last_event_id)
                .bind(&row.display_name)
                .bind(&row.display_name_visibility)
                .bind(&row.email_visibility)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Feeds(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO feeds (id, url, title, site_url, etag, last_modified, status, last_polled_at, \
                       next_poll_at, error_count, last_error, created_at, dead_since, last_seq) OVERRIDING SYSTEM VALUE \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
                .bind(row.last_seq)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Subscriptions(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO subscriptions (user_id, feed_id, created_at, read_through_seq, marked_read, \
                       marked_unread, category_id, title) VALUES ($1, $2, $3, $4, $5, $6, (SELECT id FROM categories WHERE user_id = $1 AND name = $7), $8)",
                )
                .bind(row.user_id)
                .bind(row.feed_id)
                .bind(row.created_at)
                .bind(row.read_through_seq)
                .bind(row.marked_read)
                .bind(row.marked_unread)
                .bind(&row.category)
                .bind(&row.title)
                .execute(&mut *transaction)
                .await?;
                for tag in &row.tags {
                    sqlx::query("INSERT INTO subscription_tags (user_id, feed_id, name) VALUES ($1, $2, $3)")
                        .bind(row.user_id)
                        .bind(row.feed_id)
                        .bind(tag)
                        .execute(&mut *transaction)
                        .await?;
                }
            }
        }
        TransferPage::Articles(rows) => import_articles(&mut transaction, rows).await?,
        TransferPage::ArticleMarks(rows) => {
            sqlx::query(
                "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, starred_at) \
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::bool[], \
                                      $6::timestamptz[], $7::timestamptz[])",
            )
            .bind(rows.iter().map(|row| row.user_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.article_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.feed_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.published_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.read_mark).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.read_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|row| row.starred_at).collect::<Vec<_>>())
            .execute(&mut *transaction)
            .await?;
        }
        TransferPage::Rows(table, rows) => import_rows(&mut transaction, table, rows).await?,
    }
    transaction.commit().await?;
    Ok(())
}

async fn import_articles(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    rows: &[ArticleRecord],
) -> Result<(), StoreError> {
    let categories: Vec<String> = rows.iter().map(|row| categories_json(&row.categories)).collect();
    sqlx::query(
        "INSERT INTO articles (id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, \
           published_at, fetched_at, enclosures, seq) OVERRIDING SYSTEM VALUE \
         SELECT t.id, t.feed_id, t.dedupe_key, t.guid, t.url, t.title, t.summary, t.content, t.author, \
                ARRAY(SELECT jsonb_array_elements_text(t.categories::jsonb)), t.published_at, t.fetched_at, \
                t.enclosures, t.seq \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::text[], \
                     $14::bigint[]) \
           AS t(id, feed_id, dedupe_key, guid, url, title, summary, content, author, categories, published_at, \
                fetched_at, enclosures, seq)",
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
    .bind(rows.iter().map(|row| row.seq).collect::<Vec<_>>())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Identity columns do not see explicitly inserted ids; move them past the highest one.
pub(super) async fn finish_import(store: &PostgresStore) -> Result<(), StoreError> {
    let plain = Table::ALL.into_iter().filter_map(|table| match table {
        Table::Plain(plain) => plain.sequence.map(|column| (plain.name, column)),
        _ => None,
    });
    for (table, column) in [("feeds", "id"), ("articles", "id")].into_iter().chain(plain) {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
               COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)"
        ))
        .execute(&store.pool)
        .await?;
    }
    Ok(())
}
