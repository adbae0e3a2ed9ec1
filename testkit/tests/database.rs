//! The fresh databases: each exists while its guard lives and is gone after, on both backends.

use sqlx::{Connection, PgConnection};
use syndic_testkit::database::{test_admin_url, Backend, FreshDatabase, PostgresDatabase, SqliteFile};

async fn postgres_has(name: &str) -> bool {
    let mut admin = PgConnection::connect(&test_admin_url()).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    count == 1
}

#[tokio::test]
async fn a_postgres_database_lives_as_long_as_its_guard() {
    let database = PostgresDatabase::create(&test_admin_url(), "syndic_testkit")
        .await
        .unwrap();
    let name = database.name().to_owned();
    assert!(postgres_has(&name).await, "{name} was created");
    assert!(database.url().ends_with(&format!("/{name}")), "{}", database.url());
    drop(database);
    assert!(!postgres_has(&name).await, "{name} was dropped with its guard");

    let database = PostgresDatabase::create(&test_admin_url(), "syndic_testkit")
        .await
        .unwrap();
    let name = database.name().to_owned();
    database.remove().await.unwrap();
    assert!(!postgres_has(&name).await, "{name} was removed");
}

#[tokio::test]
async fn a_fresh_database_is_migrated_and_removed_on_both_backends() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let database = FreshDatabase::create(backend, &test_admin_url(), "syndic_testkit", 2)
            .await
            .unwrap();
        assert_eq!(database.backend(), backend);
        assert_eq!(
            database.store.article_count().await.unwrap(),
            0,
            "{backend:?} is migrated"
        );
        let name = database.name();
        database.remove().await.unwrap();
        match backend {
            Backend::Postgres => assert!(!postgres_has(&name).await, "{name} was removed"),
            Backend::Sqlite => assert!(!std::path::Path::new(&name).exists(), "{name} was removed"),
        }
    }
}

#[tokio::test]
async fn a_sqlite_file_goes_with_its_write_ahead_log() {
    let file = SqliteFile::new("syndic_testkit");
    let store = syndic_actors::store::SqliteStore::connect(&file.url(), 2)
        .await
        .unwrap();
    let path = file.path().to_owned();
    assert!(path.exists());
    let wal = format!("{}-wal", path.display());
    assert!(
        std::path::Path::new(&wal).exists(),
        "WAL mode leaves a log beside the file"
    );
    drop(file);
    store.pool().close().await;
    assert!(!path.exists(), "the file was removed");
    assert!(!std::path::Path::new(&wal).exists(), "its log was removed");
}
