//! Timers: a firing moves the timer on and writes its delivery in one transaction, once per instant; an edit
//! made meanwhile wins; targets, privacy, the per-user limit, and deleting a timer with the webhook it owns.

use chrono::{DateTime, Duration, Utc};
use syndic_actors::domain::UserId;
use syndic_actors::store::StoreError;
use syndic_actors::timer::{NewTimer, PayloadKind, TimerFiring, TimerPayload, TimerStatus, TimerTarget, TimerUpdate};
use syndic_actors::timer_schedule::StoredSchedule;
use syndic_actors::webhook::NewWebhook;

use crate::support::{now, user, SharedStore};

fn one_shot(user: UserId, at: DateTime<Utc>, target: TimerTarget) -> NewTimer {
    NewTimer {
        user_id: user,
        name: Some("tea".into()),
        schedule: StoredSchedule {
            kind: "once".into(),
            spec: None,
            at_time: None,
            timezone: "UTC".into(),
            anchor: at,
        },
        target,
        payload: TimerPayload {
            kind: PayloadKind::Id,
            feed_id: None,
            category: None,
            filter: None,
        },
        next_fire_at: at,
    }
}

fn url() -> TimerTarget {
    TimerTarget::Url("https://receiver.example/hook".into())
}

pub async fn a_firing_moves_the_timer_and_writes_its_delivery_once(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let due = now() - Duration::seconds(1);
    let created = store
        .create_timer(&one_shot(alice.id, due, url()), 10)
        .await
        .expect("create");
    assert!(created.secret.is_some(), "a url target creates the timer's own webhook");
    let timer = created.timer;
    assert!(timer.owns_webhook);
    let loaded = store.due_timers(now(), 10).await.expect("due");
    assert_eq!(loaded, vec![timer.clone()]);

    let firing = TimerFiring {
        timer: timer.id,
        webhook_id: timer.webhook_id,
        scheduled_for: due,
        fired_at: now(),
        next_fire_at: None,
        data: serde_json::json!({"id": timer.id}),
    };
    assert_eq!(
        store.fire_timers(std::slice::from_ref(&firing)).await.unwrap(),
        vec![timer.id]
    );
    assert_eq!(
        store.fire_timers(&[firing]).await.unwrap(),
        Vec::<i64>::new(),
        "once per instant"
    );
    let fired = store.get_timer(alice.id, timer.id).await.unwrap();
    assert_eq!(
        (fired.status, fired.next_fire_at, fired.fire_count),
        (TimerStatus::Done, None, 1)
    );
    assert!(store.due_timers(now(), 10).await.unwrap().is_empty());
    let outbox = store
        .due_deliveries(timer.webhook_id, now() + Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&outbox[0].payload).unwrap();
    assert_eq!(
        (payload["event"].as_str(), &payload["data"]["id"]),
        (Some("timer.fired"), &serde_json::json!(timer.id))
    );
}

pub async fn an_edit_wins_over_a_firing_loaded_before_it(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let due = now() - Duration::seconds(1);
    let timer = store
        .create_timer(&one_shot(alice.id, due, url()), 10)
        .await
        .unwrap()
        .timer;
    let later = now() + Duration::hours(1);
    let update = TimerUpdate {
        name: None,
        schedule: StoredSchedule {
            anchor: later,
            ..timer.schedule.clone()
        },
        payload: timer.payload,
        status: TimerStatus::Active,
        next_fire_at: Some(later),
        expected_next_fire_at: timer.next_fire_at,
    };
    let edited = store
        .update_timer(alice.id, timer.id, &update)
        .await
        .unwrap()
        .expect("applied");
    assert_eq!(edited.next_fire_at, Some(later));
    assert!(
        store.update_timer(alice.id, timer.id, &update).await.unwrap().is_none(),
        "a stale edit is refused"
    );
    let stale = TimerFiring {
        timer: timer.id,
        webhook_id: timer.webhook_id,
        scheduled_for: due,
        fired_at: now(),
        next_fire_at: None,
        data: serde_json::json!({}),
    };
    assert!(store.fire_timers(&[stale]).await.unwrap().is_empty());
    let outbox = store
        .due_deliveries(timer.webhook_id, now() + Duration::days(1), 10)
        .await
        .unwrap();
    assert!(outbox.is_empty(), "a firing that did not apply delivers nothing");
}

pub async fn timers_are_private_limited_and_take_their_own_webhook_with_them(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let at = now() + Duration::hours(1);
    let bobs_webhook = store
        .create_webhook(&NewWebhook {
            user_id: bob.id,
            url: "https://bob.example/hook".into(),
            events: vec!["article.new".into()],
            feed_id: None,
            category: None,
            saved_filter: None,
            timer_id: None,
        })
        .await
        .unwrap();
    let refused = store
        .create_timer(&one_shot(alice.id, at, TimerTarget::Webhook(bobs_webhook.id)), 10)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Rejected {
                field: "target.webhook_id",
                ..
            })
        ),
        "{refused:?}"
    );
    let bobs = store
        .create_timer(&one_shot(bob.id, at, TimerTarget::Webhook(bobs_webhook.id)), 10)
        .await
        .unwrap();
    assert_eq!((bobs.secret, bobs.timer.owns_webhook), (None, false));

    let first = store
        .create_timer(&one_shot(alice.id, at, url()), 2)
        .await
        .unwrap()
        .timer;
    let second = store
        .create_timer(&one_shot(alice.id, at, url()), 2)
        .await
        .unwrap()
        .timer;
    let over = store.create_timer(&one_shot(alice.id, at, url()), 2).await;
    assert!(
        matches!(over, Err(StoreError::Rejected { field: "timers", .. })),
        "{over:?}"
    );
    assert!(matches!(
        store.get_timer(bob.id, first.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_timer(bob.id, first.id).await,
        Err(StoreError::NotFound)
    ));
    let page = store.list_timers(alice.id, 1, None).await.unwrap();
    assert_eq!(page.iter().map(|timer| timer.id).collect::<Vec<_>>(), vec![second.id]);
    let next = store.list_timers(alice.id, 1, Some(second.id)).await.unwrap();
    assert_eq!(next.iter().map(|timer| timer.id).collect::<Vec<_>>(), vec![first.id]);

    let firing = TimerFiring {
        timer: first.id,
        webhook_id: first.webhook_id,
        scheduled_for: at,
        fired_at: now(),
        next_fire_at: None,
        data: serde_json::json!({}),
    };
    store.fire_timers(&[firing]).await.unwrap();
    store.delete_timer(alice.id, first.id).await.unwrap();
    let outbox = store
        .due_deliveries(first.webhook_id, now() + Duration::days(1), 10)
        .await
        .unwrap();
    assert!(outbox.is_empty(), "the timer's webhook and its deliveries went with it");
    // Bob's own webhook stays when his timer goes.
    store.delete_timer(bob.id, bobs.timer.id).await.unwrap();
    store.delete_timer(alice.id, second.id).await.unwrap();
    assert!(store
        .create_timer(&one_shot(bob.id, at, TimerTarget::Webhook(bobs_webhook.id)), 10)
        .await
        .is_ok());
}
