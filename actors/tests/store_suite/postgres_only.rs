//! What only the Postgres backend has: how its statements are planned.

use std::sync::Arc;

use syndic_actors::domain::{ArticleSearch, ReadFilter, SearchOrder};
use syndic_actors::search_query::SearchQuery;
use syndic_actors::store::{PostgresStore, Store};

use crate::backends::{PostgresDatabase, PREFIX};
use crate::support::{at, batch, entry, persist_one, query, subscribe, user};

/// A named prepared statement gets one generic plan after five runs, made without the words, which reads every
/// match of a common word; the search is planned with its own words each time instead.
#[tokio::test]
async fn a_search_is_not_kept_as_a_prepared_statement() {
    let admin_url = syndic_testkit::database::test_admin_url();
    let database = PostgresDatabase::create(&admin_url, PREFIX)
        .await
        .expect("create the test database");
    // One connection, so the statements the searches leave are on the one the check reads.
    let postgres = PostgresStore::connect(&database.url(), 1).await.expect("connect");
    let pool = postgres.pool().clone();
    let store: Arc<dyn Store> = Arc::new(postgres);
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let mut crab = entry("a", Some(at("2026-01-01T00:00:00Z")));
    crab.title = Some("Ferris crab".to_owned());
    persist_one(&store, batch(feed, vec![crab], at("2026-01-02T00:00:00Z"))).await;

    for (round, order) in [SearchOrder::Relevance, SearchOrder::Date]
        .into_iter()
        .cycle()
        .take(14)
        .enumerate()
    {
        let mut request = query(ReadFilter::All);
        request.filter.search = Some(ArticleSearch {
            query: SearchQuery::parse(if round % 4 < 2 { "ferris crab" } else { "crab" }).expect("a query"),
            order,
        });
        let page = store.list_articles(alice.id, &request).await.expect("search");
        assert_eq!(page.articles.len(), 1, "round {round}");
    }

    let prepared: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE '%to_tsquery%' AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_all(&pool)
    .await
    .expect("read the prepared statements");
    assert_eq!(prepared, Vec::new(), "the search statement was kept prepared");
}
