//! The SQLite side of `syndic copy`: whole tables out and in, page by page, ids kept.

use super::rows::TAGS_COLUMN;
use super::rows::{
    micros, ArticleExportRow, ArticleMarkExportRow, FeedExportRow, SubscriptionExportRow, UserExportRow,
};
use super::search_index::{index_articles, SearchableArticle};
use super::transfer_plain::{export_rows, import_rows};
use super::SqliteStore;
use crate::store::rows::{categories_json, CATEGORY_JOIN};
use crate::store::transfer::{Table, TransferPage, TransferPosition};
use crate::store::transfer_rows::records;
use crate::store::StoreError;

pub(super) async fn is_empty(store: &SqliteStore) -> Result<bool, StoreError> {
    let rows: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM feeds)")
        .fetch_one(&store.pool)
        .await?;
    Ok(rows == 0)
}

pub(super) async fn table_names(store: &SqliteStore) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&store.pool)
            .await?,
    )
}

pub(super) async fn export_page(
    store: &SqliteStore,
    table: Table,
    after: Option<&TransferPosition>,
    limit: u32,
) -> Result<TransferPage, StoreError> {
    let pool = &store.pool;
    let limit = i64::from(limit);
    // Users' ids are stored as hyphenated text here.
    let (user, id) = TransferPosition::keys(after);
    let user = user.map(|user| user.to_string());
    Ok(match table {
        Table::Users => {
            let rows: Vec<UserExportRow> = sqlx::query_as(
                "SELECT id, username, email, password_hash, role, created_at, last_event_id, display_name, \
                        display_name_visibility, email_visibility FROM users \
                 WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
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
                        error_count, last_error, created_at, dead_since, last_seq FROM feeds WHERE id > ?1 ORDER BY id LIMIT ?2",
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
                 WHERE ?1 IS NULL OR (s.user_id, s.feed_id) > (?1, ?2) ORDER BY s.user_id, s.feed_id LIMIT ?3"
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
                        published_at, fetched_at, enclosures, seq FROM articles WHERE id > ?1 ORDER BY id LIMIT ?2",
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
                 WHERE ?1 IS NULL OR (user_id, article_id) > (?1, ?2) ORDER BY user_id, article_id LIMIT ?3",
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

pub(super) async fn import_page(store: &SqliteStore, page: &TransferPage) -> Result<(), StoreError> {
    let mut transaction = store.pool.begin().await?;
    match page {
        TransferPage::Users(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, role, created_at, last_event_id, \
                       display_name, display_name_visibility, email_visibility) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .bind(row.id.to_string())
                .bind(&row.username)
                .bind(&row.email)
                .bind(&row.password_hash)
                .bind(&row.role)
                .bind(micros(row.created_at))
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
                       next_poll_at, error_count, last_error, created_at, dead_since, last_seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
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
                .bind(row.last_seq)
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Subscriptions(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO subscriptions (user_id, feed_id, created_at, read_through_seq, marked_read, \
                       marked_unread, category_id, title) VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT id FROM categories WHERE user_id = ?1 AND name = ?7), ?8)",
                )
                .bind(row.user_id.to_string())
                .bind(row.feed_id)
                .bind(micros(row.created_at))
                .bind(row.read_through_seq)
                .bind(row.marked_read)
                .bind(row.marked_unread)
                .bind(&row.category)
                .bind(&row.title)
                .execute(&mut *transaction)
                .await?;
                for tag in &row.tags {
                    sqlx::query("INSERT INTO subscription_tags (user_id, feed_id, name) VALUES (?1, ?2, ?3)")
                        .bind(row.user_id.to_string())
                        .bind(row.feed_id)
                        .bind(tag)
                        .execute(&mut *transaction)
                        .await?;
                }
            }
        }
        TransferPage::Articles(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO articles (id, feed_id, dedupe_key, guid, url, title, summary, content, author, \
                       categories, published_at, fetched_at, enclosures, seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
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
                .bind(categories_json(&row.categories))
                .bind(micros(row.published_at))
                .bind(micros(row.fetched_at))
                .bind(&row.enclosures)
                .bind(row.seq)
                .execute(&mut *transaction)
                .await?;
            }
            let searchable: Vec<SearchableArticle> = rows
                .iter()
                .map(|row| SearchableArticle {
                    id: row.id,
                    title: row.title.as_deref(),
                    summary: row.summary.as_deref(),
                    content: row.content.as_deref(),
                })
                .collect();
            index_articles(&mut transaction, &searchable).await?;
        }
        TransferPage::ArticleMarks(rows) => {
            for row in rows {
                sqlx::query(
                    "INSERT INTO article_marks (user_id, article_id, feed_id, published_at, read_mark, read_at, \
                       starred_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(row.user_id.to_string())
                .bind(row.article_id)
                .bind(row.feed_id)
                .bind(micros(row.published_at))
                .bind(row.read_mark)
                .bind(row.read_at.map(micros))
                .bind(row.starred_at.map(micros))
                .execute(&mut *transaction)
                .await?;
            }
        }
        TransferPage::Rows(table, rows) => import_rows(&mut transaction, table, rows).await?,
    }
    transaction.commit().await?;
    Ok(())
}

/// AUTOINCREMENT already moves past explicitly inserted ids: nothing to do.
pub(super) async fn finish_import(_store: &SqliteStore) -> Result<(), StoreError> {
    Ok(())
}
