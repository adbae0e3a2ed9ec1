//! The migration to fan-out on read (`20261130000004_fan_out_on_read.sql`), on both backends: a database in the
//! earlier shape, with one `user_articles` row per subscriber and article, moves to the new shape with every
//! unread article still unread, every star kept, and the unread counts exact; and the engine then writes and marks
//! on the moved data as on new data.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{PgPool, SqlitePool};
use syndic_actors::domain::{ArticleId, ArticlePatch, ArticleQuery, FeedId, ReadFilter, UserId};
use syndic_actors::parse::Entry;
use syndic_actors::store::{FeedBatch, PollRecord, PostgresStore, SqliteStore, Store};
use syndic_testkit::database::{test_admin_url, PostgresDatabase, SqliteFile};
use uuid::Uuid;

/// The first migration of the new shape: the test stops before it, seeds, then runs the rest.
const FAN_OUT_ON_READ: i64 = 20261130000004;

static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");

/// Every migration before fan-out on read.
fn before_fan_out(all: &Migrator) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|migration| migration.version < FAN_OUT_ON_READ)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

/// The old state, the same on both backends. Feed 1 has articles 1..=5, feed 2 has 6 and 7.
/// - alice follows both feeds and was linked to every article: 1 read, 2 unread, 3 read and starred, 4 and 5
///   unread; 6 read, 7 unread and starred.
/// - bob followed feed 1 later and was linked to 4 (read) and 5 (unread) only.
const ALICE_LINKS: [(ArticleId, bool, bool); 7] = [
    (1, true, false),
    (2, false, false),
    (3, true, true),
    (4, false, false),
    (5, false, false),
    (6, true, false),
    (7, false, true),
];
const BOB_LINKS: [(ArticleId, bool, bool); 2] = [(4, true, false), (5, false, false)];

fn alice() -> Uuid {
    Uuid::from_u128(0xa11ce)
}

fn bob() -> Uuid {
    Uuid::from_u128(0xb0b)
}

fn published(article: ArticleId) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + article * 60, 0).expect("a time")
}

fn feed_of(article: ArticleId) -> FeedId {
    if article <= 5 {
        1
    } else {
        2
    }
}

async fn seed_postgres(pool: &PgPool) {
    for (id, name) in [(alice(), "alice"), (bob(), "bob")] {
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $2 || '@example.com', 'x')",
        )
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .expect("user");
    }
    for url in ["https://one.example/feed", "https://two.example/feed"] {
        sqlx::query("INSERT INTO feeds (url) VALUES ($1)")
            .bind(url)
            .execute(pool)
            .await
            .expect("feed");
    }
    for (user, feed) in [(alice(), 1), (alice(), 2), (bob(), 1)] {
        sqlx::query("INSERT INTO subscriptions (user_id, feed_id) VALUES ($1, $2)")
            .bind(user)
            .bind(feed)
            .execute(pool)
            .await
            .expect("subscription");
    }
    for article in 1..=7 {
        sqlx::query("INSERT INTO articles (feed_id, dedupe_key, title, published_at) VALUES ($1, $2, $2, $3)")
            .bind(feed_of(article))
            .bind(format!("entry-{article}"))
            .bind(published(article))
            .execute(pool)
            .await
            .expect("article");
    }
    for (user, links) in [(alice(), &ALICE_LINKS[..]), (bob(), &BOB_LINKS[..])] {
        for &(article, read, starred) in links {
            sqlx::query(
                "INSERT INTO user_articles (user_id, article_id, feed_id, published_at, read_at, starred_at) \
                 VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END, CASE WHEN $6 THEN now() END)",
            )
            .bind(user)
            .bind(article)
            .bind(feed_of(article))
            .bind(published(article))
            .bind(read)
            .bind(starred)
            .execute(pool)
            .await
            .expect("link");
        }
    }
}

async fn seed_sqlite(pool: &SqlitePool) {
    for (id, name) in [(alice(), "alice"), (bob(), "bob")] {
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $2 || '@example.com', 'x')",
        )
        .bind(id.hyphenated().to_string())
        .bind(name)
        .execute(pool)
        .await
        .expect("user");
    }
    for url in ["https://one.example/feed", "https://two.example/feed"] {
        sqlx::query("INSERT INTO feeds (url) VALUES ($1)")
            .bind(url)
            .execute(pool)
            .await
            .expect("feed");
    }
    for (user, feed) in [(alice(), 1), (alice(), 2), (bob(), 1)] {
        sqlx::query("INSERT INTO subscriptions (user_id, feed_id) VALUES ($1, $2)")
            .bind(user.hyphenated().to_string())
            .bind(feed)
            .execute(pool)
            .await
            .expect("subscription");
    }
    for article in 1..=7 {
        sqlx::query("INSERT INTO articles (feed_id, dedupe_key, title, published_at) VALUES ($1, $2, $2, $3)")
            .bind(feed_of(article))
            .bind(format!("entry-{article}"))
            .bind(published(article).timestamp_micros())
            .execute(pool)
            .await
            .expect("article");
    }
    let now = Utc::now().timestamp_micros();
    for (user, links) in [(alice(), &ALICE_LINKS[..]), (bob(), &BOB_LINKS[..])] {
        for &(article, read, starred) in links {
            sqlx::query(
                "INSERT INTO user_articles (user_id, article_id, feed_id, published_at, read_at, starred_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user.hyphenated().to_string())
            .bind(article)
            .bind(feed_of(article))
            .bind(published(article).timestamp_micros())
            .bind(read.then_some(now))
            .bind(starred.then_some(now))
            .execute(pool)
            .await
            .expect("link");
        }
    }
}

