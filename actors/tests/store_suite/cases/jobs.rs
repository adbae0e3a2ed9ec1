//! Jobs: claiming in order with per-user exclusion, steps that commit once, failed attempts, dead jobs and
//! retries, requeueing after a crash, cancelling.

use chrono::Duration;
use syndic_actors::domain::UserId;
use syndic_actors::job::{Job, JobItem, JobKind, JobStatus, NewJob};
use syndic_actors::store::StoreError;

use crate::support::{now, outbox, subscribe, user, webhook, SharedStore};

async fn create(store: &SharedStore, user: UserId, total: i64) -> Job {
    store
        .create_job(&NewJob {
            user_id: user,
            kind: JobKind::OpmlImport,
            input: r#"{"feeds":[]}"#.to_owned(),
            total,
        })
        .await
        .expect("create a job")
}

async fn claim(store: &SharedStore, busy: &[UserId]) -> Option<Job> {
    store
        .claim_job(now() + Duration::seconds(1), busy)
        .await
        .expect("claim")
}

fn item(position: i64, data: &str) -> JobItem {
    JobItem {
        position,
        data: data.to_owned(),
    }
}

pub async fn jobs_are_claimed_oldest_first_once_each_skipping_busy_users(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = create(&store, alice.id, 3).await;
    assert_eq!(
        (first.status, first.attempts, first.done, first.total),
        (JobStatus::Pending, 0, 0, 3)
    );
    let second = create(&store, alice.id, 1).await;
    let bobs = create(&store, bob.id, 1).await;

    let claimed = claim(&store, &[]).await.expect("a job is due");
    assert_eq!(
        (claimed.id, claimed.status, claimed.attempts),
        (first.id, JobStatus::Running, 1)
    );
    assert!(claimed.started_at.is_some());
    let claimed = claim(&store, &[alice.id]).await.expect("bob's job is due");
    assert_eq!(claimed.id, bobs.id, "alice is busy, so her second job waits");
    assert_eq!(claim(&store, &[alice.id, bob.id]).await, None);
    assert_eq!(claim(&store, &[]).await.map(|job| job.id), Some(second.id));
    assert_eq!(claim(&store, &[]).await, None, "a job is claimed once");
    assert_eq!(store.count_queued_jobs(alice.id).await.expect("count"), 2);
}

