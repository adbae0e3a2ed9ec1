//! Account security over HTTP: changing the password, API keys, deleting an account, and login and registration
//! answers that do not tell whether an account exists, by their body or their time.

use serde_json::{json, Value};
use syndic_testkit::api_client::PASSWORD;
use syndic_testkit::documents::titled::rss;

use crate::helpers::{eventually, feed_server, spawn_app, spawn_app_configured, Backend, TestApp, TestSettings};

async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/login",
        None,
        &json!({"identifier": name, "password": password}),
    )
    .await
}

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("every error has a JSON body");
    (status, body["error"].clone())
}

async fn change_password(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url("/v1/me/password"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete_account(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.client
        .delete(app.url("/v1/me"))
        .bearer_auth(token)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
}

async fn changing_the_password_revokes_every_other_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = app.user("alice").await;
    let laptop = app.login("alice").await;

    let wrong_old = json!({"old_password": "not the password", "new_password": "a new long one"});
    let (status, error) = error_of(change_password(&app, &laptop, wrong_old).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("old_password")));
    let short_new = json!({"old_password": PASSWORD, "new_password": "short"});
    let (status, error) = error_of(change_password(&app, &laptop, short_new).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("new_password")));
    assert_eq!(
        app.get("/v1/me", Some(&phone)).await.status(),
        200,
        "nothing changed yet"
    );

    let good = json!({"old_password": PASSWORD, "new_password": "a new long one"});
    assert_eq!(change_password(&app, &laptop, good).await.status(), 204);
    assert_eq!(
        app.get("/v1/me", Some(&phone)).await.status(),
        401,
        "the other session is revoked"
    );
    assert_eq!(
        app.get("/v1/me", Some(&laptop)).await.status(),
        200,
        "the one that asked stays"
    );
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.status(), 401);
    assert_eq!(sign_in(&app, "alice", "a new long one").await.status(), 200);
}

async fn an_api_key_works_everywhere_until_it_is_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let created = app
        .post_json("/v1/api-keys", Some(&token), &json!({"name": "my reader"}))
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("syk_"), "{key}");
    assert_eq!(created["name"], "my reader");

    let me = app.get("/v1/me", Some(&key)).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "alice");
    assert_eq!(app.get("/v1/feeds", Some(&key)).await.status(), 200);
    let stream = app.get(&format!("/v1/events?access_token={key}"), None).await;
    assert_eq!(stream.status(), 200, "the event stream's query token takes a key too");
    drop(stream);

    let listed: Value = app.get("/v1/api-keys", Some(&token)).await.json().await.unwrap();
    let keys = listed["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "my reader");
    assert!(keys[0].get("key").is_none(), "the secret is shown once: {listed}");
    assert!(!listed.to_string().contains(&key[4..]));

    // A key has no session to log out of.
    let (status, _) = error_of(app.post_json("/v1/auth/logout", Some(&key), &json!({})).await).await;
    assert_eq!(status, 403);
    for (name, expected) in [
        (json!(""), 422),
        (json!("   "), 422),
        (json!("x".repeat(101)), 422),
        (json!(7), 400),
    ] {
        let response = app
            .post_json("/v1/api-keys", Some(&token), &json!({ "name": name }))
            .await;
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["field"].as_str()), (expected, Some("name")), "{name}");
    }

    let bob = app.user("bob").await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/api-keys/{id}"), &bob).await.status(),
        404,
        "not bob's"
    );
    assert_eq!(app.delete(&format!("/v1/api-keys/{id}"), &token).await.status(), 204);
    assert_eq!(
        app.get("/v1/me", Some(&key)).await.status(),
        401,
        "a deleted key is refused"
    );
    let forged = format!("syk_{}", "A".repeat(43));
    assert_eq!(app.get("/v1/me", Some(&forged)).await.status(), 401);
}

async fn an_api_key_listing_shows_when_each_key_was_last_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let mut keys = Vec::new();
    for name in ["used", "idle"] {
        let created = app
            .post_json("/v1/api-keys", Some(&token), &json!({ "name": name }))
            .await;
        let created: Value = created.json().await.unwrap();
        keys.push(created["key"].as_str().unwrap().to_owned());
    }
    let last_uses = || async {
        let listed: Value = app.get("/v1/api-keys", Some(&token)).await.json().await.unwrap();
        let by_name = |name: &str| {
            listed["api_keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|key| key["name"] == name)
                .expect("listed")["last_used_at"]
                .clone()
        };
        (by_name("used"), by_name("idle"))
    };
    assert_eq!(last_uses().await, (Value::Null, Value::Null), "never used yet");

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert_eq!(app.get("/v1/me", Some(&keys[0])).await.status(), 200);
    let (used, idle) = last_uses().await;
    let used: chrono::DateTime<chrono::Utc> = used.as_str().expect("a time").parse().unwrap();
    assert!(used >= before && used <= chrono::Utc::now(), "{used}");
    assert_eq!(idle, Value::Null, "the other key was not used");
    // Within the minute, more uses do not write again.
    assert_eq!(app.get("/v1/feeds", Some(&keys[0])).await.status(), 200);
    let (again, _) = last_uses().await;
    assert_eq!(
        again
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        used
    );
}