fn filter(status: ReadFilter, starred: Option<bool>) -> ArticleQuery {
    ArticleQuery {
        feed_id: None,
        status,
        starred,
        limit: 100,
        cursor: None,
        filter: Default::default(),
    }
}

async fn ids(store: &Arc<dyn Store>, user: UserId, query: ArticleQuery) -> BTreeSet<ArticleId> {
    let page = store.list_articles(user, &query).await.expect("list");
    assert!(page.next_cursor.is_none());
    page.articles.iter().map(|article| article.id).collect()
}

async fn unread_count(store: &Arc<dyn Store>, user: UserId, feed: FeedId) -> i64 {
    store
        .get_subscription(user, feed)
        .await
        .expect("subscription")
        .unread_count
}

/// What every backend must show once migrated, and that the moved state keeps working.
async fn moved_state_is_exact(store: Arc<dyn Store>) {
    let set = |ids: &[ArticleId]| ids.iter().copied().collect::<BTreeSet<_>>();
    // alice: exactly what was unread and starred.
    assert_eq!(
        ids(&store, alice(), filter(ReadFilter::Unread, None)).await,
        set(&[2, 4, 5, 7])
    );
    assert_eq!(
        ids(&store, alice(), filter(ReadFilter::All, Some(true))).await,
        set(&[3, 7])
    );
    assert_eq!(
        ids(&store, alice(), filter(ReadFilter::Read, None)).await,
        set(&[1, 3, 6])
    );
    assert_eq!(unread_count(&store, alice(), 1).await, 3);
    assert_eq!(unread_count(&store, alice(), 2).await, 1);
    // bob: 5 unread; the articles he was never linked to now show, read.
    assert_eq!(ids(&store, bob(), filter(ReadFilter::Unread, None)).await, set(&[5]));
    assert_eq!(
        ids(&store, bob(), filter(ReadFilter::All, None)).await,
        set(&[1, 2, 3, 4, 5])
    );
    assert!(ids(&store, bob(), filter(ReadFilter::All, Some(true))).await.is_empty());
    assert_eq!(unread_count(&store, bob(), 1).await, 1);

    // Marks on the moved state keep the counts exact: alice reads 2 and 5, and takes 1 back to unread.
    for (article, read) in [(2, true), (5, true), (1, false)] {
        let patch = ArticlePatch {
            read: Some(read),
            starred: None,
        };
        store.update_article(alice(), article, patch).await.expect("mark");
    }
    assert_eq!(
        ids(&store, alice(), filter(ReadFilter::Unread, None)).await,
        set(&[1, 4, 7])
    );
    assert_eq!(unread_count(&store, alice(), 1).await, 2);

    // The next flush numbers on after the moved articles: one new entry is unread for both subscribers.
    let polled_at = published(8);
    let entry = Entry {
        dedupe_key: "entry-8".to_owned(),
        guid: None,
        url: None,
        title: Some("entry-8".to_owned()),
        summary: None,
        content: None,
        author: None,
        categories: Vec::new(),
        enclosures: Vec::new(),
        published_at: Some(polled_at),
    };
    let stored = store
        .persist_batches(&[FeedBatch {
            feed_id: 1,
            entries: vec![entry],
            poll: PollRecord {
                title: None,
                site_url: None,
                etag: None,
                last_modified: None,
                polled_at,
                next_poll_at: polled_at,
            },
        }])
        .await
        .expect("flush");
    let new = stored[0].articles[0].id;
    assert_eq!(stored[0].new_count, 1);
    assert_eq!(
        ids(&store, bob(), filter(ReadFilter::Unread, None)).await,
        set(&[5, new])
    );
    assert_eq!(unread_count(&store, bob(), 1).await, 2);
    assert_eq!(unread_count(&store, alice(), 1).await, 3);
}

#[tokio::test]
async fn postgres_moves_fan_out_on_write_to_fan_out_on_read_exactly() {
    let database = PostgresDatabase::create(&test_admin_url(), "syndic_test_migration")
        .await
        .expect("Postgres must be running");
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    before_fan_out(&POSTGRES).run(&pool).await.expect("earlier migrations");
    seed_postgres(&pool).await;
    pool.close().await;

    let store = PostgresStore::connect(&database.url(), 2).await.expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    moved_state_is_exact(store.clone()).await;
    drop(store);
    database.remove().await.expect("drop");
}

#[tokio::test]
async fn sqlite_moves_fan_out_on_write_to_fan_out_on_read_exactly() {
    let file = SqliteFile::new("syndic_test_migration");
    let options = SqliteConnectOptions::new()
        .filename(file.path())
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await.expect("open");
    before_fan_out(&SQLITE).run(&pool).await.expect("earlier migrations");
    seed_sqlite(&pool).await;
    pool.close().await;

    let store = SqliteStore::connect(&file.url(), 2).await.expect("migrate");
    moved_state_is_exact(Arc::new(store)).await;
}
