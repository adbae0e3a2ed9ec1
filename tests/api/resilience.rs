//! Polling like a good citizen and failing safely, end to end: shared fetches, dead letters, 410, Retry-After,
//! manual refresh limits, operator routes, permanent redirects and supervision meltdowns.

use crate::helpers::{eventually, feed_server, spawn_app, spawn_app_with, Backend, TestApp, TestSettings};
use serde_json::{json, Value};
use syndic_testkit::documents::titled::rss;

/// A user made directly in the store, with a token: registering 50 users through argon2 would dominate the test.
async fn quick_user(app: &TestApp, name: &str) -> String {
    let user = app
        .database
        .store
        .create_user(&syndic_actors::domain::NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: "not a real hash".to_owned(),
            invite_hash: None,
        })
        .await
        .unwrap();
    let session = syndic_actors::session::NewSession {
        id: uuid::Uuid::new_v4(),
        user_id: user.id,
        refresh_hash: syndic_actors::session::secret_hash(&uuid::Uuid::new_v4().to_string()),
        now: chrono::Utc::now(),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        client: Default::default(),
    };
    app.database.store.create_session(&session, 5).await.unwrap();
    syndic_api::auth::issue_token(
        "test-secret",
        user.id,
        session.id,
        chrono::Utc::now().timestamp(),
        std::time::Duration::from_secs(600),
    )
    .unwrap()
}

async fn feed(app: &TestApp, token: &str, feed_id: i64) -> Value {
    app.get(&format!("/v1/feeds/{feed_id}"), Some(token))
        .await
        .json()
        .await
        .unwrap()
}

async fn poll_now(app: &TestApp, feed_id: i64) {
    let actor = app
        .engine()
        .feed_actor(feed_id)
        .await
        .unwrap()
        .expect("the feed has an actor");
    actor
        .send_message(syndic_actors::actors::feed::FeedMsg::PollNow)
        .unwrap();
}

