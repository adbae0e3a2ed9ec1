//! Jobs end to end: a job that always fails ends dead and can be retried, without hurting the engine;
//! cancelling, the per-user queue cap and privacy; refresh-all under the manual refresh rules; and an import
//! that survives `kill -9` of the real binary, resuming where its last committed step left off.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{eventually, feed_server, spawn_app_configured, Backend, TestDatabase, TestSettings};
use crate::job_client::{all_feeds, document, import, items, post_opml, wait_for_status};
use crate::process::{free_port, register_and_login, Syndic};
use crate::sse::SseReader;

async fn a_job_that_always_fails_ends_dead_and_can_be_retried(backend: Backend) {
    let app = spawn_app_configured(backend, TestSettings::default(), |config| {
        config.job_max_attempts = 2;
        config.job_backoff_ms = 20;
    })
    .await;
    let token = app.user("alice").await;
    // Test builds only: an import listing this URL panics in its worker, every time.
    let cursed = document(&["http://127.0.0.1:9/syndic-test-job-panic".to_owned()], None);
    let job = import(&app, &token, cursed).await;
    let id = job["id"].as_i64().unwrap();
    let dead = wait_for_status(&app, &token, id, "dead", 20).await;
    assert_eq!(dead["attempts"], 2);
    let error = dead["error"].as_str().expect("the last attempt's error");
    assert!(error.contains("deliberate test panic"), "{error}");
    assert!(dead["finished_at"].is_string());

    // The engine is unharmed: it answers, and the next job runs.
    assert_eq!(app.get("/healthcheck", None).await.status(), 200);
    let fine = import(&app, &token, document(&["http://127.0.0.1:9/fine".to_owned()], None)).await;
    wait_for_status(&app, &token, fine["id"].as_i64().unwrap(), "done", 20).await;

    let response = app
        .post_json(&format!("/v1/jobs/{id}/retry"), Some(&token), &Value::Null)
        .await;
    assert_eq!(response.status(), 202);
    let retried: Value = response.json().await.unwrap();
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    let dead_again = wait_for_status(&app, &token, id, "dead", 20).await;
    assert_eq!(dead_again["attempts"], 2, "the retry got its own attempts");
    let response = app
        .post_json(
            &format!("/v1/jobs/{fine_id}/retry", fine_id = fine["id"]),
            Some(&token),
            &Value::Null,
        )
        .await;
    assert_eq!(response.status(), 422, "a done job is not retried");
}

