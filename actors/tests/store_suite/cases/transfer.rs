//! Cases for moving a database: every table pages out completely, in key order, across many small pages, and
//! pages into an empty database as they are.

use syndic_actors::domain::{ArticlePatch, ReadFilter};
use syndic_actors::store::transfer::{Table, TransferPage, TransferPosition};

use crate::support::{at, batch, dated_entries, persist_one, query, subscribe, timeline_ids, user, SharedStore};

/// Pages through a whole table two rows at a time.
async fn export_all(store: &SharedStore, table: Table) -> Vec<TransferPage> {
    let mut pages = Vec::new();
    let mut after: Option<TransferPosition> = None;
    loop {
        let page = store.export_page(table, after.as_ref(), 2).await.expect("export");
        if page.is_empty() {
            return pages;
        }
        assert!(page.len() <= 2);
        after = page.last_position();
        pages.push(page);
    }
}

fn keys(pages: &[TransferPage]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| match page {
            TransferPage::Users(rows) => rows.iter().map(|row| row.id.to_string()).collect::<Vec<_>>(),
            TransferPage::Feeds(rows) => rows.iter().map(|row| format!("{:020}", row.id)).collect(),
            TransferPage::Subscriptions(rows) => rows
                .iter()
                .map(|row| format!("{}/{:020}", row.user_id, row.feed_id))
                .collect(),
            TransferPage::Articles(rows) => rows.iter().map(|row| format!("{:020}", row.id)).collect(),
            TransferPage::ArticleMarks(rows) => rows
                .iter()
                .map(|row| format!("{}/{:020}", row.user_id, row.article_id))
                .collect(),
            TransferPage::Rows(_, rows) => rows.iter().map(|row| format!("{row:?}")).collect(),
        })
        .collect()
}

pub async fn every_table_pages_out_completely_in_key_order(store: SharedStore) {
    let names = ["alice", "bob", "carol"];
    let mut users = Vec::new();
    for name in names {
        users.push(user(&store, name).await);
    }
    let urls = [
        "https://a.example/feed",
        "https://b.example/feed",
        "https://c.example/feed",
    ];
    let mut feeds = Vec::new();
    for reader in &users {
        for url in urls {
            feeds.push(subscribe(&store, reader, url).await);
        }
    }
    for (n, feed) in [feeds[0], feeds[1], feeds[2]].into_iter().enumerate() {
        let entries = dated_entries(&format!("f{n}"), 3, at("2026-01-01T00:00:00Z"));
        persist_one(&store, batch(feed, entries, at("2026-01-02T00:00:00Z"))).await;
    }
    // Each user stars the first article of each feed: 9 marks.
    for reader in &users {
        let page = store
            .list_articles(reader.id, &query(ReadFilter::All))
            .await
            .expect("timeline");
        for article in page
            .articles
            .iter()
            .filter(|article| article.title.as_deref().is_some_and(|t| t.ends_with("-0")))
        {
            let patch = ArticlePatch {
                read: None,
                starred: Some(true),
            };
            store.update_article(reader.id, article.id, patch).await.expect("star");
        }
    }
    // 3 users, 3 feeds, 9 subscriptions, 9 articles, 9 marks: every table spans several pages of two.
    for (table, expected) in [
        (Table::Users, 3),
        (Table::Feeds, 3),
        (Table::Subscriptions, 9),
        (Table::Articles, 9),
        (Table::ArticleMarks, 9),
    ] {
        let pages = export_all(&store, table).await;
        let keys = keys(&pages);
        assert_eq!(keys.len(), expected, "{}", table.name());
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "{} pages in strictly increasing key order", table.name());
    }
}

pub async fn pages_import_as_they_are_into_an_empty_database(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://a.example/feed").await;
    persist_one(
        &store,
        batch(
            feed,
            dated_entries("x", 2, at("2026-01-01T00:00:00Z")),
            at("2026-01-02T00:00:00Z"),
        ),
    )
    .await;
    let articles = timeline_ids(&store, alice.id, &query(ReadFilter::All)).await;
    let read = ArticlePatch {
        read: Some(true),
        starred: None,
    };
    store.update_article(alice.id, articles[0], read).await.expect("read");
    let starred = ArticlePatch {
        read: None,
        starred: Some(true),
    };
    store
        .update_article(alice.id, articles[1], starred)
        .await
        .expect("star");
    assert!(!store.is_empty().await.expect("is_empty"));
    let exported: Vec<Vec<TransferPage>> = {
        let mut all = Vec::new();
        for table in Table::ALL {
            all.push(export_all(&store, table).await);
        }
        all
    };
    // Importing into the same database must collide on every key: nothing is silently merged.
    let users = &exported[0][0];
    assert!(
        store.import_page(users).await.is_err(),
        "an import never overwrites existing rows"
    );
    // The flush's `article.new` is in the log where the flush stores it (SQLite); elsewhere the bus would.
    let events = usize::from(store.flush_stores_article_new());
    assert_eq!(
        exported.iter().map(|pages| keys(pages).len()).collect::<Vec<_>>(),
        vec![1, 0, 0, 1, 0, 1, 2, 2, events, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "{:?}",
        Table::ALL.map(Table::name)
    );
}