async fn deleting_the_account_leaves_no_row_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/own.xml", rss("own", 0, 2), "application/rss+xml");
    server.set("/shared.xml", rss("shared", 0, 2), "application/rss+xml");
    let token = app.user("alice").await;
    let bob = app.user("bob").await;
    let own = app.subscribe(&token, &[server.url("/own.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    let shared = app.subscribe(&token, &[server.url("/shared.xml")]).await[0]["feed_id"]
        .as_i64()
        .unwrap();
    app.subscribe(&bob, &[server.url("/shared.xml")]).await;
    let articles = app.wait_for_timeline(&token, 4).await;
    let read = app
        .patch_json(
            &format!("/v1/articles/{}", articles[0]["id"]),
            &token,
            &json!({"read": true, "starred": true}),
        )
        .await;
    assert_eq!(read.status(), 200);
    let hook = app
        .post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["article.new"]}),
        )
        .await;
    assert_eq!(hook.status(), 201);
    let timer = app
        .post_json(
            "/v1/timers",
            Some(&token),
            &json!({"in": {"seconds": 3600}, "target": {"url": "http://127.0.0.1:9/timer"}}),
        )
        .await;
    assert_eq!(timer.status(), 201);
    let key = app
        .post_json("/v1/api-keys", Some(&token), &json!({"name": "script"}))
        .await;
    assert_eq!(key.status(), 201);
    // Friends with bob, a request sent to carol and one received from dave.
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    for (from, to) in [(&token, "bob"), (&bob, "alice"), (&token, "carol"), (&dave, "alice")] {
        let asked = app
            .post_json("/v1/friends/requests", Some(from), &json!({"username": to}))
            .await;
        assert_eq!(asked.status(), 201);
    }
    // A share each way with bob: alice's own share, and bob's notification to her.
    for (from, url) in [
        (&token, "https://example.com/from-alice"),
        (&bob, "https://example.com/from-bob"),
    ] {
        let shared = app.post_json("/v1/shares", Some(from), &json!({ "url": url })).await;
        assert_eq!(shared.status(), 201);
    }
    let export = app.post_json("/v1/feeds/refresh", Some(&token), &Value::Null).await;
    assert!(export.status().is_success(), "a job: {}", export.status());
    let user: Value = app.get("/v1/me", Some(&token)).await.json().await.unwrap();
    let user = user["id"].as_str().unwrap().to_owned();
    let before = app.database.rows_of_user(&user).await;
    let owned: Vec<&str> = before
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(table, _)| table.as_str())
        .collect();
    for table in [
        "subscriptions",
        "sessions",
        "webhooks",
        "timers",
        "api_keys",
        "jobs",
        "article_marks",
        "friendships",
        "friend_requests",
        "shares",
        "notifications",
    ] {
        assert!(
            owned.contains(&table),
            "the test gives alice rows in {table}: {before:?}"
        );
    }

    let (status, error) = error_of(delete_account(&app, &token, "not the password").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("password")));
    assert_eq!(app.get("/v1/me", Some(&token)).await.status(), 200, "nothing deleted");

    assert_eq!(delete_account(&app, &token, PASSWORD).await.status(), 204);
    let after = app.database.rows_of_user(&user).await;
    assert!(after.iter().all(|(_, count)| *count == 0), "{after:?}");
    assert_eq!(app.get("/v1/me", Some(&token)).await.status(), 401);
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.status(), 401);
    // The feed nobody follows any more stops its actor; the one bob follows keeps it.
    eventually(10, "the unfollowed feed's actor stops", || async {
        app.engine().feed_actor(own).await.unwrap().is_none()
    })
    .await;
    assert!(app.engine().feed_actor(shared).await.unwrap().is_some());
    assert_eq!(app.get("/v1/me", Some(&bob)).await.status(), 200);
    // The other sides of alice's friendship and requests went with her.
    for (other, listing) in [
        (&bob, "/v1/friends"),
        (&carol, "/v1/friends/requests?direction=received"),
        (&dave, "/v1/friends/requests?direction=sent"),
    ] {
        let listed: Value = app.get(listing, Some(other)).await.json().await.unwrap();
        let key = if listing == "/v1/friends" {
            "friends"
        } else {
            "requests"
        };
        assert_eq!(listed[key], json!([]), "{listing}");
    }
    // Her share went with her, and bob's notification of it; bob's share to her stays, with no recipient left.
    let notified: Value = app.get("/v1/notifications", Some(&bob)).await.json().await.unwrap();
    assert_eq!(notified["notifications"], json!([]));
    let sent: Value = app.get("/v1/shares/sent", Some(&bob)).await.json().await.unwrap();
    assert_eq!(
        (&sent["shares"][0]["recipients"], &sent["shares"][0]["not_seen_count"]),
        (&json!(0), &json!(0))
    );
}

