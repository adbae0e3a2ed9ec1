//! Webhooks and their outbox: deliveries wait, due and in order, with the envelope a receiver gets.

use chrono::Duration;
use syndic_actors::webhook::{AttemptOutcome, DeliveryAttempt, DeliveryStatus, NewDelivery, NewWebhook};

use crate::support::{now, user, SharedStore};

pub async fn enqueued_deliveries_are_due_in_order_with_their_envelope(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let webhook = |url: &str| NewWebhook {
        user_id: alice.id,
        url: url.to_owned(),
        events: vec!["article.new".to_owned()],
        feed_id: None,
        category: None,
        saved_filter: None,
        timer_id: None,
    };
    let first = store
        .create_webhook(&webhook("https://a.example/hook"))
        .await
        .expect("create");
    let second = store
        .create_webhook(&webhook("https://b.example/hook"))
        .await
        .expect("create");
    assert_ne!(first.id, second.id);
    assert_ne!(first.secret, second.secret);

    let earlier = now() - Duration::seconds(5);
    let mut older = NewDelivery::new(first.id, "article.new", serde_json::json!({"n": 1}));
    older.created_at = earlier;
    let newer = NewDelivery::new(first.id, "article.new", serde_json::json!({"n": 2}));
    let others = NewDelivery::new(second.id, "feed.status", serde_json::json!({"n": 3}));
    store
        .enqueue_deliveries(&[newer, others, older])
        .await
        .expect("enqueue");
    store.enqueue_deliveries(&[]).await.expect("nothing to enqueue");

    let due = store
        .due_deliveries(first.id, now() + Duration::seconds(1), 10)
        .await
        .expect("due");
    let numbers: Vec<_> = due
        .iter()
        .map(|delivery| {
            serde_json::from_str::<serde_json::Value>(&delivery.payload).expect("json")["data"]["n"].clone()
        })
        .collect();
    assert_eq!(numbers, [serde_json::json!(1), serde_json::json!(2)]);
    let envelope: serde_json::Value = serde_json::from_str(&due[0].payload).expect("json");
    assert_eq!(envelope["id"], serde_json::json!(due[0].id));
    assert_eq!(envelope["event"], "article.new");
    assert!(envelope["created_at"].is_string());
    assert!(due
        .iter()
        .all(|delivery| delivery.status == DeliveryStatus::Pending && delivery.attempts == 0));

    let not_yet = store
        .due_deliveries(first.id, earlier - Duration::seconds(1), 10)
        .await
        .expect("due");
    assert!(not_yet.is_empty());
    let limited = store
        .due_deliveries(first.id, now() + Duration::seconds(1), 1)
        .await
        .expect("due");
    assert_eq!(limited.len(), 1);
    let seconds = store
        .due_deliveries(second.id, now() + Duration::seconds(1), 10)
        .await
        .expect("due");
    assert_eq!(seconds.len(), 1);
    assert_eq!(seconds[0].event, "feed.status");
}

pub async fn fifty_dead_deliveries_in_a_row_disable_the_webhook_once(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let created = store
        .create_webhook(&NewWebhook {
            user_id: alice.id,
            url: "https://a.example/hook".to_owned(),
            events: vec!["article.new".to_owned()],
            feed_id: None,
            category: None,
            saved_filter: None,
            timer_id: None,
        })
        .await
        .expect("create");
    let new: Vec<_> = (0..61)
        .map(|n| NewDelivery::new(created.id, "article.new", serde_json::json!({ "n": n })))
        .collect();
    store.enqueue_deliveries(&new).await.expect("enqueue");
    let due = store
        .due_deliveries(created.id, now() + Duration::seconds(1), 100)
        .await
        .expect("due");
    assert_eq!(due.len(), 61);
    let record = |delivery: &syndic_actors::webhook::Delivery, outcome: AttemptOutcome| DeliveryAttempt {
        delivery: delivery.id,
        webhook: created.id,
        at: now(),
        status_code: Some(500),
        latency_ms: 3,
        error: Some("the receiver answered HTTP 500".to_owned()),
        outcome,
    };
    // Ten dead, then one delivered: the count starts again.
    for delivery in &due[..10] {
        assert_eq!(
            store
                .record_delivery_attempt(&record(delivery, AttemptOutcome::Dead))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .record_delivery_attempt(&record(&due[10], AttemptOutcome::Delivered))
            .await
            .unwrap(),
        None
    );
    for delivery in &due[11..60] {
        assert_eq!(
            store
                .record_delivery_attempt(&record(delivery, AttemptOutcome::Dead))
                .await
                .unwrap(),
            None
        );
    }
    let target = store.webhook_target(created.id).await.unwrap().expect("the webhook");
    assert!(target.enabled, "49 dead in a row since the last success");
    let disabled = store
        .record_delivery_attempt(&record(&due[60], AttemptOutcome::Dead))
        .await
        .unwrap();
    assert_eq!(
        disabled,
        Some(alice.id),
        "the fiftieth disables it, and says whose it is"
    );
    let target = store.webhook_target(created.id).await.unwrap().expect("the webhook");
    assert!(!target.enabled);
    let webhook = store.get_webhook(alice.id, created.id).await.unwrap();
    assert_eq!(webhook.consecutive_dead, 50);
    assert!(webhook.disabled_reason.is_some());
    assert!(store
        .due_webhooks(now() + Duration::seconds(1), 10)
        .await
        .unwrap()
        .is_empty());
    let listed = store
        .list_deliveries(
            alice.id,
            created.id,
            &syndic_actors::webhook::DeliveryQuery {
                status: Some(DeliveryStatus::Dead),
                limit: 100,
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 60);
    assert!(listed
        .iter()
        .all(|record| record.attempts.len() == 1 && record.attempts[0].attempt == 1));
}
