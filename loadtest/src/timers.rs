//! The timers scenario: many pending timers seeded directly (due in a day and more), and some due within the
//! same second a little after the engine starts, each delivering to its own webhook on a real receiver in this
//! process. Lateness is measured where it matters, at the receiver: arrival minus the timer's instant; and at
//! the commit, as the delivery's `fired_at` says.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use poem::web::{Data, Json};
use poem::{handler, EndpointExt, Route};
use serde_json::{json, Value};
use syndic_actors::domain::UserId;
use syndic_testkit::database::BackendStore;
use syndic_testkit::users::store_user;

use crate::database::LoadDatabase;
use crate::report::{millis, quantile, two_columns};
use crate::{engine_config, on_fresh_database, wait_until, RunningEngine};

const USERNAME: &str = "timers";

#[derive(Debug, Clone, clap::Args)]
pub struct TimersSettings {
    /// timers: pending timers seeded, due a day and more after the run.
    #[arg(long, default_value_t = 100_000)]
    pub pending_timers: usize,
    /// timers: timers due within the same second, each with its own webhook.
    #[arg(long, default_value_t = 1_000)]
    pub due_timers: usize,
    /// timers: seconds from the engine's start to the second they are due in.
    #[arg(long, default_value_t = 15)]
    pub due_after_secs: u64,
}

#[derive(Debug, Clone, Default)]
pub struct TimersReport {
    pub database: String,
    pub pending: usize,
    pub due: usize,
    pub seed_elapsed: Duration,
    pub received: usize,
    /// Deliveries in the outbox: firings committed.
    pub committed: usize,
    /// Arrival at the receiver minus the timer's instant, one per delivery received.
    pub at_receiver: Vec<Duration>,
    /// `fired_at` minus `scheduled_for`, as each delivery says: the wheel's own lateness, before the send.
    pub at_commit: Vec<Duration>,
}

/// Arrival times and bodies, as the receiver got them.
type Log = Arc<Mutex<Vec<(DateTime<Utc>, Value)>>>;

#[handler]
fn receive(body: Json<Value>, log: Data<&Log>) {
    log.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((Utc::now(), body.0));
}

pub async fn run(base: &syndic::Config, settings: &TimersSettings, timeout: Duration) -> anyhow::Result<TimersReport> {
    on_fresh_database(base, crate::LOAD_DATABASE, async |database| {
        measure(base, settings, database, timeout).await
    })
    .await
}

async fn measure(
    base: &syndic::Config,
    settings: &TimersSettings,
    database: &LoadDatabase,
    timeout: Duration,
) -> anyhow::Result<TimersReport> {
    let log: Log = Arc::default();
    let receiver = Route::new().at("/hook", poem::post(receive)).data(log.clone());
    let address = syndic_testkit::feed_server::serve(0, receiver).await?;
    let url = format!("http://{address}/hook");

    let seed_started = Instant::now();
    let user = store_user(database.store().as_ref(), USERNAME).await;
    let due_second = Utc::now() + chrono::Duration::seconds(settings.due_after_secs as i64);
    let due_second = due_second - chrono::Duration::nanoseconds(due_second.timestamp_subsec_nanos() as i64);
    seed(database.backend_store(), user.id, &url, settings, due_second).await?;
    let seed_elapsed = seed_started.elapsed();

    let config = engine_config(base, database.url());
    let engine = RunningEngine::start(&config).await?;
    let wait = timeout.min(Duration::from_secs(settings.due_after_secs + 30));
    let waited = wait_until(wait, "every due timer's delivery", || async {
        Ok(log.lock().map(|log| log.len()).unwrap_or(0) >= settings.due_timers)
    })
    .await;
    engine.stop().await?;
    if let Err(error) = waited {
        eprintln!("not every delivery arrived ({error:#}); the figures cover those that did");
    }
    let received = log.lock().map(|log| log.clone()).unwrap_or_default();
    let committed = committed_payloads(database.backend_store()).await?;
    let mut report = TimersReport {
        database: database.kind().to_owned(),
        pending: settings.pending_timers,
        due: settings.due_timers,
        seed_elapsed,
        received: received.len(),
        ..TimersReport::default()
    };
    for (arrived, body) in &received {
        if let Some(scheduled) = instant(&body["data"]["scheduled_for"]) {
            report
                .at_receiver
                .push((*arrived - scheduled).to_std().unwrap_or_default());
        }
    }
    report.committed = committed.len();
    for payload in committed {
        let body: Value = serde_json::from_str(&payload)?;
        let data = &body["data"];
        if let (Some(scheduled), Some(fired)) = (instant(&data["scheduled_for"]), instant(&data["fired_at"])) {
            report.at_commit.push((fired - scheduled).to_std().unwrap_or_default());
        }
    }
    Ok(report)
}

/// The payloads of the timers' deliveries in the outbox, whether or not they were sent.
async fn committed_payloads(store: &BackendStore) -> anyhow::Result<Vec<String>> {
    let query = "SELECT payload FROM webhook_deliveries WHERE event = 'timer.fired'";
    Ok(match store {
        BackendStore::Postgres(store) => sqlx::query_scalar(query).fetch_all(store.pool()).await?,
        BackendStore::Sqlite(store) => sqlx::query_scalar(query).fetch_all(store.pool()).await?,
    })
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
}

