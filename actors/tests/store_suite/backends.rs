//! The two backends under test, each a fresh database per test (the testkit's) that is removed when the test
//! ends, even by a panic.

use std::sync::Arc;

use syndic_actors::store::{PostgresStore, SqliteStore, Store};
pub use syndic_testkit::database::{PostgresDatabase, SqliteFile};

/// The prefix of every database and file the store suite creates.
pub const PREFIX: &str = "syndic_store";

pub async fn postgres() -> (PostgresDatabase, Arc<dyn Store>) {
    let admin_url = syndic_testkit::database::test_admin_url();
    let database = PostgresDatabase::create(&admin_url, PREFIX)
        .await
        .unwrap_or_else(|error| panic!("create the test database: {error:#}"));
    // The guard exists before the store connects, so a failing connect still drops the database.
    let store = PostgresStore::connect(&database.url(), 4)
        .await
        .expect("connect to the test database");
    (database, Arc::new(store))
}

pub async fn sqlite() -> (SqliteFile, Arc<dyn Store>) {
    let file = SqliteFile::new(PREFIX);
    let store = SqliteStore::connect(&file.url(), 4)
        .await
        .expect("open the test database");
    (file, Arc::new(store))
}
