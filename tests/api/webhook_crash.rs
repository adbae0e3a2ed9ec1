//! The real binary killed with `kill -9` between two attempts of a webhook delivery: after a restart the
//! delivery is sent again and succeeds, exactly once.

use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{eventually, feed_server, Backend, TestDatabase};
use crate::process::{free_port, register_and_login, subscribe_all, Syndic};
use crate::webhook_receiver::Receiver;

fn settings(database: &TestDatabase) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database.url.clone()),
        ("SYNDIC_ALLOW_PRIVATE_NETWORKS", "true".into()),
        ("SYNDIC_STARTUP_SPREAD_SECS", "0".into()),
        ("SYNDIC_PER_HOST_INTERVAL_MS", "0".into()),
        ("SYNDIC_JWT_SECRET", "fixed".into()),
        // The retry comes 2.25–3.75 s after the failed attempt: time enough to kill the process first.
        ("SYNDIC_WEBHOOK_RETRY_BASE_MS", "3000".into()),
        ("RUST_LOG", "info".into()),
    ]
}

#[tokio::test]
async fn a_kill_9_between_attempts_loses_no_delivery() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let receiver = Receiver::start(&[500]).await;
    let server = feed_server().await;
    server.set("/news.xml", rss("news", 0, 1), "application/rss+xml");
    let client = reqwest::Client::new();

    let mut syndic = Syndic::spawn(free_port(), &settings(&database));
    syndic.wait_until_healthy().await;
    let token = register_and_login(&client, &syndic, "alice").await;
    let response = client
        .post(syndic.url("/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({ "url": receiver.url, "events": ["article.new"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let secret = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    subscribe_all(&client, &syndic, &token, &[server.url("/news.xml")]).await;
    eventually(20, "the first attempt reaches the receiver", || async {
        !receiver.received().is_empty()
    })
    .await;
    syndic.kill_hard();
    assert_eq!(
        receiver.received().len(),
        1,
        "killed before the retry; logs:\n{}",
        syndic.logs()
    );
    drop(syndic);

    let mut syndic = Syndic::spawn(free_port(), &settings(&database));
    syndic.wait_until_healthy().await;
    eventually(20, "the delivery succeeds after the restart", || async {
        receiver.accepted().len() == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "one failed attempt before the kill, one success after"
    );
    assert_eq!(
        received[0].delivery, received[1].delivery,
        "the same delivery, sent again"
    );
    assert!(received[1].signed_with(&secret));
}