/// One webhook for all the pending timers, and one per due timer, on the receiver; the pending timers due a
/// day and more from now, one a second; the due ones spread over `due_second`, one a millisecond apart.
async fn seed(
    store: &BackendStore,
    user: UserId,
    url: &str,
    settings: &TimersSettings,
    due_second: DateTime<Utc>,
) -> anyhow::Result<()> {
    let spread = (1_000 / settings.due_timers.max(1)).max(1) as i64;
    let mut instants: Vec<DateTime<Utc>> = (0..settings.due_timers)
        .map(|index| due_second + chrono::Duration::milliseconds((index as i64 * spread) % 1_000))
        .collect();
    let day = due_second + chrono::Duration::days(1);
    instants.extend((0..settings.pending_timers).map(|index| day + chrono::Duration::seconds(index as i64)));
    match store {
        BackendStore::Postgres(store) => seed_postgres(store.pool(), user, url, settings.due_timers, &instants).await,
        BackendStore::Sqlite(store) => seed_sqlite(store.pool(), user, url, settings.due_timers, &instants).await,
    }
}

async fn seed_postgres(
    pool: &sqlx::PgPool,
    user: UserId,
    url: &str,
    due: usize,
    instants: &[DateTime<Utc>],
) -> anyhow::Result<()> {
    let webhooks: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO webhooks (user_id, url, events, secret) \
         SELECT $1, $2, ARRAY['timer.fired'], 'whsec_bench_' || n FROM generate_series(0, $3) AS n RETURNING id",
    )
    .bind(user)
    .bind(url)
    .bind(due as i64)
    .fetch_all(pool)
    .await?;
    let targets = targets(&webhooks, due, instants.len());
    sqlx::query(
        "INSERT INTO timers (user_id, schedule_kind, timezone, anchor_at, webhook_id, next_fire_at) \
         SELECT $1, 'once', 'UTC', at, webhook, at FROM unnest($2::bigint[], $3::timestamptz[]) AS t(webhook, at)",
    )
    .bind(user)
    .bind(&targets)
    .bind(instants)
    .execute(pool)
    .await?;
    Ok(())
}

async fn seed_sqlite(
    pool: &sqlx::SqlitePool,
    user: UserId,
    url: &str,
    due: usize,
    instants: &[DateTime<Utc>],
) -> anyhow::Result<()> {
    let user = user.hyphenated().to_string();
    let now = Utc::now().timestamp_micros();
    let mut transaction = pool.begin().await?;
    let mut webhooks = Vec::with_capacity(due + 1);
    for index in 0..=due {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (user_id, url, events, secret, created_at, updated_at) \
             VALUES ($1, $2, '[\"timer.fired\"]', $3, $4, $4) RETURNING id",
        )
        .bind(&user)
        .bind(url)
        .bind(format!("whsec_bench_{index}"))
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        webhooks.push(id);
    }
    let targets = targets(&webhooks, due, instants.len());
    for (webhook, at) in targets.iter().zip(instants) {
        sqlx::query(
            "INSERT INTO timers (user_id, schedule_kind, timezone, anchor_at, webhook_id, next_fire_at, \
             created_at, updated_at) VALUES ($1, 'once', 'UTC', $2, $3, $2, $4, $4)",
        )
        .bind(&user)
        .bind(at.timestamp_micros())
        .bind(webhook)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The webhook of each timer: its own for the first `due`, the last webhook for all the pending ones.
fn targets(webhooks: &[i64], due: usize, timers: usize) -> Vec<i64> {
    let shared = webhooks.last().copied().unwrap_or_default();
    (0..timers)
        .map(|index| if index < due { webhooks[index] } else { shared })
        .collect()
}

impl TimersReport {
    pub fn to_json(&self) -> Value {
        let mut receiver = self.at_receiver.clone();
        let mut commit = self.at_commit.clone();
        json!({
            "scenario": "timers",
            "database": self.database,
            "pending_timers": self.pending,
            "due_timers": self.due,
            "seed_seconds": self.seed_elapsed.as_secs_f64(),
            "deliveries_received": self.received,
            "firings_committed": self.committed,
            "lateness_at_receiver_ms": {
                "p50": millis(quantile(&mut receiver, 0.5)),
                "p99": millis(quantile(&mut receiver, 0.99)),
                "max": millis(quantile(&mut receiver, 1.0)),
            },
            "lateness_at_commit_ms": {
                "p50": millis(quantile(&mut commit, 0.5)),
                "p99": millis(quantile(&mut commit, 0.99)),
                "max": millis(quantile(&mut commit, 1.0)),
            },
            "targets": { "p99_lateness_ms": 1000 },
        })
    }

    pub fn table(&self) -> String {
        let mut receiver = self.at_receiver.clone();
        let mut commit = self.at_commit.clone();
        let figures = |samples: &mut Vec<Duration>| {
            format!(
                "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                millis(quantile(samples, 0.5)),
                millis(quantile(samples, 0.99)),
                millis(quantile(samples, 1.0))
            )
        };
        two_columns(&[
            ("scenario", "timers".to_owned()),
            ("database", self.database.clone()),
            (
                "timers seeded",
                format!(
                    "{} pending, {} due in one second, in {:.1} s",
                    self.pending,
                    self.due,
                    self.seed_elapsed.as_secs_f64()
                ),
            ),
            ("firings committed", format!("{} of {}", self.committed, self.due)),
            ("deliveries received", format!("{} of {}", self.received, self.due)),
            (
                "lateness at the receiver",
                format!("{} (target p99 under 1 s)", figures(&mut receiver)),
            ),
            ("lateness at the commit", figures(&mut commit)),
        ])
    }
}
