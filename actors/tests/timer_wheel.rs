//! The timer wheel against a real store, under an injected clock: a daily 08:00 Europe/Paris timer fires at
//! 08:00 local on both sides of the March change, and a timer missed while nothing ran fires once, late.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use syndic_actors::actors::timer_wheel::{Clock, TimerSettings, TimerWheel, TimerWheelArgs};
use syndic_actors::store::{SqliteStore, Store};
use syndic_actors::timer::{NewTimer, PayloadKind, Timer, TimerPayload, TimerStatus, TimerTarget, WebhookId};
use syndic_actors::timer_schedule::{Schedule, ScheduleRequest};
use syndic_testkit::database::SqliteFile;
use syndic_testkit::users::store_user;
use tokio::sync::mpsc;

/// Real time, moved to wherever the test says: the wheel arms real sleeps against it.
#[derive(Default)]
struct ShiftedClock {
    offset: Mutex<chrono::Duration>,
}

impl ShiftedClock {
    fn set(&self, now: DateTime<Utc>) {
        *self.offset.lock().unwrap() = now - Utc::now();
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap()
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

struct Wheel {
    store: Arc<dyn Store>,
    clock: Arc<ShiftedClock>,
    nudges: mpsc::UnboundedReceiver<WebhookId>,
    _file: SqliteFile,
}

async fn wheel_at(now: &str) -> Wheel {
    let file = SqliteFile::new("syndic_wheel");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&file.url(), 4).await.unwrap());
    let clock = Arc::new(ShiftedClock::default());
    clock.set(utc(now));
    Wheel {
        store,
        clock,
        nudges: mpsc::unbounded_channel().1,
        _file: file,
    }
}

impl Wheel {
    async fn create(&self, request: ScheduleRequest) -> Timer {
        let user = store_user(self.store.as_ref(), &format!("u{}", uuid::Uuid::new_v4().simple())).await;
        let now = self.clock.now();
        let schedule = Schedule::parse(&request, now).unwrap();
        let timer = NewTimer {
            user_id: user.id,
            name: None,
            schedule: schedule.stored(),
            target: TimerTarget::Url("http://127.0.0.1:9/receiver".into()),
            payload: TimerPayload {
                kind: PayloadKind::Id,
                feed_id: None,
                category: None,
                filter: None,
            },
            next_fire_at: schedule.first_fire(now).unwrap(),
        };
        self.store.create_timer(&timer, 1_000).await.unwrap().timer
    }

    async fn start(&mut self) {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.nudges = receiver;
        let settings = TimerSettings {
            refill_every: Duration::from_millis(200),
            clock: self.clock.clone(),
            ..TimerSettings::default()
        };
        TimerWheel::spawn(TimerWheelArgs {
            store: self.store.clone(),
            settings,
            nudge: Arc::new(move |webhook| {
                let _ = sender.send(webhook);
            }),
        })
        .await
        .unwrap();
    }

    async fn next_nudge(&mut self) -> WebhookId {
        tokio::time::timeout(Duration::from_secs(10), self.nudges.recv())
            .await
            .expect("the timer fires in time")
            .expect("the wheel runs")
    }

    /// The `data` of each delivery in the timer's outbox, oldest first.
    async fn delivered(&self, timer: &Timer) -> Vec<serde_json::Value> {
        let far = Utc::now() + chrono::Duration::days(1);
        let deliveries = self.store.due_deliveries(timer.webhook_id, far, 100).await.unwrap();
        deliveries
            .iter()
            .map(|delivery| {
                let payload: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap();
                assert_eq!(payload["event"], "timer.fired");
                payload["data"].clone()
            })
            .collect()
    }

    async fn reload(&self, timer: &Timer) -> Timer {
        self.store.get_timer(timer.user_id, timer.id).await.unwrap()
    }
}

fn daily_paris() -> ScheduleRequest {
    ScheduleRequest {
        every: Some("1d".into()),
        at_time: Some("08:00".into()),
        timezone: Some("Europe/Paris".into()),
        ..ScheduleRequest::default()
    }
}

#[tokio::test]
async fn a_daily_paris_timer_fires_at_eight_local_on_both_sides_of_the_march_change() {
    let mut wheel = wheel_at("2026-03-28T06:59:58Z").await;
    let timer = wheel.create(daily_paris()).await;
    assert_eq!(timer.next_fire_at, Some(utc("2026-03-28T07:00:00Z")));
    wheel.start().await;

    assert_eq!(wheel.next_nudge().await, timer.webhook_id);
    let fired = wheel.reload(&timer).await;
    let first = fired.last_fired_at.unwrap();
    assert!(
        first >= utc("2026-03-28T07:00:00Z") && first < utc("2026-03-28T07:00:01Z"),
        "{first}"
    );
    assert_eq!(fired.next_fire_at, Some(utc("2026-03-29T06:00:00Z")), "08:00 CEST");

    // The night of the change passes; the wheel finds the timer again at its next refill.
    wheel.clock.set(utc("2026-03-29T05:59:58Z"));
    assert_eq!(wheel.next_nudge().await, timer.webhook_id);
    let fired = wheel.reload(&timer).await;
    let second = fired.last_fired_at.unwrap();
    assert!(
        second >= utc("2026-03-29T06:00:00Z") && second < utc("2026-03-29T06:00:01Z"),
        "{second}"
    );
    assert_eq!(fired.next_fire_at, Some(utc("2026-03-30T06:00:00Z")));
    assert_eq!(fired.fire_count, 2);
    let delivered = wheel.delivered(&timer).await;
    let scheduled: Vec<&serde_json::Value> = delivered.iter().map(|data| &data["scheduled_for"]).collect();
    assert_eq!(scheduled, ["2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"]);
    assert!(delivered
        .iter()
        .all(|data| data["late"] == false && data["id"] == timer.id));
}

#[tokio::test]
async fn a_timer_missed_while_the_wheel_was_down_fires_once_late_then_keeps_its_schedule() {
    let mut wheel = wheel_at("2026-03-20T12:00:00Z").await;
    let timer = wheel.create(daily_paris()).await;
    let one_shot = wheel
        .create(ScheduleRequest {
            at: Some("2026-03-20T12:30:00Z".into()),
            ..ScheduleRequest::default()
        })
        .await;
    // Three days and more go by with no wheel running.
    wheel.clock.set(utc("2026-03-23T09:00:00Z"));
    wheel.start().await;

    let mut nudged = vec![wheel.next_nudge().await, wheel.next_nudge().await];
    nudged.sort();
    let mut expected = vec![timer.webhook_id, one_shot.webhook_id];
    expected.sort();
    assert_eq!(nudged, expected);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        wheel.nudges.try_recv().is_err(),
        "each timer fires once, not once per missed day"
    );

    let daily = wheel.reload(&timer).await;
    assert_eq!(daily.fire_count, 1);
    assert_eq!(daily.next_fire_at, Some(utc("2026-03-24T07:00:00Z")));
    let one_shot = wheel.reload(&one_shot).await;
    assert_eq!(one_shot.status, TimerStatus::Done);
    assert_eq!(one_shot.next_fire_at, None);
    for timer in [&timer, &one_shot] {
        let delivered = wheel.delivered(timer).await;
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0]["late"], true);
    }
}