async fn jobs_are_private_cancellable_while_queued_and_capped_per_user(backend: Backend) {
    let app = spawn_app_configured(backend, TestSettings::default(), |config| {
        config.job_chunk_size = 1;
        // Long enough that the first job is still running when the test is done with it.
        config.job_step_pause_ms = 600_000;
        config.job_queue_per_user = 2;
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let urls: Vec<String> = (0..3).map(|index| format!("http://127.0.0.1:9/feed/{index}")).collect();
    let running = import(&app, &alice, document(&urls, None)).await;
    let running_id = running["id"].as_i64().unwrap();
    eventually(20, "the first step is committed", || async {
        crate::job_client::job(&app, &alice, running_id).await["done"] == 1
    })
    .await;
    let queued = import(&app, &alice, document(&urls, None)).await;
    let queued_id = queued["id"].as_i64().unwrap();
    let refused = post_opml(&app, &alice, document(&urls, None)).await;
    assert_eq!(refused.status(), 429, "a third job is over the cap of two");
    assert!(refused.headers().contains_key("retry-after"));

    assert_eq!(
        app.get(&format!("/v1/jobs/{running_id}"), Some(&bob)).await.status(),
        404
    );
    assert_eq!(app.delete(&format!("/v1/jobs/{running_id}"), &bob).await.status(), 404);
    let listed: Value = app.get("/v1/jobs?limit=1", Some(&alice)).await.json().await.unwrap();
    assert_eq!(listed["jobs"][0]["id"], queued_id, "newest first");
    let cursor = listed["next_cursor"].as_str().expect("a second page").to_owned();
    let rest: Value = app
        .get(&format!("/v1/jobs?limit=1&cursor={cursor}"), Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["jobs"][0]["id"], running_id);
    let none: Value = app.get("/v1/jobs", Some(&bob)).await.json().await.unwrap();
    assert_eq!(none["jobs"], Value::Array(Vec::new()));

    let cancelled: Value = app
        .delete(&format!("/v1/jobs/{queued_id}"), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    let cancelled: Value = app
        .delete(&format!("/v1/jobs/{running_id}"), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["done"].as_i64()),
        (Some("cancelled"), Some(1))
    );
    assert_eq!(
        app.delete(&format!("/v1/jobs/{running_id}"), &alice).await.status(),
        422,
        "already over"
    );
    // What the cancelled job's committed step did stays; nothing more happens.
    assert_eq!(all_feeds(&app, &alice).await.len(), 1);
    assert_eq!(items(&app, &alice, running_id).await.len(), 1);
    // With both cancelled, the queue has room again.
    let again = post_opml(&app, &alice, document(&urls, None)).await;
    assert_eq!(again.status(), 202);
}

async fn refresh_all_polls_each_feed_once_per_gap_as_a_job(backend: Backend) {
    let app = spawn_app_configured(backend, TestSettings::default(), |_| {}).await;
    let server = feed_server().await;
    let token = app.user("alice").await;
    let urls: Vec<String> = (0..3)
        .map(|index| server.url(&format!("/refresh/{index}.xml")))
        .collect();
    for index in 0..3 {
        let body = syndic_testkit::documents::numbered::rss(index, 0, 1);
        server.set(&format!("/refresh/{index}.xml"), body, "application/rss+xml");
    }
    app.subscribe(&token, &urls).await;
    eventually(20, "every feed had its first poll", || async {
        (0..3).all(|index| server.requests(&format!("/refresh/{index}.xml")) >= 1)
    })
    .await;

    let response = app.post_json("/v1/feeds/refresh", Some(&token), &Value::Null).await;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    assert_eq!(
        (job["kind"].as_str(), job["total"].as_i64()),
        (Some("refresh_feeds"), Some(3))
    );
    let done = wait_for_status(&app, &token, job["id"].as_i64().unwrap(), "done", 20).await;
    assert_eq!(done["result"]["counts"]["refreshing"], 3);
    eventually(20, "every feed was polled again", || async {
        (0..3).all(|index| server.requests(&format!("/refresh/{index}.xml")) >= 2)
    })
    .await;

    // Within the minute, the manual refresh rule leaves every feed alone.
    let job: Value = app
        .post_json("/v1/feeds/refresh", Some(&token), &Value::Null)
        .await
        .json()
        .await
        .unwrap();
    let done = wait_for_status(&app, &token, job["id"].as_i64().unwrap(), "done", 20).await;
    assert_eq!(done["result"]["counts"]["too_soon"], 3);
}

crate::on_both_backends!(
    a_job_that_always_fails_ends_dead_and_can_be_retried,
    jobs_are_private_cancellable_while_queued_and_capped_per_user,
    refresh_all_polls_each_feed_once_per_gap_as_a_job,
    a_kill_9_mid_import_resumes_and_subscribes_every_feed_once,
    a_job_out_of_attempts_at_a_kill_9_ends_dead_on_its_owners_stream,
);

const CRASH_FEEDS: usize = 300;

/// The settings both runs of the binary share: small steps with a pause, so the kill lands mid-import.
fn crash_settings(database: &TestDatabase) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database.url.clone()),
        ("SYNDIC_ALLOW_PRIVATE_NETWORKS", "true".into()),
        ("SYNDIC_STARTUP_SPREAD_SECS", "0".into()),
        ("SYNDIC_JWT_SECRET", "fixed".into()),
        ("SYNDIC_JOB_CHUNK_SIZE", "10".into()),
        ("SYNDIC_JOB_STEP_PAUSE_MS", "100".into()),
        ("RUST_LOG", "info".into()),
    ]
}

