//! Shares: one transaction writes the share, a notification per recipient and their webhooks' `share.new`
//! deliveries, or nothing at all; notifications are marked seen once and counted on the sender's side.

use syndic_actors::social::NewShare;
use syndic_actors::store::StoreError;

use crate::support::{batch, dated_entries, now, outbox, persist_one, subscribe, user, webhook, SharedStore};

fn link(user: syndic_actors::domain::UserId, url: &str, to: Option<&[&str]>) -> NewShare {
    NewShare {
        user_id: user,
        article_id: None,
        url: Some(url.to_owned()),
        title: Some("A title".to_owned()),
        note: None,
        to: to.map(|names| names.iter().map(|name| (*name).to_owned()).collect()),
    }
}

pub async fn a_share_writes_its_notifications_and_deliveries_together_or_nothing(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let stranger = user(&store, "stranger").await;
    for friend in ["bob", "carol"] {
        store.send_friend_request(alice.id, friend).await.expect("ask");
    }
    store.accept_friend_request(bob.id, "alice").await.expect("accept");
    store.accept_friend_request(carol.id, "alice").await.expect("accept");
    let bobs_hook = webhook(&store, &bob, &["share.new"], None).await;
    let carols_hook = webhook(&store, &carol, &["job.done"], None).await;

    let committed = store
        .create_share(&link(alice.id, "https://example.com/a", None))
        .await
        .expect("share");
    let mut recipients = committed.recipients.clone();
    recipients.sort();
    let mut expected = vec![bob.id, carol.id];
    expected.sort();
    assert_eq!(recipients, expected);
    assert_eq!(
        committed.webhooks,
        [bobs_hook],
        "only a webhook subscribed to share.new"
    );
    let delivered = outbox(&store, bobs_hook).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0, "share.new");
    assert_eq!(
        (&delivered[0].1["share_id"], &delivered[0].1["from"]),
        (&serde_json::json!(committed.share.id), &serde_json::json!("alice"))
    );
    assert!(outbox(&store, carols_hook).await.is_empty());
    let received = store.list_notifications(bob.id, None, 10, None).await.expect("list");
    assert_eq!(received.len(), 1);
    assert_eq!((&received[0].share, received[0].seen_at), (&committed.share, None));

    // A stranger named: nothing at all is written.
    let refused = store
        .create_share(&link(alice.id, "https://example.com/b", Some(&["bob", "Stranger"])))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Rejected { field: "to", .. })),
        "{refused:?}"
    );
    assert_eq!(store.list_sent_shares(alice.id, 10, None).await.expect("sent").len(), 1);
    assert_eq!(outbox(&store, bobs_hook).await.len(), 1);
    let none = store
        .create_share(&link(stranger.id, "https://example.com/c", None))
        .await;
    assert!(
        matches!(none, Err(StoreError::Rejected { field: "to", .. })),
        "no friends"
    );

    // An article: only one in a feed the sharer follows, its link copied.
    let feed = subscribe(&store, &alice, "https://news.example/feed.xml").await;
    let stored = persist_one(&store, batch(feed, dated_entries("news", 1, now()), now())).await;
    let article = stored.articles[0].id;
    let mut of_article = link(bob.id, "ignored", None);
    (of_article.article_id, of_article.url, of_article.title) = (Some(article), None, None);
    let hidden = store.create_share(&of_article).await;
    assert!(
        matches!(
            hidden,
            Err(StoreError::Rejected {
                field: "article_id",
                ..
            })
        ),
        "{hidden:?}"
    );
    of_article.user_id = alice.id;
    let shared = store.create_share(&of_article).await.expect("an article alice follows");
    assert_eq!(shared.share.article_id, Some(article));
    assert!(shared.share.url.is_some(), "the article's url is copied");

    // Seen once, only by its recipient, counted on the sender's side.
    let ids = [committed.share.id, shared.share.id];
    assert_eq!(store.mark_notifications_seen(stranger.id, &ids).await.expect("mark"), 0);
    assert_eq!(store.mark_notifications_seen(bob.id, &ids).await.expect("mark"), 2);
    assert_eq!(store.mark_notifications_seen(bob.id, &ids).await.expect("mark"), 0);
    assert!(store
        .list_notifications(bob.id, Some(false), 10, None)
        .await
        .expect("unseen")
        .is_empty());
    assert_eq!(
        store
            .list_notifications(carol.id, Some(false), 10, None)
            .await
            .expect("unseen")
            .len(),
        2
    );
    let sent = store.list_sent_shares(alice.id, 10, None).await.expect("sent");
    let counts: Vec<(i64, i64)> = sent.iter().map(|sent| (sent.recipients, sent.not_seen_count)).collect();
    assert_eq!(counts, [(2, 1), (2, 1)]);
    let older = store
        .list_sent_shares(alice.id, 10, Some(shared.share.id))
        .await
        .expect("the page after");
    assert_eq!(
        older.iter().map(|sent| sent.share.id).collect::<Vec<_>>(),
        [committed.share.id]
    );
}