async fn fifty_subscribers_share_one_fetch_per_poll(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/popular.xml", rss("popular", 0, 3), "application/rss+xml");
    let first = quick_user(&app, "first").await;
    let results = app.subscribe(&first, &[server.url("/popular.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&first, 3).await;
    let mut tokens = vec![first];
    for n in 0..49 {
        let token = quick_user(&app, &format!("reader{n}")).await;
        let results = app.subscribe(&token, &[server.url("/popular.xml")]).await;
        assert_eq!(results[0]["status"], "ready");
        tokens.push(token);
    }
    assert_eq!(server.requests("/popular.xml"), 1, "one fetch for 50 subscribers");

    server.set("/popular.xml", rss("popular", 0, 4), "application/rss+xml");
    poll_now(&app, feed_id).await;
    for token in &tokens {
        app.wait_for_timeline(token, 4).await;
    }
    assert_eq!(server.requests("/popular.xml"), 2, "one more poll, one more request");
}

async fn a_failing_feed_dies_after_n_errors_and_a_refresh_brings_it_back(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        TestSettings {
            poll_interval_secs: 1,
            startup_spread_secs: 0,
        },
    )
    .await;
    app.stop().await;
    app.config.dead_after_errors = 3;
    app.restart().await;
    let server = feed_server().await;
    server.set_status("/flaky.xml", 500, &[]);
    let token = quick_user(&app, "alice").await;
    let root = quick_user(&app, "root").await;
    app.make_admin("root").await;
    let feed_id = app.subscribe(&token, &[server.url("/flaky.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();

    eventually(20, "the feed to die", || async {
        feed(&app, &token, feed_id).await["status"] == "dead"
    })
    .await;
    let dead = feed(&app, &token, feed_id).await;
    assert_eq!(dead["error_count"], 3);
    assert!(dead["dead_since"].is_string());
    assert_eq!(dead["next_poll_at"], Value::Null);
    assert!(dead["last_error"].as_str().unwrap().contains("500"));
    let requests = server.requests("/flaky.xml");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(server.requests("/flaky.xml"), requests, "a dead feed is not polled");
    let dead_letters: Value = app
        .get("/v1/admin/feeds?status=dead", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dead_letters["feeds"][0]["id"], feed_id);

    server.set("/flaky.xml", rss("flaky", 0, 2), "application/rss+xml");
    let refreshed = app
        .post_json(&format!("/v1/feeds/{feed_id}/refresh"), Some(&token), &json!({}))
        .await;
    assert_eq!(refreshed.status(), 202);
    app.wait_for_timeline(&token, 2).await;
    eventually(5, "the feed to be ok again", || async {
        feed(&app, &token, feed_id).await["status"] == "ok"
    })
    .await;
    assert_eq!(feed(&app, &token, feed_id).await["dead_since"], Value::Null);

    let again = app
        .post_json(&format!("/v1/feeds/{feed_id}/refresh"), Some(&token), &json!({}))
        .await;
    assert_eq!(again.status(), 429);
    let retry_after: u64 = again.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

async fn gone_makes_a_feed_dead_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set_status("/gone.xml", 410, &[]);
    let token = quick_user(&app, "alice").await;
    let feed_id = app.subscribe(&token, &[server.url("/gone.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    eventually(10, "410 to kill the feed", || async {
        feed(&app, &token, feed_id).await["status"] == "dead"
    })
    .await;
    let dead = feed(&app, &token, feed_id).await;
    assert_eq!(dead["error_count"], 1);
    assert!(dead["last_error"].as_str().unwrap().contains("410"));
}

async fn retry_after_on_429_pushes_the_next_poll_back(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.min_poll_interval_secs = 60;
    app.config.max_poll_interval_secs = 86400;
    app.config.poll_interval_secs = 60;
    app.restart().await;
    let server = feed_server().await;
    server.set_status("/busy.xml", 429, &[("retry-after", "7200")]);
    let token = quick_user(&app, "alice").await;
    let feed_id = app.subscribe(&token, &[server.url("/busy.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    eventually(10, "the 429 to be recorded", || async {
        feed(&app, &token, feed_id).await["error_count"] == 1
    })
    .await;
    let next = feed(&app, &token, feed_id).await["next_poll_in_seconds"]
        .as_i64()
        .unwrap();
    assert!(
        (6400..=8000).contains(&next),
        "Retry-After 7200 ±10% jitter, got {next}"
    );
}

async fn admin_routes_are_for_operators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/stale.xml", rss("stale", 0, 1), "application/rss+xml");
    let alice = quick_user(&app, "alice").await;
    let root = quick_user(&app, "root").await;
    app.make_admin("root").await;
    let feed_id = app.subscribe(&alice, &[server.url("/stale.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    app.wait_for_timeline(&alice, 1).await;

    for path in ["/v1/admin/feeds", "/v1/admin/feeds/stale?older_than=1h"] {
        let response = app.get(path, Some(&alice)).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let forbidden = app
        .post_json("/v1/admin/feeds/refresh-stale?older_than=1h", Some(&alice), &json!({}))
        .await;
    assert_eq!(forbidden.status(), 403);

    // Polled a moment ago: not stale within an hour, stale within zero seconds.
    let within_hour: Value = app
        .get("/v1/admin/feeds/stale?older_than=1h", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert!(within_hour["feeds"].as_array().unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let stale: Value = app
        .get("/v1/admin/feeds/stale?older_than=0s", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stale["feeds"][0]["id"], feed_id);
    let refreshed = app
        .post_json("/v1/admin/feeds/refresh-stale?older_than=0s", Some(&root), &json!({}))
        .await;
    assert_eq!(refreshed.status(), 202);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(body["refreshed"], 1);
    eventually(5, "the stale feed to be polled", || async {
        server.requests("/stale.xml") == 2
    })
    .await;

    let bad = app.get("/v1/admin/feeds/stale?older_than=soon", Some(&root)).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["field"], "older_than");
    let all: Value = app
        .get("/v1/admin/feeds?status=ok", Some(&root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["feeds"].as_array().unwrap().len(), 1);
}

async fn a_permanent_redirect_moves_the_feed_and_a_temporary_one_does_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set_redirect("/old.xml", 301, "/new.xml");
    server.set("/new.xml", rss("moved", 0, 2), "application/rss+xml");
    server.set_redirect("/temporary.xml", 302, "/target.xml");
    server.set("/target.xml", rss("target", 0, 1), "application/rss+xml");
    let token = quick_user(&app, "alice").await;
    let results = app
        .subscribe(&token, &[server.url("/old.xml"), server.url("/temporary.xml")])
        .await;
    let moved = results[0]["feed_id"].as_i64().unwrap();
    let temporary = results[1]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&token, 3).await;
    eventually(5, "the feed's URL to follow the 301", || async {
        feed(&app, &token, moved).await["url"] == server.url("/new.xml")
    })
    .await;
    assert_eq!(feed(&app, &token, temporary).await["url"], server.url("/temporary.xml"));

    poll_now(&app, moved).await;
    eventually(5, "the next poll to go straight to the new URL", || async {
        server.requests("/new.xml") == 2
    })
    .await;
    assert_eq!(server.requests("/old.xml"), 1);
}

async fn a_permanent_redirect_to_a_known_feed_merges_the_subscribers(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/a.xml", rss("a", 0, 1), "application/rss+xml");
    server.set("/b.xml", rss("b", 0, 2), "application/rss+xml");
    let alice = quick_user(&app, "alice").await;
    let bob = quick_user(&app, "bob").await;
    let feed_a = app.subscribe(&alice, &[server.url("/a.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    let feed_b = app.subscribe(&bob, &[server.url("/b.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    app.wait_for_timeline(&alice, 1).await;
    app.wait_for_timeline(&bob, 2).await;

    server.set_redirect("/a.xml", 308, "/b.xml");
    poll_now(&app, feed_a).await;
    eventually(5, "alice to be moved to feed b", || async {
        let feeds: Value = app.get("/v1/feeds", Some(&alice)).await.json().await.unwrap();
        feeds["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|feed| feed["id"] == feed_b)
    })
    .await;
    let feeds: Value = app.get("/v1/feeds", Some(&alice)).await.json().await.unwrap();
    assert_eq!(
        feeds["feeds"].as_array().unwrap().len(),
        1,
        "feed a is gone from her list: {feeds}"
    );
    eventually(5, "feed a's actor to stop", || async {
        app.engine().feed_actor(feed_a).await.unwrap().is_none()
    })
    .await;
    assert!(app.engine().feed_actor(feed_b).await.unwrap().is_some());
}

async fn a_crashing_feed_melts_down_to_failed_and_the_engine_goes_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/panic.xml", rss("syndic-test-panic", 0, 1), "application/rss+xml");
    server.set("/fine.xml", rss("fine", 0, 2), "application/rss+xml");
    let token = quick_user(&app, "alice").await;
    let results = app
        .subscribe(&token, &[server.url("/panic.xml"), server.url("/fine.xml")])
        .await;
    let crashing = results[0]["feed_id"].as_i64().unwrap();
    app.wait_for_timeline(&token, 2).await;
    eventually(20, "the meltdown", || async {
        feed(&app, &token, crashing).await["status"] == "failed"
    })
    .await;
    let failed = feed(&app, &token, crashing).await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("deliberate test panic"),
        "{failed}"
    );
    assert_eq!(
        server.requests("/panic.xml"),
        4,
        "the first crash and three restarts, then no more"
    );
    assert!(app.engine().feed_actor(crashing).await.unwrap().is_none());
    assert_eq!(app.engine().running_feed_actors().await.unwrap(), 1);
    let health: Value = app.get("/healthcheck", None).await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    // A refresh gives it another chance (and it crashes again, without taking anything down).
    let refreshed = app
        .post_json(&format!("/v1/feeds/{crashing}/refresh"), Some(&token), &json!({}))
        .await;
    assert_eq!(refreshed.status(), 202);
    eventually(10, "the refresh to poll it", || async {
        server.requests("/panic.xml") >= 5
    })
    .await;
}

crate::on_both_backends!(
    fifty_subscribers_share_one_fetch_per_poll,
    a_failing_feed_dies_after_n_errors_and_a_refresh_brings_it_back,
    gone_makes_a_feed_dead_at_once,
    retry_after_on_429_pushes_the_next_poll_back,
    admin_routes_are_for_operators_only,
    a_permanent_redirect_moves_the_feed_and_a_temporary_one_does_not,
    a_permanent_redirect_to_a_known_feed_merges_the_subscribers,
    a_crashing_feed_melts_down_to_failed_and_the_engine_goes_on,
    a_refresh_is_answered_while_the_feeds_poll_hangs,
);

/// A host that accepts connections and never answers, until it is released: a poll of it hangs.
struct HangingHost {
    address: std::net::SocketAddr,
    held: std::sync::Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HangingHost {
    async fn start() -> HangingHost {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = tokio::spawn({
            let held = held.clone();
            let accepted = accepted.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    held.lock().unwrap().push(stream);
                    accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        HangingHost {
            address,
            held,
            accepted,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hangs.xml", self.address)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections still held open, unanswered.
    fn holding(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

impl Drop for HangingHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A manual refresh is answered at once, even while the feed's actor is in the middle of a poll that hangs: the
/// answer never queues behind the poll (which could hold it for the whole fetch timeout).
async fn a_refresh_is_answered_while_the_feeds_poll_hangs(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    // Far longer than the test: the poll hangs until the host lets it go.
    app.config.fetch_timeout_secs = 600;
    app.restart().await;
    let host = HangingHost::start().await;
    let token = quick_user(&app, "alice").await;
    let subscribed = app.subscribe(&token, &[host.url()]).await;
    let feed_id = subscribed[0]["feed_id"].as_i64().unwrap();
    eventually(10, "the first poll to reach the host", || async {
        host.accepted() == 1
    })
    .await;

    let refreshed = app
        .post_json(&format!("/v1/feeds/{feed_id}/refresh"), Some(&token), &json!({}))
        .await;
    assert_eq!(refreshed.status(), 202);
    assert_eq!(
        host.holding(),
        1,
        "the refresh was answered while the first poll still hung"
    );
    let again = app
        .post_json(&format!("/v1/feeds/{feed_id}/refresh"), Some(&token), &json!({}))
        .await;
    assert_eq!(again.status(), 429, "the gap holds while the poll hangs too");
    assert_eq!(host.holding(), 1);
    assert_eq!(
        host.accepted(),
        1,
        "the refresh waits for the poll in flight rather than starting another"
    );
}

/// A farm of feeds on one host never sees more requests in flight than the per-host cap, however many feeds
/// poll at once; all of them are still fetched.
#[tokio::test]
async fn a_farm_on_one_host_never_sees_more_requests_in_flight_than_the_cap() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.stop().await;
    app.config.per_host_concurrency = 3;
    app.config.per_host_interval_ms = 0;
    app.restart().await;
    let farm = crate::process::SlowFarm::start(60, 2, std::time::Duration::from_millis(40)).await;
    let token = quick_user(&app, "alice").await;
    app.subscribe(&token, &farm.urls()).await;
    app.wait_for_timeline(&token, 120).await;
    assert_eq!(farm.answered(), 60);
    assert!(
        farm.most_in_flight() <= 3,
        "the host saw {} requests at once",
        farm.most_in_flight()
    );
    assert!(
        farm.most_in_flight() >= 2,
        "the cap, not a lack of work, bounded the concurrency"
    );
}