/// Posts an import of `CRASH_FEEDS` unreachable feeds and kills the engine once 50 are done; returns the job's id.
async fn import_then_kill(client: &reqwest::Client, syndic: &mut Syndic, token: &str) -> i64 {
    let urls: Vec<String> = (0..CRASH_FEEDS)
        .map(|index| format!("http://127.0.0.1:9/crash/{index}"))
        .collect();
    let job: Value = client
        .post(syndic.url("/v1/opml"))
        .bearer_auth(token)
        .header("content-type", "text/x-opml")
        .body(document(&urls, Some("Crash")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_i64().expect("a job");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = job_of(client, syndic, token, id).await;
        let done = job["done"].as_i64().unwrap();
        if done >= 50 {
            syndic.kill_hard();
            assert!(done < CRASH_FEEDS as i64, "the kill landed mid-import ({done} done)");
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "the import never got going: {job}\n{}",
            syndic.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn job_of(client: &reqwest::Client, syndic: &Syndic, token: &str, id: i64) -> Value {
    client
        .get(syndic.url(&format!("/v1/jobs/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_kill_9_mid_import_resumes_and_subscribes_every_feed_once(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let client = reqwest::Client::new();
    let mut syndic = Syndic::spawn(free_port(), &crash_settings(&database));
    syndic.wait_until_healthy().await;
    let token = register_and_login(&client, &syndic, "alice").await;
    let id = import_then_kill(&client, &mut syndic, &token).await;
    drop(syndic);

    let mut syndic = Syndic::spawn(free_port(), &crash_settings(&database));
    syndic.wait_until_healthy().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let job = job_of(&client, &syndic, &token, id).await;
        if job["status"] == "done" {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "the import never finished: {job}\n{}",
            syndic.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(finished["done"], CRASH_FEEDS);
    assert_eq!(finished["attempts"], 2, "the interrupted attempt is counted");
    assert_eq!(
        finished["result"]["counts"]["pending"], CRASH_FEEDS,
        "one result per feed: {finished}"
    );

    let mut seen = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page: Value = client
            .get(syndic.url(&format!("/v1/feeds?limit=500{cursor}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for feed in page["feeds"].as_array().unwrap() {
            assert_eq!(feed["category"], "Crash");
            assert!(
                seen.insert(feed["url"].as_str().unwrap().to_owned()),
                "subscribed twice: {feed}"
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), CRASH_FEEDS, "every feed is subscribed once");
}

/// A job whose only attempt a `kill -9` interrupts is dead at the next start, and its owner's event stream says
/// so: the replay after the restart holds its `job.done` with status `dead`.
async fn a_job_out_of_attempts_at_a_kill_9_ends_dead_on_its_owners_stream(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let client = reqwest::Client::new();
    let mut settings = crash_settings(&database);
    settings.push(("SYNDIC_JOB_MAX_ATTEMPTS", "1".into()));
    let mut syndic = Syndic::spawn(free_port(), &settings);
    syndic.wait_until_healthy().await;
    let token = register_and_login(&client, &syndic, "alice").await;
    let id = import_then_kill(&client, &mut syndic, &token).await;
    drop(syndic);

    let mut syndic = Syndic::spawn(free_port(), &settings);
    syndic.wait_until_healthy().await;
    let dead = job_of(&client, &syndic, &token, id).await;
    assert_eq!(
        (&dead["status"], &dead["attempts"]),
        (&Value::from("dead"), &Value::from(1)),
        "{dead}"
    );
    let response = client
        .get(syndic.url("/v1/events?last_event_id=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut stream = SseReader::new(response);
    // The import's progress and its feeds' statuses come first.
    loop {
        let message = stream.expect().await;
        if message.event == "job.done" {
            assert_eq!(message.data["job_id"], id);
            assert_eq!(message.data["status"], "dead");
            break;
        }
    }
}