pub async fn a_step_commits_its_items_and_progress_once(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let job = create(&store, alice.id, 3).await;
    claim(&store, &[]).await.expect("claimed");
    let step = [item(0, r#"{"status":"ready"}"#), item(1, r#"{"status":"pending"}"#)];
    assert!(store.record_job_step(job.id, 2, &step).await.expect("step"));
    // The same step again, as a resumed job would run it: nothing is duplicated or overwritten.
    let again = [item(1, r#"{"status":"changed"}"#), item(2, r#"{"status":"invalid"}"#)];
    assert!(store.record_job_step(job.id, 3, &again).await.expect("step"));
    let items = store.job_items(job.id, None, 10).await.expect("items");
    assert_eq!(
        items,
        [
            item(0, r#"{"status":"ready"}"#),
            item(1, r#"{"status":"pending"}"#),
            item(2, r#"{"status":"invalid"}"#)
        ]
    );
    assert_eq!(
        store.job_items(job.id, Some(0), 1).await.expect("page"),
        [item(1, r#"{"status":"pending"}"#)]
    );
    assert_eq!(store.get_job(alice.id, job.id).await.expect("job").done, 3);

    let summary = serde_json::json!({ "counts": { "ready": 1 } });
    assert!(store
        .finish_job(job.id, &summary, Some("<opml/>"))
        .await
        .expect("finish"));
    let done = store.get_job(alice.id, job.id).await.expect("job");
    assert_eq!(
        (done.status, done.result, done.has_output),
        (JobStatus::Done, Some(summary), true)
    );
    assert!(done.finished_at.is_some());
    assert_eq!(
        store.job_output(alice.id, job.id).await.expect("output").as_deref(),
        Some("<opml/>")
    );
    assert!(
        !store.record_job_step(job.id, 4, &[]).await.expect("step"),
        "a done job takes no more steps"
    );
}

pub async fn a_failed_attempt_waits_for_its_retry_and_the_last_one_is_dead(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let job = create(&store, alice.id, 1).await;
    claim(&store, &[]).await.expect("claimed");
    let retry_at = now() + Duration::hours(1);
    assert!(store
        .fail_job_attempt(job.id, "boom", Some(retry_at))
        .await
        .expect("fail"));
    let failed = store.get_job(alice.id, job.id).await.expect("job");
    assert_eq!(
        (failed.status, failed.error.as_deref(), failed.next_attempt_at),
        (JobStatus::Failed, Some("boom"), retry_at)
    );
    assert_eq!(claim(&store, &[]).await, None, "not due yet");
    assert_eq!(store.next_job_due(&[]).await.expect("due"), Some(retry_at));
    assert_eq!(store.next_job_due(&[alice.id]).await.expect("due"), None);

    let again = store.claim_job(retry_at, &[]).await.expect("claim").expect("due now");
    assert_eq!(again.attempts, 2);
    assert!(store.fail_job_attempt(job.id, "boom again", None).await.expect("fail"));
    let dead = store.get_job(alice.id, job.id).await.expect("job");
    assert_eq!(
        (dead.status, dead.error.as_deref()),
        (JobStatus::Dead, Some("boom again"))
    );
    assert_eq!(store.count_queued_jobs(alice.id).await.expect("count"), 0);

    let retried = store.retry_job(alice.id, job.id).await.expect("retry");
    assert_eq!((retried.status, retried.attempts), (JobStatus::Pending, 0));
    assert!(matches!(
        store.retry_job(alice.id, job.id).await,
        Err(StoreError::Rejected { field: "status", .. })
    ));
    let bob = user(&store, "bob").await;
    assert!(matches!(
        store.retry_job(bob.id, job.id).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn running_jobs_go_back_in_line_after_a_restart_or_die_out_of_attempts(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let tired = create(&store, alice.id, 1).await;
    let fresh = create(&store, bob.id, 1).await;
    claim(&store, &[]).await.expect("claimed");
    store
        .fail_job_attempt(tired.id, "first", Some(now()))
        .await
        .expect("fail");
    claim(&store, &[]).await.expect("claimed");
    claim(&store, &[]).await.expect("claimed");
    let restarted_at = now();
    let requeued = store.requeue_running_jobs(restarted_at, 2).await.expect("requeue");
    let mut requeued: Vec<_> = requeued.iter().map(|job| (job.job, job.user, job.dead)).collect();
    requeued.sort();
    assert_eq!(requeued, [(tired.id, alice.id, true), (fresh.id, bob.id, false)]);
    let tired = store.get_job(alice.id, tired.id).await.expect("job");
    assert_eq!((tired.status, tired.attempts), (JobStatus::Dead, 2));
    assert!(tired.error.is_some());
    let fresh = store.get_job(bob.id, fresh.id).await.expect("job");
    assert_eq!(
        (fresh.status, fresh.attempts, fresh.next_attempt_at),
        (JobStatus::Failed, 1, restarted_at)
    );
    assert_eq!(
        claim(&store, &[]).await.map(|job| (job.id, job.attempts)),
        Some((fresh.id, 2))
    );
}

pub async fn a_cancelled_job_takes_no_more_steps_and_jobs_are_private(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let job = create(&store, alice.id, 2).await;
    claim(&store, &[]).await.expect("claimed");
    assert!(matches!(
        store.cancel_job(bob.id, job.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.get_job(bob.id, job.id).await, Err(StoreError::NotFound)));
    assert_eq!(
        store.cancel_job(alice.id, job.id).await.expect("cancel").status,
        JobStatus::Running
    );
    assert_eq!(
        store.get_job(alice.id, job.id).await.expect("job").status,
        JobStatus::Cancelled
    );
    assert!(!store.record_job_step(job.id, 1, &[item(0, "{}")]).await.expect("step"));
    assert!(store.job_items(job.id, None, 10).await.expect("items").is_empty());
    assert!(!store
        .finish_job(job.id, &serde_json::json!({}), None)
        .await
        .expect("finish"));
    assert!(!store.fail_job_attempt(job.id, "late", None).await.expect("fail"));
    assert!(matches!(
        store.cancel_job(alice.id, job.id).await,
        Err(StoreError::Rejected { field: "status", .. })
    ));
}

pub async fn jobs_list_newest_first_a_page_at_a_time(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(&store, alice.id, 0).await.id);
    }
    create(&store, bob.id, 0).await;
    let first: Vec<i64> = store
        .list_jobs(alice.id, 2, None)
        .await
        .expect("list")
        .iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(first, [ids[2], ids[1]]);
    let rest: Vec<i64> = store
        .list_jobs(alice.id, 2, Some(ids[1]))
        .await
        .expect("list")
        .iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(rest, [ids[0]]);
}

pub async fn job_changes_put_their_deliveries_in_the_outbox_in_the_same_transaction(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, "https://example.com/feed.xml").await;
    let jobs = webhook(&store, &alice, &["job.progress", "job.done"], None).await;
    let done_only = webhook(&store, &alice, &["job.done"], None).await;
    // A webhook filtered to a feed gets only that feed's events; a job is no feed's.
    let one_feed = webhook(&store, &alice, &["job.progress", "job.done"], Some(feed)).await;
    let bobs = webhook(&store, &bob, &["job.progress", "job.done"], None).await;

    let finished = create(&store, alice.id, 3).await;
    claim(&store, &[]).await.expect("claimed");
    assert!(store
        .record_job_step(finished.id, 2, &[item(0, "{}"), item(1, "{}")])
        .await
        .expect("step"));
    assert!(store
        .finish_job(finished.id, &serde_json::json!({}), None)
        .await
        .expect("finish"));
    assert!(
        !store.record_job_step(finished.id, 3, &[]).await.expect("step"),
        "it is over"
    );

    let dead = create(&store, alice.id, 1).await;
    claim(&store, &[]).await.expect("claimed");
    assert!(store
        .fail_job_attempt(dead.id, "boom", Some(now()))
        .await
        .expect("failed"));
    claim(&store, &[]).await.expect("claimed again");
    assert!(store.fail_job_attempt(dead.id, "boom", None).await.expect("dead"));

    let cancelled = create(&store, alice.id, 1).await;
    store.cancel_job(alice.id, cancelled.id).await.expect("cancel");

    let interrupted = create(&store, alice.id, 1).await;
    claim(&store, &[]).await.expect("claimed");
    assert_eq!(store.requeue_running_jobs(now(), 1).await.expect("requeue").len(), 1);

    let progress = |job: &Job, done: i64, total: i64| {
        (
            "job.progress".to_owned(),
            serde_json::json!({ "job_id": job.id, "done": done, "total": total }),
        )
    };
    let ended = |job: &Job, status: &str| {
        (
            "job.done".to_owned(),
            serde_json::json!({ "job_id": job.id, "status": status }),
        )
    };
    assert_eq!(
        outbox(&store, jobs).await,
        [
            progress(&finished, 2, 3),
            ended(&finished, "done"),
            ended(&dead, "dead"),
            ended(&cancelled, "cancelled"),
            ended(&interrupted, "dead"),
        ],
        "a failed attempt with a retry left is no end"
    );
    assert_eq!(outbox(&store, done_only).await.len(), 4);
    assert_eq!(outbox(&store, one_feed).await, []);
    assert_eq!(
        outbox(&store, bobs).await,
        [],
        "bob's webhooks never hear of alice's jobs"
    );
}