/// The Mann-Whitney U statistic's z-score for two samples (ties get the mean rank): how many standard deviations
/// apart their ranks lie.
fn rank_test_z(first: &[f64], second: &[f64]) -> f64 {
    let mut all: Vec<(f64, usize)> = first
        .iter()
        .map(|value| (*value, 0))
        .chain(second.iter().map(|value| (*value, 1)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; all.len()];
    let mut start = 0;
    while start < all.len() {
        let mut end = start;
        while end + 1 < all.len() && all[end + 1].0 == all[start].0 {
            end += 1;
        }
        let mean = (start + end) as f64 / 2.0 + 1.0;
        ranks[start..=end].iter_mut().for_each(|rank| *rank = mean);
        start = end + 1;
    }
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    let rank_sum: f64 = all
        .iter()
        .zip(&ranks)
        .filter(|((_, group), _)| *group == 0)
        .map(|(_, rank)| rank)
        .sum();
    let u = rank_sum - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let deviation = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    (u - mean) / deviation
}

#[test]
fn the_rank_test_sees_a_shift_and_not_noise() {
    let low: Vec<f64> = (0..30).map(f64::from).collect();
    let high: Vec<f64> = (0..30).map(|n| f64::from(n) + 40.0).collect();
    assert!(rank_test_z(&low, &high) < -6.0);
    let even: Vec<f64> = (0..30).map(|n| f64::from(n * 2)).collect();
    let odd: Vec<f64> = (0..30).map(|n| f64::from(n * 2 + 1)).collect();
    assert!(rank_test_z(&even, &odd).abs() < 0.5);
}

/// A wrong password for an account that exists and any password for one that does not take the same time:
/// both run one argon2 verification. On a loaded machine, timings drift; the attempts interleave, so the drift
/// falls on both samples alike, and the rank test compares orders, not means, so a few long stalls weigh no
/// more than any other slow answer. |z| > 4.4 (p < 1e-5) would be a real difference: a skipped hash is
/// ~50 ms against a ~1 ms lookup, which puts z beyond 6.
async fn login_takes_as_long_whether_the_account_exists_or_not(backend: Backend) {
    const ATTEMPTS: usize = 30;
    let app = spawn_app_configured(backend, TestSettings::default(), |config| {
        // Each attempt comes from its own address, so the throttle never slows one of them down.
        config.trust_forwarded_for = true;
    })
    .await;
    // Each known account is tried once: the throttle counts failures per account too.
    for n in 0..=ATTEMPTS {
        app.user(&format!("known{n}")).await;
    }
    let attempt = |identifier: String, n: usize| {
        let request = app
            .client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", format!("10.{}.{}.1", n / 200, n % 200))
            .json(&json!({"identifier": identifier, "password": "wrong password"}));
        async move {
            let started = std::time::Instant::now();
            let response = request.send().await.unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (elapsed, status, body)
        }
    };
    // One of each first, unmeasured: the first hash of a thread and the first query of a connection are slow.
    let (_, _, known_body) = attempt(format!("known{ATTEMPTS}"), 1000).await;
    let (_, _, unknown_body) = attempt("nobody".to_owned(), 1001).await;
    assert_eq!(known_body, unknown_body, "the same answer, word for word");
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Which of the two goes first is drawn at random: other tests load the machine meanwhile (this one's twin on
    // the other backend runs the same sequence at the same pace), and with a fixed order their load can line up
    // with one of the samples. z of ±5 came out of the same code either way round with a fixed order.
    for n in 0..ATTEMPTS {
        let known_first = rand::random::<bool>();
        for known_turn in [known_first, !known_first] {
            if known_turn {
                let (elapsed, status, _) = attempt(format!("known{n}"), 2 * n).await;
                assert_eq!(status, 401);
                known.push(elapsed);
            } else {
                let (elapsed, status, _) = attempt(format!("nobody{n}"), 2 * n + 1).await;
                assert_eq!(status, 401);
                unknown.push(elapsed);
            }
        }
    }
    let z = rank_test_z(&known, &unknown);
    assert!(z.abs() < 4.4, "z = {z:.2}: known {known:?}, unknown {unknown:?}");
}

/// One registration to time: the username, the email, the invite if any, and the status expected.
type Registration = (String, String, Option<&'static str>, u16);

/// Registers `username` with `email` (and `invite`, if any) from its own address (so that no limit slows one
/// attempt down), and times the answer.
async fn timed_registration(app: &TestApp, (username, email, invite, _): Registration, n: usize) -> (f64, u16) {
    let mut body = json!({"username": username, "email": email, "password": "correct horse battery"});
    if let Some(invite) = invite {
        body["invite"] = json!(invite);
    }
    let request = app
        .client
        .post(app.url("/v1/auth/register"))
        .header("x-forwarded-for", format!("10.{}.{}.2", n / 200, n % 200))
        .json(&body);
    let started = std::time::Instant::now();
    let response = request.send().await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    (elapsed, response.status().as_u16())
}

/// Times `ATTEMPTS` pairs of registrations, each pair in a random order (as the login test above does, and for
/// its reasons), checking each answer's status; returns the rank test's z of the first kind against the second.
async fn registration_z(
    app: &TestApp,
    first: impl Fn(usize) -> Registration,
    second: impl Fn(usize) -> Registration,
    offset: usize,
) -> f64 {
    const ATTEMPTS: usize = 30;
    let (mut first_times, mut second_times) = (Vec::new(), Vec::new());
    for n in 0..ATTEMPTS {
        let first_first = rand::random::<bool>();
        for first_turn in [first_first, !first_first] {
            let (registration, times) = if first_turn {
                (first(n), &mut first_times)
            } else {
                (second(n), &mut second_times)
            };
            let (username, expected) = (registration.0.clone(), registration.3);
            let (elapsed, status) = timed_registration(app, registration, offset + 2 * n).await;
            assert_eq!(status, expected, "{username}");
            times.push(elapsed);
        }
    }
    let z = rank_test_z(&first_times, &second_times);
    assert!(
        z.abs() < 4.4,
        "z = {z:.2}: first {first_times:?}, second {second_times:?}"
    );
    z
}

/// Registration tells nothing about who has an account, by its time either: an email another account gave
/// registers as fast as a fresh one (both are plain inserts), and a taken username's 409 costs the hash a
/// success costs, since the password is hashed before the insert finds the name taken. The 409 is timed against
/// a registration refused after the same work (its invite is unknown, found after the insert), not against a
/// success: a success also waits for its commit to reach the disk, which no refusal does, and where syncing is
/// slow that wait alone set the two apart. Same method and bound as
/// `login_takes_as_long_whether_the_account_exists_or_not`.
async fn registration_takes_as_long_whatever_is_already_taken(backend: Backend) {
    let app = spawn_app_configured(backend, TestSettings::default(), |config| {
        config.trust_forwarded_for = true;
    })
    .await;
    for n in 0..30 {
        app.user(&format!("taken{n}")).await;
    }
    // One of each first, unmeasured: the first hash of a thread and the first query of a connection are slow.
    let warm_up = [
        ("warm1".to_owned(), "taken0@example.com".to_owned(), None, 201),
        ("warm2".to_owned(), "warm2@example.com".to_owned(), None, 201),
        ("taken0".to_owned(), "warm3@example.com".to_owned(), None, 409),
        (
            "warm4".to_owned(),
            "warm4@example.com".to_owned(),
            Some("no such invite"),
            422,
        ),
    ];
    for (n, registration) in warm_up.into_iter().enumerate() {
        let expected = registration.3;
        assert_eq!(timed_registration(&app, registration, 1000 + n).await.1, expected);
    }
    registration_z(
        &app,
        |n| (format!("again{n}"), format!("taken{n}@example.com"), None, 201),
        |n| (format!("fresh{n}"), format!("fresh{n}@example.com"), None, 201),
        0,
    )
    .await;
    registration_z(
        &app,
        |n| (format!("TAKEN{n}"), format!("other{n}@example.com"), None, 409),
        |n| {
            (
                format!("new{n}"),
                format!("new{n}@example.com"),
                Some("no such invite"),
                422,
            )
        },
        100,
    )
    .await;
}

crate::on_both_backends!(
    changing_the_password_revokes_every_other_session,
    an_api_key_works_everywhere_until_it_is_deleted,
    an_api_key_listing_shows_when_each_key_was_last_used,
    deleting_the_account_leaves_no_row_behind,
    login_takes_as_long_whether_the_account_exists_or_not,
    registration_takes_as_long_whatever_is_already_taken,
);
